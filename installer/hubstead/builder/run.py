"""One Binder build, run as root in its transient unit hubstead-build-ID:

    python -m hubstead.builder.run ID

checks the repository out (from the mirror cache), installs what apt.txt asks for (the
one privileged step, switchable off), then runs the environment build and postBuild as
the unprivileged builder account in a sandboxed unit (builder.sandbox), and finally
makes the result root-owned, complete and current. Everything goes to the build's log;
the record says how it ended. A failure, a cancel or a timeout removes what the build
made, so no half-built environment is ever left and whatever served before serves on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback

from .. import paths
from ..errors import HubsteadError
from ..envs import discard_incomplete, is_complete, mark_complete, store, switch_current
from . import BuilderError, fetch, records, repofiles, sandbox

RECIPE = "binder-2"  # bump when the way a build is made changes
APT_TIMEOUT = 900
NODE_PACKAGES = ("nodejs", "npm")
NODE_COMMANDS = ("node", "npm")


class Stopped(Exception):
    """SIGTERM: a cancel (the record says so) or the unit's RuntimeMaxSec (a timeout)."""


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def env_build_id(config, commit):
    """Builds of one configuration share a build across commits, unless a postBuild
    (which may read any file of the repository) makes the build depend on the commit."""
    parts = [RECIPE, config.kind, config.config_hash, commit if config.depends_on_content else ""]
    return "bnd-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def start_script_path(cache_key):
    return paths.ENVS_DIR / ".binder" / cache_key / "start"


def build(record, settings):
    """Make what record asks for; return the env build id (None: the env's current)."""
    work = sandbox.work_dir(record.id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log(f"fetching {record.repo} at {record.commit_id}")
    checkout = fetch.fetch(record.repo, record.commit_id, work / "src")
    config = repofiles.read_repo(checkout.directory)
    for name, what in config.actions:
        log(f"read {name}: {what}")
    for line in config.ignored:
        log(f"ignored {line}")
    install_apt(config.apt_packages, settings)
    keep_start_script(config, record)
    if config.kind != "none":
        ensure_node()
    if config.r_packages is not None:
        install_r(config, settings)
    if config.kind == "none":
        log(f"no environment to build: the {record.env!r} environment serves this repository")
        return None
    build_id = env_build_id(config, record.commit_id)
    env_dir = paths.ENVS_DIR / record.env
    target = env_dir / build_id
    from ..envs.manage import building

    # One build at a time per environment (`hubstead env` commands take the same lock):
    # each sweeps the unfinished builds it finds there, which must not be another's.
    with building(record.env, wait=True):
        if is_complete(target):
            log(f"{record.env} already has build {build_id} of this configuration: nothing to build")
        else:
            build_environment(record, config, target, settings)
            mark_complete(target, f"binder: {record.repo} at {record.commit_id}\n")
    if record.make_current:
        switch_current(env_dir, build_id)
    info = store.env_info(record.env)
    if not info.get("description"):
        store.update_env_info(record.env, description=f"Binder: {record.repo}")
    from .pipeline import env_name

    # An environment made just for a repository's launch links stays off the spawn
    # page's list (there would be one per repository); one built with --name is listed.
    store.update_env_info(record.env, binder_repo=record.repo, launch_only=record.env == env_name(record.repo))
    return build_id


def build_environment(record, config, target, settings):
    discard_incomplete(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.mkdir()
    # The spec kept beside the build is read now, from root's own checkout: once the
    # sandbox has run, the checkout is the builder's and any name in it may be a link.
    kept = records.builds_dir() / f"{int(record.id)}.spec"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(mode=0o700, parents=True)
    spec = kept / config.spec_name
    if config.kind == "conda":
        shutil.copyfile(config.spec_file, spec)  # repofiles checked it stays inside the checkout
    else:  # the requirement lines repofiles read (requirements.txt, a Pipfile) or none
        spec.write_text(config.requirements or "")
    for_worker = sandbox.spec_path(record.id, config)
    for_worker.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec, for_worker)
    try:
        sandbox.run_worker(record, config, target, settings["binder"], settings["envs"])
        log("took the environment over: root-owned, read-only for users, nothing the build planted followed")
        lock = target / ("conda-lock.yml" if config.kind == "conda" else "requirements.lock.txt")
        store.record_build(target, config.kind, spec, lock)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never leave a half-built prefix
        _remove_if_empty(target.parent)
        raise
    finally:
        shutil.rmtree(kept, ignore_errors=True)


def _remove_if_empty(env_dir):
    """An environment whose first build failed must not be listed with no build at all
    (another build under way into it has its directory there, so it stays)."""
    if {path.name for path in env_dir.iterdir()} <= {store.ENV_INFO}:
        shutil.rmtree(env_dir, ignore_errors=True)


def install_apt(packages, settings):
    """apt.txt's packages, system-wide: the only step of a build that runs as root, and
    only with names that are Debian package names (repofiles.parse_apt checked them)."""
    if not packages:
        return
    if not settings["binder"]["apt"]["enabled"]:
        raise BuilderError("apt.txt asks for Debian packages, and this hub does not install them "
                           "(binder.apt.enabled is false)")
    log(f"installing Debian packages from apt.txt: {' '.join(packages)}")
    _apt_get(packages, "apt.txt")


def _apt_waiting_for_lists(arguments, environment, pause=5):
    """Run one apt-get; while another apt-get holds the package lists' lock (which
    DPkg::Lock::Timeout does not cover: apt-get update fails at once), try again, for
    APT_TIMEOUT seconds in all."""
    deadline = time.monotonic() + APT_TIMEOUT
    while True:
        result = subprocess.run(arguments, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=APT_TIMEOUT)
        locked = result.returncode != 0 and "Could not get lock /var/lib/apt/lists/lock" in result.stdout
        if not locked or time.monotonic() + pause > deadline:
            return result
        time.sleep(pause)


def _apt_get(packages, what):
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Two builds (or a build and unattended-upgrades) may want dpkg at once: wait for it.
    wait = ["-o", f"DPkg::Lock::Timeout={APT_TIMEOUT}"]
    for arguments in (["apt-get", *wait, "update", "-q"],
                      ["apt-get", *wait, "install", "-y", "-q", "--no-install-recommends", "--", *packages]):
        result = _apt_waiting_for_lists(arguments, environment)
        print(result.stdout, end="", flush=True)
        if result.returncode != 0:
            raise BuilderError(f"{what}: {_apt_reason(result.stdout)}")


def ensure_node():
    """Debian's node and npm, which repo2docker's images have and postBuild scripts use
    (`npm install -g`, JupyterLab extensions): installed at the first build that needs
    an environment, not at install, since most hubs never build one (npm brings some
    360 Debian packages)."""
    if all(shutil.which(name) for name in NODE_COMMANDS):
        return
    log("installing Debian's nodejs and npm, as repo2docker's images have them (once per machine)")
    _apt_get(NODE_PACKAGES, "installing nodejs and npm")


def install_r(config, settings):
    """Debian's R, IRkernel and the r-cran-* packages install.R names (builder.rpackages):
    all of them must exist in Debian, and R must be the version runtime.txt asks for.
    They are Debian packages a repository asks for, as apt.txt's: binder.apt.enabled
    false refuses them too."""
    from .rpackages import debian_packages

    if not settings["binder"]["apt"]["enabled"]:
        raise BuilderError("install.R is built from Debian's packages, and this hub does not install Debian "
                           "packages for builds (binder.apt.enabled is false)")
    packages = debian_packages(config.r_packages)
    missing = [name for name in packages if not _apt_candidate(name)]
    if missing:
        raise BuilderError(f"install.R: Debian has no {', '.join(missing)}; this hub builds R repositories from "
                           "Debian's packages only (CRAN is not used)")
    r_version = _apt_candidate("r-base-core")
    if config.r_version and not r_version.startswith(config.r_version + "."):
        raise BuilderError(f"runtime.txt asks for R {config.r_version}; this hub has Debian's R "
                           f"{'.'.join(r_version.split('.')[:2])}: ask for r-{'.'.join(r_version.split('.')[:2])}")
    log(f"installing Debian's R {r_version.split('+')[0]} and its packages: {' '.join(packages)}")
    _apt_get(packages, "installing R")


def _apt_candidate(name):
    """The version apt would install of a package, or None when Debian has none."""
    result = subprocess.run(["apt-cache", "policy", "--", name], capture_output=True, text=True)
    for line in result.stdout.splitlines():
        if line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            return None if version == "(none)" else version.split(":", 1)[-1]
    return None


def _apt_reason(output):
    for line in output.splitlines():
        if line.startswith("E: "):
            return line[3:].strip()
    return "apt-get failed (see the build log)"


def keep_start_script(config, record):
    """A copy of the repository's start script, root-owned, for HubsteadSpawner to run
    the server through (repo2docker's start: it ends with exec "$@")."""
    if not config.start:
        return
    destination = start_script_path(record.cache_key)
    destination.parent.mkdir(parents=True, exist_ok=True)
    (destination.parent.parent).chmod(0o755)
    temporary = destination.with_suffix(".new")
    shutil.copyfile(config.start, temporary)
    temporary.chmod(0o755)
    os.replace(temporary, destination)
    log("kept the start script: servers launched from this build start through it")


def _stop(signum, frame):
    raise Stopped()


def finish_stopped(record, settings):
    now = records.get(record.id)
    if now.state == "cancelled":
        log(f"build {record.id} was cancelled; removing what it made")
        return now
    limit = settings["binder"]["build_timeout"]
    message = f"the build took longer than binder.build_timeout ({limit} s) and was stopped"
    log(message)
    return records.update(record.id, state="failed", message=message)


def run_build(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    record = records.get(argv[0]) if argv else None
    if record is None:
        print(f"no build {argv[0] if argv else ''}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    from .pipeline import settings_now

    settings = settings_now()
    if records.update(record.id, state="running").state != "running":
        return 0  # cancelled before it started
    started = time.monotonic()
    stopped, failure = False, None
    try:
        build_id = build(record, settings)
    except Stopped:
        stopped = True
    except HubsteadError as error:
        log(f"error: {error}")
        failure = str(error).splitlines()[0]
    except Exception as error:  # a bug: keep the traceback in the log, a line in the record
        traceback.print_exc()
        failure = f"the build failed unexpectedly: {error!r}"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # cleanup below must not be cut short
        # Before the record says the build ended: whoever waits for that finds nothing left.
        shutil.rmtree(sandbox.work_dir(record.id), ignore_errors=True)
    if stopped:
        finish_stopped(record, settings)
        return 1
    if failure is not None:
        records.update(record.id, state="failed", message=failure)
        return 1
    message = f"built in {time.monotonic() - started:.0f} s" if build_id else "ready"
    final = records.update(record.id, state="succeeded", build=build_id, message=message)
    log(f"build {record.id} {final.state}: {final.message}")
    return 0 if final.state == "succeeded" else 1


def main(argv=None):
    """Run one build, then hand its slot to the next build waiting (pipeline.start_waiting)."""
    try:
        return run_build(argv)
    finally:
        from .pipeline import start_waiting

        try:
            start_waiting()
        except Exception:  # the next request starts them too; this build's result stands
            traceback.print_exc()


if __name__ == "__main__":
    sys.exit(main())
