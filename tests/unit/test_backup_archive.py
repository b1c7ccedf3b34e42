"""Backup archives: the manifest check refuses damaged, truncated, foreign and newer
archives with one line; homes are read without following links and staged safely."""

import gzip
import io
import json
import os
import tarfile

import pytest

from hubstead.backup import BackupError
from hubstead.backup.archive import HEADER, MANIFEST, ArchiveWriter, read_manifest
from hubstead.backup.create import add_home
from hubstead.backup.homes import STAGING, HomeStager


def small_archive(path, **members):
    with ArchiveWriter(path) as out:
        for name, data in members.items():
            out.add_bytes(name, data)
    return path


def test_an_archive_is_0600_and_its_manifest_names_every_member(tmp_path):
    path = small_archive(tmp_path / "a.tar.gz", **{"config/config.yaml": b"http: {}\n", "accounts.json": b"{}"})
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    manifest = read_manifest(path)
    assert set(manifest.members) == {"config/config.yaml", "accounts.json"}
    assert manifest.version and manifest.created
    assert not list(tmp_path.glob(".*partial*"))


def test_a_truncated_archive_is_refused_in_one_line(tmp_path):
    path = small_archive(tmp_path / "a.tar.gz", **{"state/big": os.urandom(300_000)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupError, match="truncated") as refused:
        read_manifest(path)
    assert "\n" not in str(refused.value) and "nothing was changed" in str(refused.value)


def test_something_that_is_not_an_archive_is_refused(tmp_path):
    path = tmp_path / "notes.tar.gz"
    path.write_text("just some text\n")
    with pytest.raises(BackupError, match="not a Hubstead backup"):
        read_manifest(path)
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(BackupError, match="not a Hubstead backup"):
        read_manifest(plain)


def rewrite(path, change):
    """Rewrite the archive's tar stream, letting CHANGE(name, data) replace a member's data."""
    source = tarfile.open(path, "r:gz")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in source:
            data = source.extractfile(info).read() if info.isreg() else b""
            data = change(info.name, data)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(out.getvalue()))


def test_a_member_changed_after_the_backup_is_refused(tmp_path):
    path = small_archive(tmp_path / "a.tar.gz", **{"accounts.json": b'{"accounts": []}'})
    rewrite(path, lambda name, data: b'{"accounts": [1]}' if name == "accounts.json" else data)
    with pytest.raises(BackupError, match="damaged.*accounts.json"):
        read_manifest(path)


def test_an_archive_from_a_newer_hubstead_is_refused(tmp_path):
    path = small_archive(tmp_path / "a.tar.gz", **{"accounts.json": b"{}"})

    def newer(name, data):
        if name in (HEADER, MANIFEST):
            return json.dumps({**json.loads(data), "version": "99.0.0"}).encode()
        return data

    rewrite(path, newer)
    with pytest.raises(BackupError, match="Hubstead 99.0.0, newer than this one"):
        read_manifest(path)


def test_an_unwritable_target_is_refused_and_leaves_nothing(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    with pytest.raises(BackupError, match="cannot write .*nowhere"):
        small_archive(tmp_path / "nowhere" / "a.tar.gz", x=b"1")
    if os.geteuid() != 0:  # root may write anywhere; the e2e test fills a real disk instead
        locked.chmod(0o500)
        with pytest.raises(BackupError, match="cannot write"):
            small_archive(locked / "a.tar.gz", x=b"1")
    assert not list(locked.iterdir())


def test_a_failure_while_writing_leaves_no_partial_file(tmp_path):
    with pytest.raises(BackupError, match="cannot write"):
        with ArchiveWriter(tmp_path / "a.tar.gz") as out:
            out.add_bytes("x", b"1")
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_homes_are_read_without_following_links(tmp_path):
    home, outside = tmp_path / "home", tmp_path / "secret"
    outside.write_text("root's secret\n")
    (home / "work").mkdir(parents=True)
    (home / "work" / "notebook.ipynb").write_text("{}")
    (home / "shadow").symlink_to(outside)
    path = tmp_path / "a.tar.gz"
    with ArchiveWriter(path, homes=True) as out:
        assert add_home(out, "jupyter-ann", str(home)) == 3
    with tarfile.open(path) as tar:
        link = tar.getmember("homes/jupyter-ann/shadow")
        assert link.issym() and link.linkname == str(outside)
        assert tar.extractfile("homes/jupyter-ann/work/notebook.ipynb").read() == b"{}"
        assert all(b"root's secret" not in (tar.extractfile(m).read() if m.isreg() else b"") for m in tar)


def test_an_account_without_a_home_yet_is_backed_up_without_one(tmp_path):
    """A roster account that never started a server has no home: the backup goes on."""
    path = tmp_path / "a.tar.gz"
    with ArchiveWriter(path, homes=True) as out:
        assert add_home(out, "jupyter-new", str(tmp_path / "never-made")) == 0
    with tarfile.open(path) as tar:
        assert not [m for m in tar.getnames() if m.startswith("homes/")]


def staged(tmp_path, members):
    """Feed crafted members to a HomeStager for account jupyter-ann (home under tmp_path)."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.uid, info.gid = kind, link, os.getuid(), os.getgid()
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            data = b"data" if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive.seek(0)
    stager = HomeStager([{"name": "jupyter-ann", "home": str(tmp_path / "jupyter-ann")}])
    with tarfile.open(fileobj=archive) as tar:
        for info in tar:
            stager.add(info, tar)
    stager.finish()
    return stager


DIR, FILE, SYM, HARD, FIFO = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE
HOME = ("homes/jupyter-ann", DIR, "")


@pytest.mark.parametrize("member, phrase", [
    (("homes/jupyter-ann/../../etc/cron.d/x", FILE, ""), "leaves its home"),
    (("/etc/passwd", FILE, ""), "belongs to no account"),
    (("homes/jupyter-ann/x/../../../x", FILE, ""), "leaves its home"),
    (("homes/jupyter-bob/x", FILE, ""), "belongs to no account"),
    (("homes/jupyter-ann/pipe", FIFO, ""), "special file"),
])
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path, member, phrase):
    with pytest.raises(BackupError, match=phrase):
        staged(tmp_path, [HOME, member])
    assert not (tmp_path / "jupyter-ann").exists()


def test_nothing_is_written_through_a_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    members = [HOME, ("homes/jupyter-ann/in", SYM, "sub"), ("homes/jupyter-ann/in/x", FILE, "")]
    with pytest.raises(BackupError, match="below a symbolic link"):
        staged(tmp_path, members)
    members = [HOME, ("homes/jupyter-ann/out", SYM, str(outside)), ("homes/jupyter-ann/out/x", FILE, "")]
    with pytest.raises(BackupError, match="below a symbolic link"):
        staged(tmp_path, members)
    assert list(outside.iterdir()) == []


def test_links_out_of_the_home_are_left_out_and_the_rest_is_staged(tmp_path):
    stager = staged(tmp_path, [HOME, ("homes/jupyter-ann/a.txt", FILE, ""),
                               ("homes/jupyter-ann/ok", SYM, "a.txt"),
                               ("homes/jupyter-ann/up", SYM, "../../etc/shadow"),
                               ("homes/jupyter-ann/hard", HARD, "/etc/shadow")])
    assert stager.left_out == ["homes/jupyter-ann/up", "homes/jupyter-ann/hard"]
    assert stager.swap_in("jupyter-ann") is None
    home = tmp_path / "jupyter-ann"
    assert sorted(entry.name for entry in home.iterdir()) == ["a.txt", "ok"]
    assert (home / "ok").read_text() == "data" and oct(home.stat().st_mode & 0o777) == "0o755"
    stager.discard()
    assert not (tmp_path / STAGING).exists()
