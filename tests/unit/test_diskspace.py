"""A full disk, without filling one: what counts as out of space, the one-line messages,
`hubstead status`'s verdict, and `user add` changing nothing (stub disk usage)."""

import errno
import sqlite3
from collections import namedtuple

import pytest

from hubstead import diskspace, paths, status
from hubstead.users import UserError, manage

DiskUsage = namedtuple("DiskUsage", "total used free")
GiB = 2**30


@pytest.mark.parametrize("error, expected", [
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
    (sqlite3.OperationalError("database or disk is full"), True),
    (OSError(errno.EACCES, "Permission denied"), False),
    (sqlite3.OperationalError("database is locked"), False),
    (ValueError("disk is full"), False),
])
def test_what_counts_as_out_of_space(error, expected):
    assert diskspace.is_out_of_space(error) is expected


def test_out_of_space_is_found_behind_a_wrapping_error():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("write failed") from inner
    except RuntimeError as outer:
        assert diskspace.is_out_of_space(outer)


def test_require_room_names_the_path_and_its_file_system(tmp_path):
    full = lambda path: DiskUsage(total=64 * 2**20, used=64 * 2**20, free=0)  # noqa: E731
    with pytest.raises(UserError) as refusal:
        diskspace.require_room(tmp_path, UserError, disk_usage=full)
    message = str(refusal.value)
    assert "\n" not in message
    assert message.startswith(f"the disk is full: {tmp_path} is on {diskspace.mount_point(tmp_path)}")
    assert "0 B free of 64.0 MiB" in message and "nothing was changed" in message
    roomy = lambda path: DiskUsage(total=100 * GiB, used=50 * GiB, free=50 * GiB)  # noqa: E731
    diskspace.require_room(tmp_path, UserError, disk_usage=roomy)


@pytest.mark.parametrize("free, percent, verdict", [
    (0, 100.0, "full"), (10 * 2**20, 99.9, "full"), (400 * 2**20, 90.0, "nearly full"),
    (6 * GiB, 96.0, "nearly full"), (25 * GiB, 75.0, None), (600 * 2**20, 94.9, None),
])
def test_thresholds(free, percent, verdict):
    assert diskspace.fullness(free, percent) == verdict


def collect(tmp_path, usage, disk_paths=None):
    settings = {"internal": {"hub_port": 8081}, "http": {"port": 80}}
    active = {"LoadState": "loaded", "ActiveState": "active", "SubState": "running"}

    class Hub:
        def users(self):
            return []

    db = tmp_path / "jupyterhub.sqlite"
    sqlite3.connect(db).close()
    return status.collect_status(
        settings, show=lambda units, properties: [active for _ in units], hub=Hub(), hub_db=db,
        url_for=lambda s: "http://hub.example", disk_paths=disk_paths or [str(tmp_path)],
        disk_usage=lambda path: usage, versions=lambda: {})


def test_status_calls_a_full_disk_a_problem_and_not_healthy(tmp_path):
    report = collect(tmp_path, DiskUsage(total=20 * GiB, used=20 * GiB, free=0))
    assert report["healthy"] is False
    assert report["problems"] == [f"the disk holding {tmp_path} is full: {diskspace.mount_point(tmp_path)} has 0 B "
                                  "free (100.0% used); free some space (`hubstead env prune`, old homes, backups)"]


def test_status_warns_of_a_nearly_full_disk_once_per_file_system(tmp_path):
    usage = DiskUsage(total=100 * GiB, used=97 * GiB, free=3 * GiB)
    report = collect(tmp_path, usage, disk_paths=[str(tmp_path), str(tmp_path / "homes")])
    disk_problems = [problem for problem in report["problems"] if "disk" in problem]
    assert len(disk_problems) == 1 and "is nearly full" in disk_problems[0]
    assert f"{tmp_path}, {tmp_path / 'homes'}" in disk_problems[0] and "97.0% used" in disk_problems[0]
    assert report["healthy"] is False


def test_status_with_room_is_healthy(tmp_path):
    report = collect(tmp_path, DiskUsage(total=100 * GiB, used=75 * GiB, free=25 * GiB))
    assert report["healthy"] is True and report["problems"] == []


class RecordingHub:
    """Fails the test if user add reaches the hub."""

    def __getattr__(self, name):
        raise AssertionError(f"the hub was asked ({name}) although the disk is full")


def test_user_add_on_a_full_disk_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    monkeypatch.setattr(diskspace.shutil, "disk_usage", lambda path: DiskUsage(total=GiB, used=GiB, free=0))
    with pytest.raises(UserError, match=f"the disk is full: {tmp_path} is on .*nothing was changed"):
        manage.add_user(RecordingHub(), "bob")
    assert list(tmp_path.iterdir()) == []


def test_sqlite_finding_the_disk_full_is_one_line(tmp_path, monkeypatch):
    """Room at the check, none at the write (another process filled the disk meanwhile)."""
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)

    def full_insert(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(manage.native, "connect", _fake_connect)
    monkeypatch.setattr(manage.native, "insert", full_insert)
    with pytest.raises(UserError, match="the disk is full: .*nothing was changed"):
        manage._create(RecordingHub(), [("bob", b"hash", None)])


class _fake_connect:
    def __init__(self, *args):
        pass

    def __enter__(self):
        return object()

    def __exit__(self, *exc):
        return False
