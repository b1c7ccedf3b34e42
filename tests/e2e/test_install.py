"""The foundation, as a user meets it: install, sign up, approve, spawn, run code, re-run.

One container gets the README's install (the session's `installed_hub`); these tests
walk the issue's steps over HTTP from outside the container, like a browser would,
and look inside the container only to check what the machine should hold.
"""

import json
import time

import pytest

from tests.harness.hub import install_command, wait_for_http
from tests.harness.hubclient import HubUser, LoginFailed

pytestmark = pytest.mark.e2e

ALICE_PASSWORD = "Correct-Horse-42"
BOB_PASSWORD = "Battery-Staple-77"
DEFAULT_ENV = "/opt/hubstead/envs/default"


@pytest.fixture(scope="module")
def alice(installed_hub):
    user = HubUser(installed_hub.url)
    result = user.signup("alice", ALICE_PASSWORD)
    assert result.outcome == "created", f"alice, named at install, should be usable at once: {result}"
    user.login("alice", ALICE_PASSWORD)
    return user


@pytest.fixture(scope="module")
def bob(installed_hub, alice):
    """bob, signed up and approved by alice (the approval itself is tested with beth)."""
    HubUser(installed_hub.url).signup("bob", BOB_PASSWORD)
    alice.authorize("bob")
    # A browser of its own: bob's sign-up session may be logged in already, and the
    # login page of a logged-in user starts the server.
    user = HubUser(installed_hub.url)
    user.login("bob", BOB_PASSWORD)
    user.create_token("e2e")
    return user


@pytest.fixture(scope="module")
def bob_server(bob):
    bob.start_server(timeout=180)
    return bob


def unit_property(container, unit, name):
    return container.run(["systemctl", "show", "--property", name, "--value", unit]).stdout.strip()


def test_admin_named_at_install_is_an_admin_at_once(alice):
    assert alice.is_logged_in()
    assert alice.user_model()["admin"] is True


def test_new_user_waits_for_approval_then_logs_in(installed_hub, alice):
    user = HubUser(installed_hub.url)
    result = user.signup("beth", BOB_PASSWORD)
    assert result.outcome == "pending", result
    with pytest.raises(LoginFailed):
        HubUser(installed_hub.url).login("beth", BOB_PASSWORD)
    assert "beth" in alice.pending_users()
    alice.authorize("beth")
    assert "beth" not in alice.pending_users()
    user.login("beth", BOB_PASSWORD)
    assert user.is_logged_in()
    assert user.user_model()["admin"] is False


def test_server_runs_as_its_own_unix_user_in_its_own_unit(installed_hub, bob_server):
    container = installed_hub.container
    unit = "jupyter-bob-singleuser"
    assert container.run(["systemctl", "is-active", unit]).stdout.strip() == "active"
    uid = container.run(["id", "-u", "jupyter-bob"]).stdout.strip()
    assert unit_property(container, unit, "User") in ("jupyter-bob", uid)
    account = container.run(["getent", "passwd", "jupyter-bob"]).stdout.strip().split(":")
    assert account[5] == "/home/jupyter-bob"
    assert container.run(["stat", "-c", "%a %U", "/home/jupyter-bob"]).stdout.split() == ["700", "jupyter-bob"]
    groups = container.run(["id", "-nG", "jupyter-bob"]).stdout.split()
    assert not {"sudo", "jupyterhub-admins", "root"} & set(groups)


def test_jupyterlab_opens_and_a_kernel_runs_code_in_the_home(installed_hub, bob_server):
    build = installed_hub.container.run(["readlink", f"{DEFAULT_ENV}/current"]).stdout.strip()
    assert bob_server.lab_answers()
    printed = bob_server.run_code(
        "import os, sys, getpass\n"
        "print(os.getcwd()); print(getpass.getuser()); print(sys.prefix)\n"
        "open('notes.txt', 'w').write('kept')\n"
    ).split()
    assert printed[:2] == ["/home/jupyter-bob", "jupyter-bob"]
    assert printed[2] in (f"{DEFAULT_ENV}/current", f"{DEFAULT_ENV}/{build}"), "runs from the default env"


def test_learner_has_no_sudo(bob_server):
    printed = bob_server.run_code(
        "import subprocess\n"
        "r = subprocess.run(['sudo', '-n', 'true'], capture_output=True)\n"
        "print(r.returncode != 0)"
    )
    assert printed.strip() == "True"


def test_hub_restart_keeps_the_running_server(installed_hub, bob_server):
    container = installed_hub.container
    unit_pid = unit_property(container, "jupyter-bob-singleuser", "MainPID")
    cookie_secret = container.read_file("/var/lib/hubstead/jupyterhub_cookie_secret")
    bob_server.run_code("open('notes.txt', 'w').write('kept')")
    container.run(["systemctl", "restart", "jupyterhub"])
    wait_for_http(f"{installed_hub.url}/hub/api", timeout=60)
    assert unit_property(container, "jupyter-bob-singleuser", "MainPID") == unit_pid
    assert bob_server.server_status().ready
    assert bob_server.run_code("print(open('notes.txt').read())").strip() == "kept"
    assert bob_server.is_logged_in(), "the persisted cookie secret keeps sessions valid"
    assert container.read_file("/var/lib/hubstead/jupyterhub_cookie_secret") == cookie_secret


def test_the_machine_matches_the_design(installed_hub, bob_server):
    container = installed_hub.container
    for unit in ("jupyterhub", "configurable-http-proxy"):
        assert container.run(["systemctl", "is-enabled", unit]).stdout.strip() == "enabled"
        assert container.run(["systemctl", "is-active", unit]).stdout.strip() == "active"
    assert unit_property(container, "configurable-http-proxy", "User") == "hubstead-proxy"
    assert container.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "node-configurable-http-proxy"]
                         ).stdout == "installed"
    for secret in ("jupyterhub_cookie_secret", "proxy.env", "network.env", "web_cookie_secret"):
        mode = container.run(["stat", "-c", "%a %U", f"/var/lib/hubstead/{secret}"]).stdout.split()
        assert mode == ["600", "root"], secret
    # bootstrap.py gives every tool the system CA bundle; the hub's services get it too.
    hub_pid = unit_property(container, "jupyterhub", "MainPID")
    hub_environment = container.read_file(f"/proc/{hub_pid}/environ").split("\0")
    assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in hub_environment
    assert container.run(["stat", "-c", "%a", "/var/lib/hubstead"]).stdout.strip() == "700"
    assert container.path_exists("/var/lib/hubstead/jupyterhub.sqlite")
    config = container.read_file("/etc/hubstead/config.yaml")
    assert "alice" in config and str(installed_hub.port) in config
    assert container.run(["readlink", f"{DEFAULT_ENV}/current"]).stdout.strip().startswith("pypi-")
    assert container.run(["hubstead", "--version"]).returncode == 0, "hubstead is on PATH"


def test_hub_venv_holds_exactly_the_locked_versions(installed_hub):
    import re
    from pathlib import Path

    lock = (Path(__file__).resolve().parents[2] / "locks" / "hub.txt").read_text()
    wanted = {}
    for name, version, marker in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)(?: ; ([^\\\n]+))?", lock, re.M):
        if not marker or "< '3.11'" not in marker:  # the container runs Python 3.11
            wanted[name.lower().replace("_", "-")] = version
    listing = installed_hub.container.run(
        ["/opt/hubstead/hub/bin/uv", "pip", "list", "--python", "/opt/hubstead/hub/bin/python",
         "--format", "json"]).stdout
    installed = {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(listing)}
    for name in ("jupyterhub", "jupyterhub-systemdspawner", "jupyterhub-nativeauthenticator",
                 "ansible-core", "ansible-runner"):
        assert installed[name] == wanted[name], name
    assert installed["hubstead"]


def test_rerunning_the_install_changes_nothing_and_keeps_everything(installed_hub, bob_server):
    container = installed_hub.container
    hub_pid = unit_property(container, "jupyterhub", "MainPID")
    server_pid = unit_property(container, "jupyter-bob-singleuser", "MainPID")
    bob_server.run_code("open('notes.txt', 'w').write('kept')")
    started = time.monotonic()
    rerun = container.run(install_command(installed_hub.port, installed_hub.hub_port,
                                          installed_hub.proxy_api_port, installed_hub.web_port), timeout=600)
    print(f"no-op re-run: {time.monotonic() - started:.1f} s")
    assert "Nothing changed" in rerun.stdout + rerun.stderr
    assert unit_property(container, "jupyterhub", "MainPID") == hub_pid, "the hub kept running"
    assert unit_property(container, "jupyter-bob-singleuser", "MainPID") == server_pid
    assert bob_server.run_code("print(open('notes.txt').read())").strip() == "kept"
    HubUser(installed_hub.url).login("bob", BOB_PASSWORD)


def test_check_shows_what_would_change_and_changes_nothing(installed_hub):
    container = installed_hub.container
    before = container.read_file("/etc/hubstead/config.yaml")
    ports = ["--http-port", str(installed_hub.port), "--hub-port", str(installed_hub.hub_port),
             "--proxy-api-port", str(installed_hub.proxy_api_port)]
    same = container.run(["hubstead", "install", "--check", *ports], timeout=300)
    assert "Nothing would change." in same.stderr
    other = container.run(["hubstead", "install", "--check", *ports[2:], "--http-port", "1",
                           "--admin", "carol"], timeout=300)
    output = other.stderr
    assert "would set: http.port" in output and "would set: users.admin" in output
    assert "nothing was changed" in output
    assert container.read_file("/etc/hubstead/config.yaml") == before
    assert "--port=1 " not in container.read_file("/etc/systemd/system/configurable-http-proxy.service")
    wait_for_http(f"{installed_hub.url}/hub/api", timeout=10)
