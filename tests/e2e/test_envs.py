"""Environments on an installed hub: create from a spec, pick one at spawn, update
safely, roll back, export. PyPI specs here; conda specs against a local channel live
in their own tests (no test may need conda-forge)."""

import json

import pytest
import requests

from tests.harness.hubcli import current_build, hubstead, new_user
from tests.harness.hubclient import KernelError

pytestmark = pytest.mark.e2e

PASSWORD = "Env-Tester-Pass-1"



@pytest.fixture(scope="module")
def figlet_env(installed_hub):
    installed_hub.container.write_file("/root/figlet.txt", "pyfiglet\n")
    hubstead(installed_hub, "env", "create", "figlet", "--file", "/root/figlet.txt",
             "--description", "ASCII art for the workshop")
    return "figlet"


@pytest.fixture(scope="module")
def learner(installed_hub):
    return new_user(installed_hub, "envtester")


def test_created_environment_is_listed_with_its_description(installed_hub, figlet_env):
    listed = {item["name"]: item for item in json.loads(hubstead(installed_hub, "env", "list", "--json").stdout)}
    assert listed["figlet"]["description"] == "ASCII art for the workshop"
    assert listed["default"]["default"] is True and listed["figlet"]["default"] is False
    shown = json.loads(hubstead(installed_hub, "env", "show", "figlet", "--json").stdout)
    names = {package["name"].lower() for package in shown["packages"]}
    assert {"pyfiglet", "jupyterhub", "jupyterlab", "ipykernel", "nbgitpuller"} <= names


def test_spawn_form_offers_each_environment_with_the_default_chosen(installed_hub, figlet_env, learner):
    page = learner.http.get(learner.url("hub/spawn"), timeout=30, allow_redirects=False)
    assert page.status_code == 200, page.status_code
    assert 'value="figlet"' in page.text and "ASCII art for the workshop" in page.text
    assert 'value="default" checked' in page.text


def test_user_picks_an_environment_through_the_api(installed_hub, figlet_env, learner):
    learner.stop_server()
    learner.start_server({"environment": "figlet"}, timeout=180)
    printed = learner.run_code("import pyfiglet, sys; print(sys.prefix)").strip()
    assert printed.startswith("/opt/hubstead/envs/figlet/")
    learner.stop_server()
    learner.start_server(timeout=180)
    with pytest.raises(KernelError, match="ModuleNotFoundError"):
        learner.run_code("import pyfiglet")
    learner.stop_server()


def test_unknown_environment_is_a_400_with_a_clear_message(installed_hub, figlet_env, learner):
    answer = requests.post(learner.url("hub/api/users/envtester/server"), json={"environment": "nope"},
                           headers={"Authorization": f"token {learner.token}"}, timeout=60)
    assert answer.status_code == 400
    assert "unknown environment 'nope'" in answer.json()["message"]
    assert "figlet" in answer.json()["message"]
    assert not learner.server_status().exists


def test_broken_update_keeps_the_old_build_serving(installed_hub, figlet_env, learner):
    hub = installed_hub
    before = current_build(hub, "figlet")
    learner.start_server({"environment": "figlet"}, timeout=180)
    for spec, phrase in [("no-such-package-hubstead-e2e\n", "cannot be resolved"),
                         ("jupyterhub==4.1.0\n", "need jupyterhub")]:
        hub.container.write_file("/root/broken.txt", spec)
        result = hubstead(hub, "env", "update", "figlet", "--file", "/root/broken.txt", check=False)
        assert result.returncode == 1 and phrase in result.stderr
        assert "Traceback" not in result.stderr
    assert current_build(hub, "figlet") == before
    assert learner.run_code("import pyfiglet; print('still here')").strip() == "still here"
    leftovers = hub.container.run("ls -a /opt/hubstead/envs/figlet | grep -c staging || true").stdout.strip()
    assert leftovers == "0", "a failed build leaves nothing behind"
    learner.stop_server()


def test_update_then_rollback(installed_hub, figlet_env, learner):
    hub = installed_hub
    first = current_build(hub, "figlet")
    hub.container.write_file("/root/figlet2.txt", "pyfiglet\nsix\n")
    hubstead(hub, "env", "update", "figlet", "--file", "/root/figlet2.txt")
    second = current_build(hub, "figlet")
    assert second != first
    learner.start_server({"environment": "figlet"}, timeout=180)
    assert learner.run_code("import six; print('six')").strip() == "six"
    learner.stop_server()
    hubstead(hub, "env", "rollback", "figlet")
    assert current_build(hub, "figlet") == first
    hubstead(hub, "env", "rollback", "figlet", "--to", second)
    assert current_build(hub, "figlet") == second


def test_export_reinstalls_the_same_package_set(installed_hub, figlet_env):
    hub = installed_hub
    exported = hubstead(hub, "env", "export", "figlet").stdout
    assert "--hash=sha256:" in exported and "pyfiglet==" in exported
    hub.container.write_file("/root/exported.txt", exported)
    uv = "/opt/hubstead/hub/bin/uv"
    hub.container.run(f"{uv} venv -q /root/pypi-replica && {uv} pip install -q --python /root/pypi-replica/bin/python "
                      "--require-hashes -r /root/exported.txt", env={"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
                      timeout=900)
    freeze = "{uv} pip freeze --python {prefix}/bin/python"
    replica = hub.container.run(freeze.format(uv=uv, prefix="/root/pypi-replica")).stdout
    original = hub.container.run(freeze.format(uv=uv, prefix="/opt/hubstead/envs/figlet/current")).stdout
    assert set(replica.split()) == set(original.split())


def test_default_environment_is_where_servers_start_unless_chosen(installed_hub, figlet_env, learner):
    hub = installed_hub
    hubstead(hub, "env", "default", "figlet")
    try:
        learner.start_server(timeout=180)
        assert learner.run_code("import sys; print(sys.prefix)").strip().startswith("/opt/hubstead/envs/figlet/")
        learner.stop_server()
        removal = hubstead(hub, "env", "remove", "figlet", "--yes", check=False)
        assert removal.returncode == 1 and "is the default environment" in removal.stderr
    finally:
        hubstead(hub, "env", "default", "default")
    listed = json.loads(hubstead(hub, "env", "list", "--json").stdout)
    assert [item["name"] for item in listed if item["default"]] == ["default"]
