"""User environments: /opt/hubstead/envs/<name>/<build-id>, with `current` switched atomically.

A build directory counts only once its completion marker exists; the `current`
symlink moves to a build only after that, so a failed or interrupted build never
replaces the environment that is serving.
"""

import os
import shutil
import stat
from pathlib import Path

from ..errors import HubsteadError

COMPLETE_MARKER = ".hubstead-build-complete"


class EnvError(HubsteadError):
    """An expected environment failure; the message says which and what to do."""


def is_complete(build_dir):
    """The marker is a plain file made by root (or this process's user): a link or a file
    that a sandboxed build planted under that name never counts."""
    try:
        info = os.lstat(Path(build_dir) / COMPLETE_MARKER)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid in (0, os.geteuid())


def mark_complete(build_dir, description=""):
    (Path(build_dir) / COMPLETE_MARKER).write_text(description)


def discard_incomplete(build_dir):
    """Remove what an interrupted build left, so the next build starts clean."""
    build_dir = Path(build_dir)
    if build_dir.exists() and not is_complete(build_dir):
        shutil.rmtree(build_dir)


def switch_current(env_dir, build_id):
    """Point env_dir/current at build_id atomically (symlink + rename)."""
    env_dir = Path(env_dir)
    current = env_dir / "current"
    if current.is_symlink() and os.readlink(current) == build_id:
        return False
    temporary = env_dir / f".current-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(build_id, temporary)
    os.replace(temporary, current)
    return True


def current_build(env_dir):
    current = Path(env_dir) / "current"
    return os.readlink(current) if current.is_symlink() else None
