"""What operators do to environments: the one place the CLI calls (the instructors'
web page will call it too; it does not exist yet).

A build is made beside the serving one and `current` moves only when it is
complete, so a broken spec or a failed download never disturbs a running class.
"""

import fcntl
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .. import audit
from ..logs import IDENTIFIER_TARGETS, to_journal
from .. import config as hubstead_config
from .. import paths
from . import EnvError, current_build, discard_incomplete, inspect, pypi, store

log = logging.getLogger("hubstead.envs")


class EnvInUse(EnvError):
    """Servers run from the environment (HTTP 409); running_users names their users."""

    status = 409

    def __init__(self, message, running_users):
        super().__init__(message)
        self.running_users = running_users


def journal_logging():
    """Send build logs to the journal (SYSLOG_IDENTIFIER hubstead-env) when there is one."""
    to_journal(log, IDENTIFIER_TARGETS["envs"])


def spec_kind(spec_path):
    name = Path(spec_path).name.lower()
    if name.endswith((".yml", ".yaml")):
        return "conda"
    if name.endswith(".txt") or name.endswith(".in"):
        return "pypi"
    raise EnvError(f"{spec_path}: use an environment.yml (conda, with an optional pip section) "
                   "or a requirements.txt (PyPI only).")


def create(name, spec_path, description="", progress=None):
    store.valid_name(name)
    if (paths.ENVS_DIR / name / "current").is_symlink():
        raise EnvError(f"{name!r} exists already; use `hubstead env update {name} --file ...`.")
    with building(name) as directory:
        try:
            build = _build(name, spec_path, progress)
        except BaseException:
            # A first build that failed leaves no environment: nothing half-made to show.
            if current_build(directory) is None:
                shutil.rmtree(directory, ignore_errors=True)
            raise
        store.set_description(name, description or f"from {Path(spec_path).name}")
        _mark_admin_managed(name)
    audit.record("env.create", name, Path(spec_path).name)
    return build


def update(name, spec_path, progress=None):
    store.load(name)  # must exist
    with building(name):
        build = _build(name, spec_path, progress)
        _mark_admin_managed(name)
    audit.record("env.update", name, Path(spec_path).name)
    return build


@contextmanager
def building(name, wait=False):
    """Hold envs/NAME for one build (an flock on the directory, gone with the process,
    so a killed run never blocks the next), after sweeping what a killed run left.
    wait: queue behind a build under way (Binder builds) instead of refusing."""
    directory = paths.ENVS_DIR / name
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EnvError(f"{name!r} is being built by another `hubstead env` command; "
                           "wait until it ends.") from None
        discard_leftovers(directory)
        yield directory
    finally:
        os.close(descriptor)


def discard_leftovers(directory):
    """Remove what an interrupted build left: staging directories, incomplete builds,
    half-written links and info files. Complete builds, `current` and the info stay."""
    for entry in Path(directory).iterdir():
        if entry.name.startswith((".staging-", ".current-")) or entry.name.endswith(".tmp"):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        elif entry.is_dir() and not entry.is_symlink():
            discard_incomplete(entry)


def _mark_admin_managed(name):
    """From now on the installer leaves this environment to its admin (pypi.ensure)."""
    store.update_env_info(name, admin_managed=True)


def _build(name, spec_path, progress):
    spec_path = Path(spec_path)
    if not spec_path.is_file():
        raise EnvError(f"{spec_path}: no such file.")
    kind = spec_kind(spec_path)
    report = progress or (lambda message: None)
    journal_logging()
    directory = paths.ENVS_DIR / name
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=directory))
    try:
        log.info("building %s from %s", name, spec_path)
        if kind == "pypi":
            report("resolving and locking (uv)")
            lock = pypi.compile_lock(spec_path, staging / "requirements.lock.txt")
            report("installing")
            _, build = pypi.ensure(name, lock, installer=False)
        else:
            from . import condabuild

            build = condabuild.build(name, spec_path, staging, report)
        if not (directory / build / store.BUILD_INFO).exists():
            store.record_build(directory / build, kind, spec_path, lock if kind == "pypi" else staging / "conda-lock.yml")
        log.info("%s now serves build %s", name, build)
        return build
    except EnvError as error:
        log.error("building %s failed: %s", name, error)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def set_default(name):
    store.load(name)
    current = hubstead_config.load(paths.CONFIG_PATH)
    hubstead_config.save(paths.CONFIG_PATH,
                         hubstead_config.set_value(current, "user_environment.default_env", name))
    audit.record("env.default", name)


def rollback(name, to=None):
    """Serve build TO (default: the one before the current); return it."""
    chosen = store.rollback(name, to)
    audit.record("env.rollback", name, chosen)
    return chosen


def default_name():
    settings = hubstead_config.current()
    return settings["user_environment"]["default_env"]


def remove(name):
    if name == default_name():
        raise EnvError(f"{name!r} is the default environment; choose another with `hubstead env default` first.")
    if not store.env_dir(name).is_dir():
        raise EnvError(f"no environment named {name!r}; see `hubstead env list`.")
    # The same detection as `env prune`: a build a running server started from stays.
    in_use = inspect.servers_using(name)
    if in_use:
        users = sorted({user for users in in_use.values() for user in users})
        raise EnvInUse(f"{name!r} is in use by the running server(s) of {', '.join(users)}; nothing was deleted. "
                       "Stop those servers first (the hub's admin page, /hub/admin), then run this again.", users)
    store.remove(name)
    audit.record("env.remove", name)


def export(name, build_id=None):
    """The lock of the current (or given) build, as text."""
    prefix = store.build_prefix(name, build_id)
    environment = store.load(name)
    build = next(item for item in environment.builds if item.id == prefix.name)
    if not build.lock_file:
        locks = sorted(prefix.glob("*.lock.txt")) + sorted(prefix.glob("conda-lock.yml"))
        if not locks:
            raise EnvError(f"build {prefix.name} of {name!r} keeps no lock (made before locks were kept).")
        return locks[0].read_text()
    return (prefix / build.lock_file).read_text()
