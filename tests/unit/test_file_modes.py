"""Files root leaves behind are root's alone: the installer's log and uv's lock in an
environment (issue 17, item 7). Run as root, as the suite does."""

import importlib.util
import os
import stat
from pathlib import Path

import pytest

from hubstead.envs import pypi

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def load_bootstrap():
    spec = importlib.util.spec_from_file_location("bootstrap_for_modes", REPO / "bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask():
    """The umask a root shell often has (022) would give 0644; be sure it is not what saves us."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_the_bootstrap_log_is_created_root_only(tmp_path, open_umask):
    bootstrap = load_bootstrap()
    log = tmp_path / "hubstead-bootstrap.log"
    bootstrap.run(["echo", "secret-ish output"], dict(os.environ), str(log), "Echo")
    assert mode(log) == 0o600
    assert "secret-ish output" in log.read_text()


def test_an_existing_world_readable_bootstrap_log_is_made_root_only(tmp_path, open_umask):
    bootstrap = load_bootstrap()
    log = tmp_path / "hubstead-bootstrap.log"
    log.write_text("from an older install\n")
    log.chmod(0o644)
    bootstrap.run(["true"], dict(os.environ), str(log), "True")
    assert mode(log) == 0o600
    assert log.read_text().startswith("from an older install\n"), "appended, not replaced"


def test_a_symlink_in_place_of_the_bootstrap_log_is_not_followed(tmp_path):
    bootstrap = load_bootstrap()
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    target.chmod(0o644)
    (tmp_path / "hubstead-bootstrap.log").symlink_to(target)
    with pytest.raises(OSError):
        bootstrap.run(["true"], dict(os.environ), str(tmp_path / "hubstead-bootstrap.log"), "True")
    assert target.read_text() == "keep\n" and mode(target) == 0o644


def test_uvs_lock_in_an_environment_is_made_root_only(tmp_path):
    prefix = tmp_path / "build"
    prefix.mkdir()
    lock = prefix / ".lock"
    lock.write_text("")
    lock.chmod(0o666)  # as uv leaves it
    pypi.restrict_uv_lock(prefix)
    assert mode(lock) == 0o600 and os.lstat(lock).st_uid == os.geteuid()
    pypi.restrict_uv_lock(tmp_path / "no-lock-here")  # nothing to do is fine


def test_uvs_lock_is_not_followed_when_it_is_a_symlink(tmp_path):
    prefix = tmp_path / "build"
    prefix.mkdir()
    other = tmp_path / "other"
    other.write_text("")
    other.chmod(0o644)
    (prefix / ".lock").symlink_to(other)
    with pytest.raises(OSError):
        pypi.restrict_uv_lock(prefix)
    assert mode(other) == 0o644


def test_an_existing_environment_gets_its_lock_fixed_when_the_installer_runs_again(tmp_path, monkeypatch):
    """The upgrade path: `python -m hubstead.envs.pypi default LOCK` finds the build complete."""
    from hubstead import paths
    from hubstead.envs import mark_complete

    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path / "envs")
    monkeypatch.setattr(pypi, "python_version", lambda python: "3.11.2")
    lock_file = tmp_path / "requirements.txt"
    lock_file.write_text("six==1.16.0 --hash=sha256:00\n")
    build = pypi.build_id(lock_file.read_text(), "3.11.2")
    target = tmp_path / "envs" / "default" / build
    target.mkdir(parents=True)
    mark_complete(target)
    (tmp_path / "envs" / "default" / "current").symlink_to(build)
    (target / ".lock").write_text("")
    (target / ".lock").chmod(0o666)
    assert pypi.ensure("default", lock_file) == (False, build)
    assert mode(target / ".lock") == 0o600
