"""The environments on this machine: /opt/hubstead/envs/<name>/<build-id>.

Each build directory holds the environment and, beside its files, what made it:
`hubstead-build.json` (kind, spec file name, lock file name, created) plus the spec
and the lock. `current` points at the build that new servers use; running servers
keep the build they started from, so switching never disturbs a class.
"""

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import paths
from . import COMPLETE_MARKER, EnvError, current_build, discard_incomplete, is_complete, switch_current

BUILD_INFO = "hubstead-build.json"
ENV_INFO = "hubstead-env.json"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass
class Build:
    id: str
    kind: str  # pypi or conda
    created: float
    spec_file: str
    lock_file: str
    current: bool = False

    def as_dict(self):
        return asdict(self)


@dataclass
class Environment:
    name: str
    description: str = ""
    current: str | None = None
    builds: list = field(default_factory=list)

    def as_dict(self):
        return {"name": self.name, "description": self.description, "current": self.current,
                "builds": [build.as_dict() for build in self.builds]}


def name_problem(name):
    if not NAME_PATTERN.match(name or ""):
        return ("environment names use lowercase letters, digits, '-' and '_', start with a letter, "
                "at most 40 characters.")
    return None


def valid_name(name):
    problem = name_problem(name)
    if problem:
        raise EnvError(f"{name!r}: {problem}")
    return name


def env_dir(name, root=None):
    return (root or paths.ENVS_DIR) / valid_name(name)


def names(root=None):
    root = root or paths.ENVS_DIR
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir()
                  if entry.is_dir() and not entry.name.startswith(".") and name_problem(entry.name) is None
                  and current_build(entry))


def load(name, root=None):
    directory = env_dir(name, root)
    if not directory.is_dir():
        raise EnvError(f"no environment named {name!r}; see `hubstead env list`.")
    current = current_build(directory)
    if current is None:
        # Only a build that finished makes an environment (`env list` agrees).
        raise EnvError(f"no environment named {name!r}: its first build is running, failed or was interrupted; "
                       f"run `hubstead env create {name} --file SPEC` again (it clears what is left).")
    info = _read_json(directory / ENV_INFO)
    builds = sorted((_load_build(path, current) for path in directory.iterdir()
                     if path.is_dir() and not path.is_symlink() and is_complete(path)),
                    key=lambda build: build.created)
    return Environment(name=name, description=info.get("description", ""), current=current, builds=builds)


def _load_build(path, current):
    info = _read_json(path / BUILD_INFO)
    created = info.get("created") or (path / COMPLETE_MARKER).stat().st_mtime
    return Build(id=path.name, kind=info.get("kind", "pypi"), created=created,
                 spec_file=info.get("spec_file", ""), lock_file=info.get("lock_file", ""),
                 current=path.name == current)


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def all_environments(root=None):
    return [load(name, root) for name in names(root)]


def env_info(name, root=None):
    """What hubstead-env.json says of NAME (description, admin_managed), or {}."""
    return _read_json(env_dir(name, root) / ENV_INFO)


def update_env_info(name, root=None, **changes):
    directory = env_dir(name, root)
    directory.mkdir(parents=True, exist_ok=True)
    _write_json(directory / ENV_INFO, {**env_info(name, root), **changes})


def set_description(name, description, root=None):
    update_env_info(name, root, description=description)


def _write_json(path, data):
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temporary, path)


def record_build(build_dir, kind, spec_path, lock_path):
    """Keep the spec and lock inside the build, and say what made it."""
    build_dir = Path(build_dir)
    spec_copy, lock_copy = build_dir / f"hubstead-spec-{Path(spec_path).name}", build_dir / Path(lock_path).name
    shutil.copyfile(spec_path, spec_copy)
    if not lock_copy.exists():  # the builders keep their lock in the build already
        shutil.copyfile(lock_path, lock_copy)
    _write_json(build_dir / BUILD_INFO, {"kind": kind, "created": time.time(), "spec_file": spec_copy.name,
                                         "lock_file": lock_copy.name})


def build_prefix(name, build_id=None, root=None):
    """The directory a server runs from: the named build, or the current one."""
    environment = load(name, root)
    chosen = build_id or environment.current
    if chosen not in [build.id for build in environment.builds]:
        known = ", ".join(build.id for build in environment.builds)
        raise EnvError(f"{name!r} has no build {chosen!r}; builds: {known}.")
    return env_dir(name, root) / chosen


def rollback(name, to=None, root=None):
    """Switch `current` to build TO, or to the build before the current one; return it."""
    environment = load(name, root)
    ids = [build.id for build in environment.builds]
    if to is None:
        position = ids.index(environment.current) if environment.current in ids else len(ids)
        if position == 0:
            raise EnvError(f"{name!r} has no build older than {environment.current}; see `hubstead env show {name}`.")
        to = ids[position - 1]
    elif to not in ids:
        raise EnvError(f"{name!r} has no build {to!r}; builds: {', '.join(ids)}.")
    switch_current(env_dir(name, root), to)
    return to


def prune(name, keep=2, root=None, in_use=()):
    """Delete old builds, keeping the current one, the KEEP newest and any in use."""
    environment = load(name, root)
    newest = {build.id for build in environment.builds[-keep:]} if keep else set()
    doomed = [build.id for build in environment.builds
              if build.id != environment.current and build.id not in newest and build.id not in in_use]
    directory = env_dir(name, root)
    for build_id in doomed:
        shutil.rmtree(directory / build_id)
    for leftover in directory.iterdir():
        if leftover.is_dir() and not leftover.is_symlink():
            discard_incomplete(leftover)
    return doomed


def remove(name, root=None):
    directory = env_dir(name, root)
    if not directory.is_dir():
        raise EnvError(f"no environment named {name!r}; see `hubstead env list`.")
    # Rename first: a half-deleted environment must never look like a real one.
    trash = directory.with_name(f".removing-{name}-{os.getpid()}")
    os.replace(directory, trash)
    shutil.rmtree(trash)
