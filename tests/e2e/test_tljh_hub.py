"""TLJH's integration-tests/test_hub.py, ported to Hubstead (issue 10), on the shared hub.

Translated: `sudo tljh-config` stays `sudo tljh-config` (Hubstead installs it), and its
`reload` is spelled `reload hub`, which is what TLJH's reload without a component does
(Hubstead's bare `reload` re-runs the whole install); the hub at http://localhost is the
shared hub's address (its own port); TLJH's
`tljh.normalize.generate_system_username` is `hubstead.usernames.unix_name`.
Logging in: TLJH's tests switch the hub to `auth.type dummy` (anyone in, any password)
and log in through hubtraf. Hubstead keeps its NativeAuthenticator here: `dummy` needs
an explicit insecure confirmation and would open the shared hub to anyone while the
suite runs. So each test makes its user with `hubstead user add` (a password, approved)
and logs in with it; the rest of each test (config, reload, spawn, what it asserts) is
TLJH's. Each test puts back the config it changed (TLJH's preserve_config).

The culling tests set services.cull.max_age, which (in jupyterhub-idle-culler, as under
TLJH) also removes from the hub every user older than that without a running server,
admins included; putting the config back restarts the hub, which makes users.admin's
accounts again (their files and passwords are untouched).
"""

import secrets
import time

import pytest
import requests
from packaging.version import Version as V

from hubstead.usernames import unix_name
from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser
from tests.harness.tljh import (group_members, new_name, passwd_exists, preserved_config, remove_user,
                                tljh_config, wait_for)

pytestmark = pytest.mark.e2e

SPAWN_TIMEOUT = 150  # TLJH's 60 s; a first spawn on the shared 2-core machine may take longer


@pytest.fixture
def hub(installed_hub):
    with preserved_config(installed_hub):
        yield installed_hub


@pytest.fixture
def made_users(installed_hub):
    """Names a test made; removed (with their files) afterwards."""
    names = []
    yield names
    for name in names:
        remove_user(installed_hub, name)


def login(hub, name, base_url=""):
    """The user NAME, made now, logged in (TLJH: a dummy-authenticator login)."""
    password = hubstead(hub, "user", "add", name).stdout.strip()
    user = HubUser(hub.url + base_url)
    user.login(name, password)
    return user


def test_hub_up(installed_hub):
    """Ports test_hub_up."""
    r = requests.get(installed_hub.url, proxies={"http": None})
    r.raise_for_status()


def test_hub_version(installed_hub):
    """Ports test_hub_version."""
    r = requests.get(installed_hub.url + "/hub/api", proxies={"http": None})
    r.raise_for_status()
    info = r.json()
    assert V("5.1") <= V(info["version"]) <= V("6")


def test_user_code_execute(hub, made_users):
    """Ports test_user_code_execute: User logs in, starts a server & executes code."""
    username = new_name()
    made_users.append(username)
    assert 0 == tljh_config(hub, "reload", "hub").returncode
    u = login(hub, username)
    u.start_server(timeout=SPAWN_TIMEOUT)
    assert u.run_code("5 * 4") == "20"


def test_user_server_started_with_custom_base_url(hub, made_users):
    """Ports test_user_server_started_with_custom_base_url: User logs in, starts a server
    with a custom base_url & executes code."""
    base_url = "/custom-base"
    username = new_name()
    made_users.append(username)
    assert 0 == tljh_config(hub, "set", "base_url", base_url).returncode
    assert 0 == tljh_config(hub, "reload", "hub").returncode

    u = login(hub, username, base_url)
    u.start_server(timeout=SPAWN_TIMEOUT)
    # Beyond TLJH: the server, its kernel and hubstead's own pages are under the prefix too.
    assert u.run_code("5 * 4") == "20"
    assert u.server_url().startswith(f"{hub.url}{base_url}/user/")
    # A learner gets the instructors' page's 403, which names who may use it (after the
    # service's OAuth hand-shake with the hub, which the first answer's 302 starts).
    service = u.http.get(u.url("services/hubstead/"), timeout=30)
    assert service.status_code == 403 and "This page is for instructors" in service.text, service.status_code
    assert requests.get(f"{hub.url}{base_url}/hub/api", proxies={"http": None}).status_code == 200

    # unset base_url to avoid problems with other tests
    assert 0 == tljh_config(hub, "unset", "base_url").returncode
    assert 0 == tljh_config(hub, "reload", "hub").returncode


def test_user_admin_add(hub, made_users):
    """Ports test_user_admin_add: User is made an admin, logs in and we check if they are
    in admin group."""
    username = new_name()
    made_users.append(username)
    assert 0 == tljh_config(hub, "add-item", "users.admin", username).returncode
    assert 0 == tljh_config(hub, "reload", "hub").returncode

    u = login(hub, username)
    u.start_server(timeout=SPAWN_TIMEOUT)

    # Assert that the user exists
    assert passwd_exists(hub, f"jupyter-{username}")

    # Assert that the user has admin rights
    assert f"jupyter-{username}" in group_members(hub, "jupyterhub-admins")


def test_long_username(hub, made_users):
    """Ports test_long_username: User with a long name logs in, and we check if their
    name is properly truncated. Here with TLJH's own `auth.type dummy` (after Hubstead's
    insecure confirmation): NativeAuthenticator's sign-ups keep names to 24 characters,
    a login server's names may be long. (Hubstead's names start with a letter: 'u' + 63 hex.)"""
    username = "u" + secrets.token_hex(32)[1:]
    made_users.append(username)
    assert 0 == tljh_config(hub, "set", "auth.allow_insecure_dummy", "true").returncode
    assert 0 == tljh_config(hub, "set", "auth.type", "dummy").returncode
    assert 0 == tljh_config(hub, "reload", "hub").returncode

    try:
        u = HubUser(hub.url)
        u.login(username, "any password: dummy")
        u.start_server(timeout=SPAWN_TIMEOUT)

        # Assert that the user exists
        system_username = unix_name(username)
        assert passwd_exists(hub, system_username)
        # Beyond TLJH: the name is cut to fit, and shown where the operator looks for it.
        assert len(system_username) <= 32 and system_username != f"jupyter-{username}"
        assert system_username in hubstead(hub, "user", "list", "--json").stdout

        u.stop_server()
    except Exception:
        # If we have any errors, print the hub's logs before exiting
        print(hub.container.journal("jupyterhub"))
        raise
    finally:
        hub.container.run(["userdel", "--remove", unix_name(username)], check=False)


def test_user_group_adding(hub, made_users):
    """Ports test_user_group_adding: User logs in, and we check if they are added to the
    specified group."""
    username = new_name()
    made_users.append(username)
    # Create the group we want to add the user to
    hub.container.run(["groupadd", "somegroup"])
    try:
        assert 0 == tljh_config(hub, "add-item", "users.extra_user_groups.somegroup", username).returncode
        assert 0 == tljh_config(hub, "reload", "hub").returncode

        u = login(hub, username)
        u.start_server(timeout=SPAWN_TIMEOUT)

        # Assert that the user exists
        system_username = unix_name(username)
        assert passwd_exists(hub, system_username)

        # Assert that the user was added to the specified group
        assert f"jupyter-{username}" in group_members(hub, "somegroup")

        u.stop_server()
    except Exception:
        print(hub.container.journal("jupyterhub"))
        raise
    finally:
        # Delete the group
        hub.container.run(["groupdel", "somegroup"], check=False)


def culling(hub, max_age):
    """TLJH's culler settings for the two culling tests, applied."""
    # Check every 5s for idle servers to cull
    assert 0 == tljh_config(hub, "set", "services.cull.every", "5").returncode
    # Apart from servers, also cull users
    assert 0 == tljh_config(hub, "set", "services.cull.users", "True").returncode
    # Cull servers and users after a while, regardless of activity
    assert 0 == tljh_config(hub, "set", "services.cull.max_age", str(max_age)).returncode
    assert 0 == tljh_config(hub, "reload", "hub").returncode


def reach_server(u):
    """The server's /api/status with the browser's cookies (the OAuth dance done first,
    as hubtraf's ensure_server_simulate does)."""
    assert u.lab_answers()
    user_url = u.server_url("api/status")
    r = u.http.get(user_url, allow_redirects=False, timeout=30)
    assert r.status_code == 200
    return user_url


def test_idle_server_culled(hub, made_users):
    """Ports test_idle_server_culled: User logs in, starts a server & stays idle for a
    while (the user's server should be culled during this period)."""
    username = new_name()
    made_users.append(username)
    culling(hub, 15)

    u = login(hub, username)
    u.start_server(timeout=SPAWN_TIMEOUT)
    # Assert that the user exists
    assert passwd_exists(hub, f"jupyter-{username}")

    # Check that we can get to the user's server
    user_url = reach_server(u)

    # Check that we can talk to JupyterHub itself
    # use this as a proxy for whether the user still exists
    def hub_api_request():
        return u.api("GET", "user", check=False, allow_redirects=False)

    assert hub_api_request().status_code == 200

    # Wait for culling
    # step 1: check if the server is still running
    timeout = 30

    def server_stopped():
        """Has the server been stopped?"""
        return u.http.get(user_url, allow_redirects=False, timeout=30).status_code != 200

    wait_for("Server still running!", server_stopped, timeout)

    # step 2. wait for user to be deleted
    wait_for("User still exists!", lambda: hub_api_request().status_code == 403, timeout)


def test_active_server_not_culled(hub, made_users):
    """Ports test_active_server_not_culled: User logs in, starts a server & stays idle for
    a while (the user's server should not be culled during this period)."""
    username = new_name()
    made_users.append(username)
    culling(hub, 30)

    u = login(hub, username)
    u.start_server(timeout=SPAWN_TIMEOUT)
    # Assert that the user exists
    assert passwd_exists(hub, f"jupyter-{username}")

    # Check that we can get to the user's server
    user_url = reach_server(u)

    def server_has_stopped():
        # Check that after a while, we can still reach the user's server
        return u.http.get(user_url, allow_redirects=False, timeout=30).status_code != 200

    started = time.monotonic()
    try:
        wait_for("User's server is still reachable (good!)", server_has_stopped, 15)
    except TimeoutError:
        # timeout error means the test passed - the server didn't go away while we were waiting
        pass
    else:
        pytest.fail(f"Server at {user_url} got culled prematurely! "
                    f"({time.monotonic() - started:.0f} s after it answered)")
