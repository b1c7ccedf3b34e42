"""Root taking over what the sandbox made, without following anything it planted.

The sandboxed worker (builder.sandbox) writes the new environment as the builder account,
running a repository's postBuild: every name in that tree may be a symlink, a hard link
to someone else's file, a fifo or a device node meant to trick root. So once the sandbox
unit has ended (its processes are gone with its cgroup), root walks the tree by file
descriptors that never follow links (os.fwalk, *at calls with follow_symlinks=False) and:

- refuses anything that is not a directory, a regular file or a symlink, and any file
  the builder account does not own (a hard link to another user's file would otherwise
  have its owner and mode changed by root);
- refuses names Hubstead writes into a build itself (the completion marker, the build
  info, the kept spec), so root never writes through a link the build left there;
- makes every entry root-owned, without setuid/setgid bits or group/other write.

Symlinks stay as they are (a venv's bin/python points at /usr/bin/python3): root never
opens the tree by path afterwards, and learners follow them with their own rights.
Finished files are then written by `write_new`, which creates them beneath the build
directory's own descriptor and refuses to reuse any existing name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from . import BuilderError

# Hubstead's own files in a build (envs.COMPLETE_MARKER, envs.store.BUILD_INFO and the kept
# spec): only root writes them, after the take-over.
RESERVED_PREFIXES = (".hubstead-build-complete", "hubstead-build.json", ".hubstead-build.json", "hubstead-spec-")
KEPT_MODE_BITS = 0o755  # rwx for the owner, r-x for others: no write, setuid, setgid or sticky
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def take_over(build_dir, builder_uid, allowed_files=()):
    """Make the tree at build_dir root's, or raise BuilderError naming the first entry that
    could trick root. allowed_files: top-level names that must be regular files if present
    (the worker's own lock file)."""
    build_dir = Path(build_dir)
    top = os.open(build_dir, DIRECTORY_FLAGS)
    try:
        top_stat = os.fstat(top)
        if top_stat.st_uid not in (builder_uid, 0):
            raise BuilderError(f"the build directory {build_dir} is owned by uid {top_stat.st_uid}")
        _check_top_level(top, allowed_files)
        for directory, dirs, files, dir_fd in os.fwalk(dir_fd=top, follow_symlinks=False):
            here = os.fstat(dir_fd)
            if here.st_uid not in (builder_uid, 0):
                raise BuilderError(f"the build left {directory}, which it did not make; refusing the build")
            # fwalk lists a symlink to a directory among dirs (and never enters it).
            for name in [*files, *(name for name in dirs if _is_link(dir_fd, name))]:
                _take_entry(dir_fd, name, os.path.join(directory, name), builder_uid)
            _seal(dir_fd, None, here, directory)
    finally:
        os.close(top)


def _check_top_level(top, allowed_files):
    for name in os.listdir(top):
        if name.startswith(RESERVED_PREFIXES):
            raise BuilderError(f"the build wrote {name}, a name Hubstead keeps for itself in an environment; "
                               "refusing the build")
        if name in allowed_files:
            info = os.stat(name, dir_fd=top, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise BuilderError(f"the build's {name} is not a plain file; refusing the build")


def _is_link(dir_fd, name):
    return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)


def _take_entry(dir_fd, name, shown, builder_uid):
    """One entry that is not a directory walked into: a file, or a link to anything."""
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    kind = stat.S_IFMT(info.st_mode)
    if kind not in (stat.S_IFREG, stat.S_IFLNK):
        what = {stat.S_IFIFO: "a fifo", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
                stat.S_IFBLK: "a device"}.get(kind, "a special file")
        raise BuilderError(f"the build left {what} at {shown}; environments hold only files, directories "
                           "and links; refusing the build")
    if info.st_uid != builder_uid:
        raise BuilderError(f"the build left {shown}, which it did not make (owned by uid {info.st_uid}: "
                           "a hard link to another file?); refusing the build")
    _seal(dir_fd, name, info, shown)


def _seal(dir_fd, name, info, shown):
    """chown to root and drop dangerous mode bits, on the entry itself, never a link's target."""
    if name is None:  # the directory dir_fd itself
        os.fchown(dir_fd, 0, 0)
        os.fchmod(dir_fd, stat.S_IMODE(info.st_mode) & KEPT_MODE_BITS)
        return
    os.chown(name, 0, 0, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISREG(info.st_mode):
        # Open the file itself (O_NOFOLLOW; nothing can swap it: the sandbox is gone) to chmod.
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
        try:
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & KEPT_MODE_BITS)
        finally:
            os.close(fd)


def write_new(build_dir, name, data: bytes, mode=0o644):
    """Create build_dir/name with data; refuse if the name exists or build_dir is a link."""
    top = os.open(build_dir, DIRECTORY_FLAGS)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=top)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    finally:
        os.close(top)


def read_regular(build_dir, name):
    """The bytes of a regular file directly in build_dir; BuilderError for anything else."""
    top = os.open(build_dir, DIRECTORY_FLAGS)
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=top)
        except OSError as error:
            raise BuilderError(f"the build made no readable {name}: {error.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise BuilderError(f"the build's {name} is not a plain file")
            return handle.read()
    finally:
        os.close(top)
