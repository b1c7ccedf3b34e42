"""What the ports of TLJH's integration tests (tests/e2e/test_tljh_*.py) share: running
`tljh-config` as TLJH's tests do (through sudo, so PATH is checked too), TLJH's
preserve_config fixture, and its permission walk, each run inside the hub's container."""

from __future__ import annotations

import contextlib
import json
import secrets
import time

CONFIG = "/etc/hubstead/config.yaml"


def tljh_config(hub, *args, timeout=600):
    """`sudo tljh-config ARGS` in the hub's container; the finished command (check it)."""
    return hub.container.run(["sudo", "tljh-config", *args], check=False, timeout=timeout)


def hub_reachable(hub, base="") -> bool:
    from .hub import http_status

    return http_status(f"{hub.url}{base}/hub/api") == 200


@contextlib.contextmanager
def preserved_config(hub):
    """TLJH's preserve_config: the config file as it was, and applied again, afterwards."""
    exists = hub.container.path_exists(CONFIG)
    saved = hub.container.read_file(CONFIG) if exists else None
    try:
        yield
    finally:
        now = hub.container.read_file(CONFIG) if hub.container.path_exists(CONFIG) else None
        if now != saved:
            if saved is None:
                hub.container.run(["rm", "-f", CONFIG])
            else:
                hub.container.write_file(CONFIG, saved, mode=0o644)
            # Quick when only the hub's settings changed, the whole apply otherwise.
            hub.container.run(["hubstead", "config", "reload", "hub"], timeout=600)


def new_name() -> str:
    """A fresh hub name as TLJH's tests make them (secrets.token_hex(8)), starting with a
    letter as Hubstead's usernames must."""
    return "u" + secrets.token_hex(8)


def remove_user(hub, name):
    hub.container.run(["hubstead", "user", "remove", name, "--purge", "--yes"], check=False)


def group_members(hub, group) -> list[str]:
    entry = hub.container.run(["getent", "group", group], check=False).stdout.strip()
    return entry.split(":")[3].split(",") if entry.count(":") == 3 and entry.split(":")[3] else []


def passwd_exists(hub, account) -> bool:
    return hub.container.run(["getent", "passwd", account], check=False).returncode == 0


def wait_for(what, condition, timeout, interval=1.0):
    """Poll `condition` until true (returns the seconds it took); TimeoutError naming `what`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} (after {timeout} s)")
        time.sleep(interval)
    return time.monotonic() - started


# TLJH's permissions_test, run inside the container: the walk as root, each access
# check as nobody with only GROUP (setpriv), as TLJH's setgroup() subprocess does.
_WALK = r"""
import json, os, sys
path, dirs_only = sys.argv[1], sys.argv[2] == "1"
found = []
for root, dirs, files in os.walk(path):
    for name in dirs + ([] if dirs_only else files):
        full = os.path.join(root, name)
        if not os.path.islink(full):
            st = os.lstat(full)
            found.append([full, "%04o %d %d" % (st.st_mode, st.st_uid, st.st_gid)])
json.dump(found, sys.stdout)
"""
_ACCESS = r"""
import json, os, sys
flag = {"r": os.R_OK, "w": os.W_OK}[sys.argv[1]]
paths = json.load(sys.stdin)
json.dump([os.access(p, flag) for p in paths], sys.stdout)
"""


def permissions_test(hub, group, path, *, readable=None, writable=None, dirs_only=False, leave_out=None):
    """TLJH's permissions_test: every entry under `path` must (not) be readable/writable
    by nobody:GROUP; assert with a summary of the failures. `leave_out`: a regular
    expression of paths a deliberate difference exempts (the caller says which and why)."""
    import re

    run = hub.container.run
    found = json.loads(run(["python3", "-c", _WALK, path, "1" if dirs_only else "0"], timeout=300).stdout)
    found = [entry for entry in found if not (leave_out and re.fullmatch(leave_out, entry[0]))]
    # verify that we actually tested some files (path typos)
    assert len(found) > 0, f"No files to test in {path!r}"
    failures = []
    for flag, wanted in (("w", writable), ("r", readable)):
        if wanted is None:
            continue
        answers = json.loads(run(["setpriv", "--reuid=nobody", f"--regid={group}", "--clear-groups",
                                  "python3", "-c", _ACCESS, flag],
                                 input=json.dumps([p for p, _ in found]), timeout=300).stdout)
        what = "writable" if flag == "w" else "readable"
        for (full, stat), answer in zip(found, answers):
            if answer != wanted:
                failures.append(f"{stat} {full} should {'' if wanted else 'not '}be {what} by {group}")
    if failures:
        if len(failures) > 50:
            failures = failures[:32] + [f"...{len(failures)} total"]
        raise AssertionError("\n".join(failures))
