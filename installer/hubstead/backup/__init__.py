"""Backups of a hub: one archive that restores onto this machine or a new one.

archive.py is the file format (a gzip'd tar with a manifest of checksums) and its
checks; create.py gathers what a hub holds; restore.py puts it back; schedule.py
prunes the archives a timer makes. docs/backup.md says what is in an archive.
"""

from ..errors import HubsteadError


class BackupError(HubsteadError):
    """An expected failure of a backup or a restore; the message says what to do."""
