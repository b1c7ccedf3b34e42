"""Root taking over a build's tree (builder.handover): what a hostile postBuild can plant.

Real files, links, fifos and ownership on this machine's filesystem (root is needed to
chown to another uid, as the builder account's files are)."""

from __future__ import annotations

import os
import stat

import pytest

from hubstead.builder import BuilderError, handover
from hubstead.envs import COMPLETE_MARKER, is_complete

BUILDER_UID = 64123  # an account that owns nothing else on this machine


@pytest.fixture
def tree(tmp_path, require_root):
    """A build directory as the sandbox leaves it: everything the builder's."""
    build = tmp_path / "build"
    (build / "bin").mkdir(parents=True)
    (build / "bin" / "tool").write_text("#!/bin/sh\n")
    (build / "bin" / "tool").chmod(0o4777)  # setuid and world-writable: both must go
    (build / "requirements.lock.txt").write_text("six==1.17.0\n")
    os.symlink("/usr/bin/python3", build / "bin" / "python")
    for path in [build, *build.rglob("*")]:
        os.chown(path, BUILDER_UID, BUILDER_UID, follow_symlinks=False)
    return build


def test_take_over_makes_everything_root_owned_and_drops_dangerous_bits(tree):
    handover.take_over(tree, BUILDER_UID, allowed_files=("requirements.lock.txt",))
    for path in [tree, *tree.rglob("*")]:
        info = path.lstat()
        assert (info.st_uid, info.st_gid) == (0, 0), path
    mode = stat.S_IMODE((tree / "bin" / "tool").stat().st_mode)
    assert mode == 0o755
    assert os.readlink(tree / "bin" / "python") == "/usr/bin/python3"  # links kept as they are


def test_a_planted_completion_marker_link_is_refused_and_nothing_is_written(tree, tmp_path):
    victim = tmp_path / "etc-some-file"
    os.symlink(victim, tree / COMPLETE_MARKER)
    os.chown(tree / COMPLETE_MARKER, BUILDER_UID, BUILDER_UID, follow_symlinks=False)
    assert not is_complete(tree)  # a link never counts as complete
    with pytest.raises(BuilderError, match="a name Hubstead keeps for itself"):
        handover.take_over(tree, BUILDER_UID)
    assert not victim.exists() and not victim.is_symlink()


def test_a_linked_directory_is_not_followed(tree, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("x")
    os.chown(outside / "secret", BUILDER_UID, BUILDER_UID)
    os.symlink(outside, tree / "lib")
    os.chown(tree / "lib", BUILDER_UID, BUILDER_UID, follow_symlinks=False)
    handover.take_over(tree, BUILDER_UID)
    assert (outside / "secret").stat().st_uid == BUILDER_UID  # root did not walk into it
    assert (tree / "lib").lstat().st_uid == 0


def test_a_hard_link_to_a_file_the_build_did_not_make_is_refused(tree, tmp_path):
    foreign = tmp_path / "world-writable"
    foreign.write_text("root's\n")
    foreign.chmod(0o666)
    os.link(foreign, tree / "bin" / "stolen")
    with pytest.raises(BuilderError, match="which it did not make"):
        handover.take_over(tree, BUILDER_UID)
    assert stat.S_IMODE(foreign.stat().st_mode) == 0o666 and foreign.stat().st_uid == 0


def test_a_fifo_is_refused(tree):
    os.mkfifo(tree / "bin" / "pipe")
    os.chown(tree / "bin" / "pipe", BUILDER_UID, BUILDER_UID)
    with pytest.raises(BuilderError, match="a fifo at ./bin/pipe"):
        handover.take_over(tree, BUILDER_UID)


def test_a_lock_file_that_is_a_link_is_refused(tree):
    (tree / "requirements.lock.txt").unlink()
    os.symlink("../../default/current/requirements.lock.txt", tree / "requirements.lock.txt")
    with pytest.raises(BuilderError, match="requirements.lock.txt is not a plain file"):
        handover.take_over(tree, BUILDER_UID, allowed_files=("requirements.lock.txt",))


def test_write_new_never_reuses_a_name(tmp_path):
    (tmp_path / "info.json").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        handover.write_new(tmp_path, "info.json", b"{}")
    assert not (tmp_path / "elsewhere").exists()
    handover.write_new(tmp_path, "fresh", b"data")
    assert (tmp_path / "fresh").read_bytes() == b"data"


def test_read_regular_refuses_a_fifo_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "spec")
    with pytest.raises(BuilderError, match="not a plain file"):
        handover.read_regular(tmp_path, "spec")


def test_env_show_reads_no_metadata_a_build_linked_outside(tmp_path):
    """`hubstead env show` runs as root over trees a repository's code made."""
    from hubstead.envs.inspect import packages

    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (site / "real-1.0.dist-info").mkdir(parents=True)
    (site / "real-1.0.dist-info" / "METADATA").write_text("Name: real\nVersion: 1.0\n")
    (site / "zero-1.0.dist-info").mkdir()
    (site / "zero-1.0.dist-info" / "METADATA").symlink_to("/dev/zero")  # would never end
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "METADATA").write_text("Name: secret\nVersion: 9\n")
    (site / "away-1.0.dist-info").symlink_to(outside)
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "bad.json").symlink_to("/etc/passwd")
    assert packages(tmp_path) == [{"name": "real", "version": "1.0", "source": "pypi"}]
