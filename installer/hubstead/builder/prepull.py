"""Pull a launch link's content while the user's server starts.

    pull = prepull.ContentPull.begin(record, "alice")   # None when it cannot run here
    ...start the server...
    if pull and pull.finish():
        url = content.landing_url(record, "alice", landing)   # straight to the notebook

A click that has to start a server waits ~2 s for it; nbgitpuller's page would then take
another ~0.7 s to load and pull. The pull is nbgitpuller's own (GitPuller, from the build's
environment, as the user's unix account, into the folder its page would use), so its merge
keeps the user's changes exactly as a click through the page does. When it cannot run
(the account has no home yet: the first spawn creates it) or fails, the caller sends the
user through nbgitpuller's page, which shows what went wrong and tries again.
"""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import tempfile
from pathlib import Path

from .. import paths
from ..envs import EnvError, store
from ..usernames import unix_name
from . import content

log = logging.getLogger(__name__)

PULL_TIMEOUT = 300  # seconds; a slow pull falls back to nbgitpuller's page, which shows progress

# Runs in the build's Python as the user: nbgitpuller's pull, printing what git says.
PULL_SCRIPT = """\
import sys
from nbgitpuller.pull import GitPuller
repo, branch, target = sys.argv[1:]
for line in GitPuller(repo, target, branch=branch or None).pull():
    print(line, end="" if line.endswith("\\n") else "\\n", flush=True)
"""


class ContentPull:
    """One pull running in the background; finish() waits and says whether it worked."""

    def __init__(self, process, output, description):
        self.process = process
        self.output = output
        self.description = description

    @classmethod
    def begin(cls, record, username):
        """Start the pull of record's repository into username's home, or answer None."""
        try:
            account = pwd.getpwnam(unix_name(username))
            prefix = store.build_prefix(record.env, record.build)
        except (KeyError, EnvError):
            return None
        home = Path(account.pw_dir)
        if os.geteuid() != 0 or not home.is_dir():
            return None
        target = home / content.content_folder(record.repo)
        command = [str(prefix / "bin" / "python"), "-c", PULL_SCRIPT, record.repo,
                   content.branch_to_follow(record.ref) or "", str(target)]
        output = tempfile.TemporaryFile("w+")
        try:
            process = subprocess.Popen(
                command, cwd=home, env=_environment(account, prefix), stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, text=True, user=account.pw_uid,
                group=account.pw_gid, extra_groups=os.getgrouplist(account.pw_name, account.pw_gid))
        except OSError as error:
            output.close()
            log.warning("cannot pull %s for %s: %s", record.repo, username, error)
            return None
        return cls(process, output, f"{record.repo} into {target}")

    def finish(self, timeout=PULL_TIMEOUT):
        """Wait for the pull; true if it succeeded. A failure is logged, not raised."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            log.warning("pulling %s took over %s s; nbgitpuller's page takes over", self.description,
                        timeout)
            return False
        finally:
            self.output.seek(0)
            said = self.output.read()[-2000:]
            self.output.close()
        if self.process.returncode != 0:
            log.warning("pulling %s failed (exit %s); nbgitpuller's page takes over:\n%s",
                        self.description, self.process.returncode, said)
            return False
        return True

    def abandon(self):
        """The server did not start: stop the pull and forget it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.output.close()


def _environment(account, prefix):
    """A login-like environment for the user, with the site's proxy and CA settings."""
    environment = {"HOME": account.pw_dir, "USER": account.pw_name, "LOGNAME": account.pw_name,
                   "LANG": "C.UTF-8", "PATH": f"{prefix / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
    return {**environment, **paths.network_environment("NBGITPULLER_DEPTH")}
