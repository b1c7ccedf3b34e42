"""Environments after a Debian release upgrade changed the system's Python
(envs/python_change.py), with real uv venvs from PyPI in a temporary ENVS_DIR.

This machine has one Python, so an environment "made on the old Python" is set up as
the upgrade leaves it: its pyvenv.cfg names another version (all the check reads) and
its build id is not the one this Python gives the same lock (build ids embed the
Python). tests/e2e/test_debian_upgrade.py does it for real, bookworm to trixie.
"""

from __future__ import annotations

import subprocess

import pytest

from hubstead import paths
from hubstead.builder import records
from hubstead.envs import COMPLETE_MARKER, current_build, is_complete, pypi, python_change, store, switch_current


@pytest.fixture
def envs(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path / "envs")
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path / "state")
    (tmp_path / "state").mkdir()
    return tmp_path


def old_python_env(tmp_path, name, spec_text):
    """Environment NAME from spec_text, built, then made to look built by Python 3.9."""
    spec = tmp_path / f"{name}-requirements.txt"
    spec.write_text(spec_text)
    lock = pypi.compile_lock(spec, tmp_path / f"{name}.lock.txt", server_packages=False)
    _, build = pypi.ensure(name, lock, installer=False)
    directory = paths.ENVS_DIR / name
    store.record_build(directory / build, "pypi", spec, lock)
    store.update_env_info(name, admin_managed=True)  # as `hubstead env create` marks it
    old = "pypi-old3dot9abc"
    (directory / build).rename(directory / old)
    switch_current(directory, old)
    config = directory / old / "pyvenv.cfg"
    config.write_text("".join(line if not line.startswith("version") else "version_info = 3.9.18\n"
                              for line in config.read_text().splitlines(keepends=True)))
    return old


def imports(name, module):
    python = paths.ENVS_DIR / name / "current" / "bin" / "python"
    return subprocess.run([str(python), "-c", f"import {module}"], capture_output=True).returncode == 0


def test_an_environment_of_the_old_python_is_built_again_and_the_old_build_is_kept(envs):
    old = old_python_env(envs, "lesson", "six==1.16.0\n")
    system = python_change.system_python()
    assert python_change.outdated_environments() == [("lesson", store.load("lesson").builds[0])]
    results = python_change.rebuild_outdated(report=lambda message: None)
    new = current_build(paths.ENVS_DIR / "lesson")
    assert results == {"lesson": new} and new != old
    assert python_change.venv_python(paths.ENVS_DIR / "lesson" / new) == system
    assert imports("lesson", "six")
    assert is_complete(paths.ENVS_DIR / "lesson" / old), "the old build stays"
    assert python_change.outdated_environments() == []
    assert python_change.rebuild_outdated(report=lambda message: None) == {}, "a second install does nothing"


def test_a_repository_s_build_is_left_to_its_next_launch(envs):
    old = old_python_env(envs, "binder-course-abc123", "six==1.16.0\n")
    records.add(repo="https://git.example/course", ref="main", commit_id="a" * 40, cache_key="k",
                env="binder-course-abc123", kind="pypi", requested_by="ann", build=old, state="succeeded")
    said = []
    results = python_change.rebuild_outdated(report=said.append)
    assert results["binder-course-abc123"].startswith("built from a repository: its next launch builds it again")
    assert current_build(paths.ENVS_DIR / "binder-course-abc123") == old
    assert said and "next launch" in said[0]


def test_an_environment_that_cannot_be_built_again_is_named_and_left_as_it_was(envs):
    old = old_python_env(envs, "broken", "six==1.16.0\n")
    build_dir, kept = paths.ENVS_DIR / "broken" / old, store.load("broken").builds[0]
    (build_dir / kept.lock_file).write_text("no-such-package-hubstead==1.0 --hash=sha256:" + "0" * 64 + "\n")
    (build_dir / kept.spec_file).write_text("no-such-package-hubstead==1.0\n")
    results = python_change.rebuild_outdated(report=lambda message: None)
    assert results["broken"].startswith("not rebuilt: ")
    assert "no-such-package-hubstead" in results["broken"]
    assert current_build(paths.ENVS_DIR / "broken") == old
    builds = [path.name for path in (paths.ENVS_DIR / "broken").iterdir() if path.is_dir() and not path.is_symlink()]
    assert builds == [old], "nothing half-made is left beside the old build"


def test_conda_and_plain_directories_are_never_outdated(tmp_path):
    (tmp_path / "conda-build").mkdir()
    assert python_change.venv_python(tmp_path / "conda-build") is None
    assert not python_change.outdated(tmp_path / "conda-build", "3.13")
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.2\n")
    assert python_change.venv_python(tmp_path / "venv") == "3.11"
    assert python_change.outdated(tmp_path / "venv", "3.13") and not python_change.outdated(tmp_path / "venv", "3.11")


def test_an_environment_whose_current_build_is_incomplete_is_skipped_not_fatal(envs):
    """The install calls this after the roles ran: one odd environment must not stop it."""
    old = old_python_env(envs, "odd", "six==1.16.0\n")
    (paths.ENVS_DIR / "odd" / old / COMPLETE_MARKER).unlink()
    assert not is_complete(paths.ENVS_DIR / "odd" / old)
    assert python_change.outdated_environments() == []
    assert python_change.rebuild_outdated(report=lambda message: None) == {}


def test_an_environment_not_made_by_hubstead_env_is_not_installed_as_root(envs):
    """A repository's build whose builder record is gone holds the repository's lock: it is
    named for an admin, never installed by root from that lock."""
    old = old_python_env(envs, "binder-orphan-abc123", "six==1.16.0\n")
    store.update_env_info("binder-orphan-abc123", admin_managed=False)
    results = python_change.rebuild_outdated(report=lambda message: None)
    assert results["binder-orphan-abc123"].startswith("not rebuilt: not made by `hubstead env`")
    assert current_build(paths.ENVS_DIR / "binder-orphan-abc123") == old
