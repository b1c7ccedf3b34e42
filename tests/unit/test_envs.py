"""The environment store (builds, current, rollback, prune, removal) and server-package pins."""

import json
import os
import re
from pathlib import Path

import pytest

from hubstead import paths
from hubstead.envs import COMPLETE_MARKER, EnvError, server, store
from hubstead.envs.manage import spec_kind

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def envs_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path)
    return tmp_path


def make_build(root, name, build_id, created, complete=True):
    build = root / name / build_id
    (build / "bin").mkdir(parents=True)
    spec = root / "requirements.txt"
    spec.write_text("numpy\n")
    lock = root / "requirements.lock.txt"
    lock.write_text("numpy==2.0 --hash=sha256:00\n")
    if complete:
        store.record_build(build, "pypi", spec, lock)
        (build / COMPLETE_MARKER).write_text("")
        info = json.loads((build / store.BUILD_INFO).read_text())
        (build / store.BUILD_INFO).write_text(json.dumps({**info, "created": created}))
    return build


def test_builds_are_listed_oldest_first_and_current_is_marked(envs_dir):
    for number, created in (("b1", 100), ("b2", 200), ("b3", 300)):
        make_build(envs_dir, "course", number, created)
    os.symlink("b2", envs_dir / "course" / "current")
    environment = store.load("course")
    assert [build.id for build in environment.builds] == ["b1", "b2", "b3"]
    assert environment.current == "b2" and [b.id for b in environment.builds if b.current] == ["b2"]
    assert store.names() == ["course"]
    assert store.build_prefix("course") == envs_dir / "course" / "b2"


def test_incomplete_builds_and_half_made_environments_are_invisible(envs_dir):
    make_build(envs_dir, "course", "b1", 100)
    make_build(envs_dir, "course", "b2", 200, complete=False)
    os.symlink("b1", envs_dir / "course" / "current")
    (envs_dir / "half").mkdir()  # no current build: not an environment yet
    assert [build.id for build in store.load("course").builds] == ["b1"]
    assert store.names() == ["course"]
    assert store.prune("course", keep=0) == []
    assert not (envs_dir / "course" / "b2").exists(), "prune sweeps what an interrupted build left"


def test_rollback_goes_to_the_previous_build_or_the_one_named(envs_dir):
    for number, created in (("b1", 100), ("b2", 200), ("b3", 300)):
        make_build(envs_dir, "course", number, created)
    os.symlink("b3", envs_dir / "course" / "current")
    assert store.rollback("course") == "b2"
    assert os.readlink(envs_dir / "course" / "current") == "b2"
    assert store.rollback("course", "b3") == "b3"
    with pytest.raises(EnvError, match="has no build 'b9'"):
        store.rollback("course", "b9")
    store.rollback("course", "b1")
    with pytest.raises(EnvError, match="no build older than b1"):
        store.rollback("course")


def test_prune_keeps_current_newest_and_builds_in_use(envs_dir):
    for number, created in (("b1", 100), ("b2", 200), ("b3", 300), ("b4", 400)):
        make_build(envs_dir, "course", number, created)
    os.symlink("b2", envs_dir / "course" / "current")
    assert store.prune("course", keep=1, in_use={"b1"}) == ["b3"]
    assert [build.id for build in store.load("course").builds] == ["b1", "b2", "b4"]


def test_remove_and_unknown_names(envs_dir):
    make_build(envs_dir, "course", "b1", 100)
    os.symlink("b1", envs_dir / "course" / "current")
    store.remove("course")
    assert not (envs_dir / "course").exists() and store.names() == []
    with pytest.raises(EnvError, match="no environment named 'course'"):
        store.load("course")
    with pytest.raises(EnvError, match="lowercase letters"):
        store.load("Bad Name")


@pytest.mark.parametrize("lines, phrase", [
    (["jupyterhub==4.1.0"], "environments of this hub need jupyterhub"),
    (["jupyterhub<5"], "remove the pin"),
    (["jupyterlab==3.6.1"], "needs jupyterlab>=4,<5"),
])
def test_incompatible_server_pins_are_refused(lines, phrase):
    with pytest.raises(EnvError, match=phrase):
        server.check_pins(server.requirement_names(lines))


def test_compatible_pins_pass_and_missing_server_packages_are_added():
    requirements = server.requirement_names(["numpy>=2  # arrays", "JupyterLab~=4.2", "-r other.txt", "",
                                             "jupyterhub==5.5.*"])
    server.check_pins(requirements)
    added = server.missing_server_requirements(requirements)
    assert added == [server.SERVER_PACKAGES[name] for name in ("ipykernel", "nbgitpuller", "notebook", "pip")]


def test_server_version_matches_the_hub_and_default_locks():
    """Every environment's jupyterhub-singleuser must be the hub's own version."""
    hub_lock = (REPO / "locks" / "hub.txt").read_text()
    default_lock = (REPO / "installer/hubstead/envs/default/requirements.txt").read_text()
    for text in (hub_lock, default_lock):
        assert re.search(rf"^jupyterhub=={re.escape(server.HUB_VERSION)} ", text, re.M)


@pytest.mark.parametrize("name, kind", [("environment.yml", "conda"), ("env.yaml", "conda"),
                                        ("requirements.txt", "pypi")])
def test_spec_kind(name, kind):
    assert spec_kind(name) == kind


def test_unknown_spec_kind_is_explained():
    with pytest.raises(EnvError, match="use an environment.yml"):
        spec_kind("Pipfile")


class _Name:
    def __init__(self, name):
        self.normalized = name


class _Record:
    """Just the two fields check_conda_server_versions reads from a rattler record."""

    def __init__(self, name, version):
        self.name, self.version = _Name(name), version


@pytest.mark.parametrize("records, phrase", [
    ([_Record("jupyterhub", "4.1.5")], "jupyterhub 4.1.5"),
    ([_Record("jupyterlab", "3.6.0")], "jupyterlab 3.6.0"),
])
def test_conda_part_with_unusable_server_versions_is_refused(records, phrase):
    from hubstead.envs import condabuild

    with pytest.raises(EnvError, match=phrase):
        condabuild.check_conda_server_versions(records, "environment.yml")


def test_conda_part_with_usable_server_versions_passes():
    from hubstead.envs import condabuild

    condabuild.check_conda_server_versions(
        [_Record("jupyterhub", server.HUB_VERSION), _Record("jupyterlab", "4.2.5"), _Record("numpy", "2.0")],
        "environment.yml")


def test_environment_info_is_merged_not_replaced(envs_dir):
    """A new description must not drop the admin's ownership (the installer would then
    take the environment back on its next run)."""
    store.update_env_info("course", admin_managed=True)
    store.set_description("course", "week 2")
    assert store.env_info("course") == {"admin_managed": True, "description": "week 2"}
