"""auth.type firstuse (TLJH's default, FirstUseAuthenticator) on the shared hub: the
first password a name logs in with becomes its password; a wrong one later is refused.
And auth.type dummy, which lets anyone in, is refused until its insecure confirmation.

The module switches the hub to firstuse and back to native, removing the users it made.
"""

import json

import pytest

from hubstead.usernames import unix_name
from tests.harness.hub import wait_for_http
from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser, LoginFailed

pytestmark = pytest.mark.e2e

NAME = "firstfern"
FIRST = "Fern-First-Pass-31"
# No unix name: a '.', an '@' and too long (hubstead.usernames.unix_name).
LONG = "fern.first-with-a-rather-long-name@uni.example.edu"


def restart_hub(hub):
    hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=180)
    wait_for_http(hub.url + "/hub/api", timeout=90)


@pytest.fixture(scope="module")
def firstuse_hub(installed_hub):
    hub = installed_hub
    try:
        hubstead(hub, "config", "set", "auth.type", "firstuseauthenticator.FirstUseAuthenticator")
        restart_hub(hub)
        yield hub
    finally:
        # Removed while FirstUse is the authenticator, so it forgets their passwords too.
        for name in (NAME, LONG):
            hubstead(hub, "user", "remove", name, "--yes", check=False)
        hubstead(hub, "config", "unset", "auth.type", check=False)
        restart_hub(hub)


def test_the_first_password_sets_it_and_a_wrong_one_later_is_refused(firstuse_hub):
    hub = firstuse_hub
    first = HubUser(hub.url)
    first.login(NAME, FIRST)
    assert first.is_logged_in()
    first.logout()
    with pytest.raises(LoginFailed) as refused:
        HubUser(hub.url).login(NAME, "Some-Other-Pass-99")
    assert "Invalid username or password" in refused.value.message
    again = HubUser(hub.url)
    again.login(NAME, FIRST)
    assert again.is_logged_in()
    # The password hashes: root's alone (dbm may add a suffix to the name).
    modes = hub.container.run(["sh", "-c", "stat -c %a /var/lib/hubstead/firstuse-passwords.dbm*"]).stdout
    assert set(modes.split()) == {"600"}


def test_dummy_is_refused_without_the_insecure_confirmation(firstuse_hub):
    hub = firstuse_hub
    refused = hubstead(hub, "config", "set", "auth.type", "dummy", check=False)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: auth.type dummy lets anyone log in as anyone, with any password; for a test hub only, "
        "set auth.allow_insecure_dummy true first")
    assert hubstead(hub, "config", "get", "auth.type").stdout.strip() == (
        "firstuseauthenticator.FirstUseAuthenticator")


def test_a_name_that_is_no_unix_name_runs_as_its_derived_account(firstuse_hub):
    hub, account = firstuse_hub, unix_name(LONG)
    assert len(account) == 32 and account.startswith("jupyter-fern-first-with-a")
    person = HubUser(hub.url)
    person.login(LONG, FIRST)
    person.start_server()
    try:
        unit = f"{account}-singleuser.service"
        shown = hub.container.run(["systemctl", "show", "-p", "User", "-p", "ActiveState", unit]).stdout
        uid = hub.container.run(["id", "-u", account]).stdout.strip()  # SystemdSpawner sets User= by uid
        assert dict(line.split("=", 1) for line in shown.split()) == {"User": uid, "ActiveState": "active"}
        assert hub.container.run(["stat", "-c", "%U %a", f"/home/{account}"]).stdout.split() == [account, "700"]
    finally:
        person.stop_server()
    listed = {item["name"]: item for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}
    assert listed[LONG]["unix_account"] == account
    table = hub.container.run(["hubstead", "user", "list"], env={"COLUMNS": "250"}).stdout
    assert f"{LONG} (unix: {account})" in table
