"""Homes come back from an archive: each member is checked (archive.member_problem),
written into a fresh root-only staging directory by this module itself (created with
O_EXCL|O_NOFOLLOW, so nothing is written through a link), and only after the whole
archive is verified renamed into place. A home that was there is kept, renamed."""

import os
import posixpath
import shutil
import time
from pathlib import Path

from . import BackupError
from .archive import digest, escapes, member_problem

STAGING = ".hubstead-restore"


class HomeStager:
    """Receives the homes/ACCOUNT/... members while the archive is verified."""

    def __init__(self, accounts):
        self.homes = {account["name"]: Path(account["home"]) for account in accounts}
        for account, home in self.homes.items():
            if not home.is_absolute() or ".." in home.parts or home.parent == home:
                raise BackupError(f"the archive gives {account} the home {home}; nothing was changed.")
        self.links, self.directories, self.left_out, self.staged = set(), [], [], set()

    def staging(self, account):
        return self.homes[account].parent / STAGING

    def add(self, info, tar):
        """Stage one member; return its digest for the manifest check."""
        parts = info.name.split("/")
        account = parts[1] if len(parts) > 1 else ""
        if account not in self.homes:
            raise BackupError(f"the archive holds {info.name!r}, which belongs to no account it lists; "
                              "nothing was changed.")
        root = f"homes/{account}"
        problem = member_problem(info, root)
        if problem is None and any("/".join(parts[:end]) in self.links for end in range(2, len(parts))):
            problem = f"{info.name!r} lies below a symbolic link"
        if problem:
            raise BackupError(f"refusing to restore {root}: {problem}; nothing was changed.")
        if account not in self.staged:
            self._start(account)
        target = self.staging(account) / info.name
        if escapes(info, root):
            self.links.add(info.name)  # nothing may be written below it either
            self.left_out.append(info.name)
            return digest(tar, info)
        if info.isdir():
            target.mkdir(mode=0o700, exist_ok=True)
            self.directories.append((target, info))
        elif info.issym():
            self.links.add(info.name)
            os.symlink(info.linkname, target)
            os.chown(target, info.uid, info.gid, follow_symlinks=False)
        elif info.islnk():
            os.link(self.staging(account) / posixpath.normpath(info.linkname), target, follow_symlinks=False)
        else:
            return self._write(target, info, tar)
        return digest(tar, info)

    def _start(self, account):
        staging = self.staging(account)
        if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
            staging.unlink()
        staging.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(staging, 0, 0)
        os.chmod(staging, 0o700)
        (staging / "homes").mkdir(mode=0o700, exist_ok=True)
        shutil.rmtree(staging / "homes" / account, ignore_errors=True)  # an interrupted run's half
        self.staged.add(account)

    def _write(self, target, info, tar):
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            result = digest(tar, info, sink=out.write)
            os.fchown(descriptor, info.uid, info.gid)
            os.fchmod(descriptor, info.mode & 0o7777)
        os.utime(target, (info.mtime, info.mtime), follow_symlinks=False)
        return result

    def finish(self):
        """Owners, modes and times of directories, deepest first (their files are in)."""
        for target, info in reversed(self.directories):
            os.chown(target, info.uid, info.gid, follow_symlinks=False)
            os.chmod(target, info.mode & 0o7777)
            os.utime(target, (info.mtime, info.mtime), follow_symlinks=False)

    def swap_in(self, account):
        """Put the staged home in place; return where the previous home went, or None."""
        home = self.homes[account]
        extracted = self.staging(account) / "homes" / account
        if not extracted.is_dir():
            return None
        previous = None
        if home.exists() or home.is_symlink():
            previous = home.with_name(f"{home.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
            os.rename(home, previous)
        os.rename(extracted, home)
        return previous

    def discard(self):
        for parent in {home.parent for home in self.homes.values()}:
            if (parent / STAGING).is_dir() and not (parent / STAGING).is_symlink():
                shutil.rmtree(parent / STAGING, ignore_errors=True)
