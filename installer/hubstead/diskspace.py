"""Is the disk full? One answer for `hubstead status`, `user add` and environment builds.

A write that fails for want of space (ENOSPC, EDQUOT, SQLite's "database or disk is
full") becomes one sentence that names the path and its file system, not a traceback;
operations that change state check for room first, so a full disk changes nothing.
"""

import errno
import shutil
import sqlite3
from pathlib import Path

# `hubstead status` calls a file system a problem from here on.
NEARLY_FULL_PERCENT = 95
NEARLY_FULL_FREE_BYTES = 512 * 2**20
# Below this, a change to the hub's state (SQLite's journal, a sign-up row) may not fit.
STATE_MINIMUM_FREE_BYTES = 16 * 2**20

OUT_OF_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def existing_ancestor(path):
    path = Path(path)
    while not path.exists():
        path = path.parent
    return path


def mount_point(path):
    """The mount point of the file system holding PATH (its nearest existing ancestor)."""
    path = existing_ancestor(path).resolve()
    device = path.stat().st_dev
    while path != path.parent and path.parent.stat().st_dev == device:
        path = path.parent
    return str(path)


def used_percent(usage):
    # As df counts: blocks reserved for root are neither used nor free to users.
    usable = usage.used + usage.free
    return round(100 * usage.used / usable, 1) if usable else None


def nearly_full(free_bytes, percent):
    return free_bytes < NEARLY_FULL_FREE_BYTES or (percent is not None and percent >= NEARLY_FULL_PERCENT)


def fullness(free_bytes, percent):
    """'full' (a small write may fail), 'nearly full' or None, by the thresholds above."""
    if free_bytes < STATE_MINIMUM_FREE_BYTES:
        return "full"
    return "nearly full" if nearly_full(free_bytes, percent) else None


def size(count_bytes):
    value = float(count_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def is_out_of_space(error):
    """True when ERROR (or what caused it) is a write that found no room."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in OUT_OF_SPACE_ERRNOS:
            return True
        # SQLITE_FULL; Python does not expose the code on every version, only the text.
        if isinstance(error, sqlite3.OperationalError) and "disk is full" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def full_message(path, disk_usage=None):
    """'the disk is full: /var/lib/hubstead is on /var (0 B free of 20.0 GiB); ...'"""
    mount = mount_point(path)
    usage = (disk_usage or shutil.disk_usage)(mount)
    where = path if str(path) == mount else f"{path} is on {mount}"
    return (f"the disk is full: {where} ({size(usage.free)} free of {size(usage.total)}); "
            f"free some space there and try again")


def has_room(path, minimum=STATE_MINIMUM_FREE_BYTES, disk_usage=None):
    return (disk_usage or shutil.disk_usage)(existing_ancestor(path)).free >= minimum


def require_room(path, error_class, minimum=STATE_MINIMUM_FREE_BYTES, disk_usage=None):
    """Raise error_class (one line) when the file system holding PATH has less than MINIMUM free."""
    if not has_room(path, minimum, disk_usage):
        raise error_class(full_message(path, disk_usage) + "; nothing was changed.")
