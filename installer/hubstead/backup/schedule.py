"""Scheduled backups: the timer's service runs `hubstead backup create --scheduled`,
which writes into /var/lib/hubstead/backups and prunes to backup.keep archives."""

import tarfile
from pathlib import Path

from . import BackupError
from .archive import HEADER, check_header, json_member
from .create import BACKUP_DIR

PATTERN = "hubstead-*.tar.gz"


def header(path):
    """The archive's first member (who wrote it, when), read without checking the rest."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            info = tar.next()
            if info is None:
                raise BackupError(f"{path} is empty.")
            found = json_member(path, tar, info, HEADER)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(f"{path} is not a Hubstead backup ({error}).") from None
    check_header(path, found)
    return found


def archives(directory=None):
    """The archives in DIRECTORY, newest first: path, size, version, created (or problem)."""
    directory = Path(directory or BACKUP_DIR)
    if not directory.is_dir():
        return []
    listed = []
    for path in directory.glob("*.tar.gz"):
        if not path.is_file() or path.is_symlink():
            continue
        item = {"path": str(path), "size": path.stat().st_size, "version": None, "created": None}
        try:
            item.update({key: value for key, value in header(path).items() if key in ("version", "created")})
        except BackupError as error:
            item["problem"] = str(error)
        listed.append(item)
    return sorted(listed, key=lambda item: (item["created"] or 0, item["path"]), reverse=True)


def prune(keep, directory=None):
    """Delete the scheduled archives (hubstead-*.tar.gz) beyond the KEEP newest; return them."""
    directory = Path(directory or BACKUP_DIR)
    if keep < 1 or not directory.is_dir():
        return []
    scheduled = sorted((path for path in directory.glob(PATTERN) if path.is_file() and not path.is_symlink()),
                       key=lambda path: path.name, reverse=True)
    doomed = scheduled[keep:]
    for path in doomed:
        path.unlink()
    return [str(path) for path in doomed]


def run_scheduled(report=None):
    """What the timer's service runs: a backup with homes into the backups directory,
    then prune to backup.keep. Returns (the new archive, the pruned ones)."""
    from .. import config as hubstead_config
    from .create import create, default_path

    keep = hubstead_config.current()["backup"]["keep"]
    path = create(default_path(), homes=True, report=report)
    return path, prune(keep)
