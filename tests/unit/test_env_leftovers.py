"""Half-made environments and environments in use, without a hub: a failed or killed
first build is no environment and leaves nothing for the next run; `env remove` refuses
while servers run from it; which servers those are, from systemd's unit properties."""

import fcntl
import os

import pytest

from hubstead import paths
from hubstead.envs import COMPLETE_MARKER, EnvError, inspect, manage, store


@pytest.fixture
def envs_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path)
    return tmp_path


def complete_build(directory, build_id):
    (directory / build_id / "bin").mkdir(parents=True)
    (directory / build_id / COMPLETE_MARKER).write_text("")


def test_an_environment_whose_first_build_did_not_finish_does_not_exist(envs_dir):
    (envs_dir / "half" / "pypi-0123456789ab" / "bin").mkdir(parents=True)  # uv was killed here
    (envs_dir / "half" / ".staging-x1y2").mkdir()
    with pytest.raises(EnvError, match=r"no environment named 'half': its first build is running, failed or "
                                       r"was interrupted; run `hubstead env create half --file SPEC` again"):
        store.load("half")
    assert store.names() == []


def test_a_failed_first_build_leaves_no_directory(envs_dir, tmp_path_factory, monkeypatch):
    spec = tmp_path_factory.mktemp("spec") / "requirements.txt"
    spec.write_text("no-such-package\n")

    def unresolvable(spec_path, lock_path, **kwargs):
        raise EnvError("requirements.txt cannot be resolved: no-such-package was not found")

    monkeypatch.setattr(manage.pypi, "compile_lock", unresolvable)
    with pytest.raises(EnvError, match="cannot be resolved"):
        manage.create("course", spec)
    assert not (envs_dir / "course").exists()


def test_a_failed_update_keeps_the_environment(envs_dir, tmp_path_factory, monkeypatch):
    complete_build(envs_dir / "course", "b1")
    os.symlink("b1", envs_dir / "course" / "current")
    spec = tmp_path_factory.mktemp("spec") / "requirements.txt"
    spec.write_text("numpy\n")
    monkeypatch.setattr(manage.pypi, "compile_lock", lambda *a, **k: (_ for _ in ()).throw(EnvError("offline")))
    with pytest.raises(EnvError, match="offline"):
        manage.update("course", spec)
    assert store.load("course").current == "b1"


def test_leftovers_of_a_killed_build_are_cleared_and_finished_work_stays(envs_dir):
    directory = envs_dir / "course"
    complete_build(directory, "old")
    complete_build(directory, "b1")
    os.symlink("b1", directory / "current")
    (directory / "hubstead-env.json").write_text("{}")
    (directory / "half-built" / "lib").mkdir(parents=True)
    (directory / ".staging-abc" / "deep").mkdir(parents=True)
    os.symlink("half-built", directory / ".current-4242")
    (directory / ".hubstead-env.json.tmp").write_text("{")
    with manage.building("course"):
        pass
    assert sorted(entry.name for entry in directory.iterdir()) == ["b1", "current", "hubstead-env.json", "old"]


def test_one_build_at_a_time_per_environment(envs_dir):
    (envs_dir / "course").mkdir()
    descriptor = os.open(envs_dir / "course", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        (envs_dir / "course" / ".staging-running").mkdir()
        with pytest.raises(EnvError, match="'course' is being built by another `hubstead env` command"):
            with manage.building("course"):
                pass
        assert (envs_dir / "course" / ".staging-running").exists(), "a running build's files stay"
    finally:
        os.close(descriptor)


SHOW = """Id=jupyter-alice-singleuser.service
ExecStart={ path={envs}/course/b1/bin/jupyterhub-singleuser ; argv[]={envs}/course/b1/bin/jupyterhub-singleuser --debug ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }

Id=jupyter-bob-2-singleuser.service
ExecStart={ path={envs}/course/b2/bin/jupyterhub-singleuser ; argv[]={envs}/course/b2/bin/jupyterhub-singleuser ; ignore_errors=no }

Id=jupyter-carol-singleuser.service
ExecStart={ path={envs}/course-extra/b1/bin/jupyterhub-singleuser ; argv[]={envs}/course-extra/b1/bin/jupyterhub-singleuser ; ignore_errors=no }

Id=jupyter-dave-singleuser.service
ExecStart={ path={envs}/course/b1/bin/jupyterhub-singleuser ; argv[]={envs}/course/b1/bin/jupyterhub-singleuser ; ignore_errors=no }
"""


def test_which_users_run_which_build():
    text = SHOW.replace("{envs}", "/opt/hubstead/envs")
    assert inspect.builds_in_show(text, "/opt/hubstead/envs/course") == {"b1": ["alice", "dave"], "b2": ["bob-2"]}
    assert inspect.builds_in_show(text, "/opt/hubstead/envs/other") == {}


def test_remove_refuses_while_servers_run_from_the_environment(envs_dir, monkeypatch):
    complete_build(envs_dir / "course", "b1")
    os.symlink("b1", envs_dir / "course" / "current")
    monkeypatch.setattr(manage, "default_name", lambda: "default")
    monkeypatch.setattr(inspect, "servers_using", lambda name: {"b1": ["dave", "alice"]})
    with pytest.raises(EnvError, match=r"'course' is in use by the running server\(s\) of alice, dave; "
                                       r"nothing was deleted"):
        manage.remove("course")
    assert store.load("course").current == "b1"
    monkeypatch.setattr(inspect, "servers_using", lambda name: {})
    manage.remove("course")
    assert not (envs_dir / "course").exists()


def test_a_unit_of_a_derived_account_names_its_hub_user(monkeypatch):
    """A long or e-mail-like hub name runs as a derived account (usernames.unix_name);
    `env show` must name the hub user, which the account's comment records."""
    import pwd

    from hubstead.usernames import ACCOUNT_COMMENT, unix_name

    name = "ada.lovelace@example.org"
    account = unix_name(name)
    entries = {account: pwd.struct_passwd((account, "x", 1001, 1001, ACCOUNT_COMMENT + name, "/home/x", "/bin/bash"))}

    def getpwnam(login):
        if login not in entries:
            raise KeyError(login)
        return entries[login]

    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    assert inspect.user_of_unit(f"{account}-singleuser.service") == name
    assert inspect.user_of_unit("jupyter-bob-singleuser.service") == "bob"
