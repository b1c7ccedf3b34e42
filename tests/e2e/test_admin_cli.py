"""The admin CLI on an installed hub: accounts, rosters, approval, config, removal.

Runs `hubstead ...` as root inside the shared installed container and checks what a
user sees from outside over HTTP. Uses its own user names (not alice or bob, whom
test_install.py walks through).
"""

import csv
import io
import json

import pytest

from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser, LoginFailed

pytestmark = pytest.mark.e2e

ROSTER_SIZE = 50


def accounts(hub):
    return {item["name"]: item for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}


@pytest.fixture
def account(installed_hub):
    """make(name) adds an approved account and answers its password; each is removed
    (home and all) after the test, so no test depends on another's users."""
    made = []

    def make(name):
        made.append(name)
        return hubstead(installed_hub, "user", "add", name).stdout.strip()

    yield make
    for name in made:
        hubstead(installed_hub, "user", "remove", name, "--purge", "--yes", check=False)


@pytest.fixture(scope="module")
def running_learner(installed_hub):
    """A learner of this module's own whose server runs (started here, stopped after)."""
    password = hubstead(installed_hub, "user", "add", "stella").stdout.strip()
    stella = HubUser(installed_hub.url)
    stella.login("stella", password)
    stella.create_token("e2e")
    stella.start_server(timeout=180)
    yield stella
    hubstead(installed_hub, "user", "remove", "stella", "--purge", "--yes", check=False)


def test_instructors_group_exists_from_install(installed_hub):
    groups = json.loads(hubstead(installed_hub, "group", "list", "--json").stdout)
    assert "instructors" in [group["name"] for group in groups]


def test_roster_import_creates_accounts_that_log_in_with_the_printed_password(installed_hub):
    hub = installed_hub
    rows = ["username,email,group"] + [f"ws{n:03d},ws{n:03d}@example.org,day1" for n in range(ROSTER_SIZE)]
    hub.container.write_file("/root/roster.csv", "\n".join(rows) + "\n")
    result = hubstead(hub, "user", "import", "/root/roster.csv", "--sheet", "/root/sheets/passwords.csv")
    assert f"Created {ROSTER_SIZE} accounts" in result.stdout
    sheet = list(csv.DictReader(io.StringIO(hub.container.read_file("/root/sheets/passwords.csv"))))
    assert [row["username"] for row in sheet] == [f"ws{n:03d}" for n in range(ROSTER_SIZE)]
    for path in ("/root/sheets/passwords.csv", "/root/sheets/passwords.html"):
        assert hub.container.run(["stat", "-c", "%a", path]).stdout.strip() == "600"
    assert sheet[17]["password"] in hub.container.read_file("/root/sheets/passwords.html")
    learner = HubUser(hub.url)
    learner.login("ws017", sheet[17]["password"])
    assert learner.is_logged_in()
    with pytest.raises(LoginFailed):
        HubUser(hub.url).login("ws018", sheet[17]["password"])
    members = json.loads(hubstead(hub, "group", "members", "day1", "--json").stdout)
    assert len(members) == ROSTER_SIZE
    listed = accounts(hub)
    assert listed["ws001"]["approved"] and listed["ws001"]["email"] == "ws001@example.org"


def test_a_bad_roster_row_is_reported_by_line_and_creates_nothing(installed_hub, account):
    hub = installed_hub
    account("taken01")
    hub.container.write_file("/root/bad.csv", "username\nnew001\nnew002\nBad Name\nnew001\n")
    before = accounts(hub)
    result = hubstead(hub, "user", "import", "/root/bad.csv", "--sheet", "/root/bad-sheet.csv", check=False)
    assert result.returncode == 1
    assert "line 4: 'bad name'" in result.stderr and "line 5: 'new001' is already on line 2" in result.stderr
    assert accounts(hub).keys() == before.keys()
    assert not hub.container.path_exists("/root/bad-sheet.csv")
    hub.container.write_file("/root/taken.csv", "username\nnew003\ntaken01\n")
    result = hubstead(hub, "user", "import", "/root/taken.csv", "--sheet", "/root/taken-sheet.csv", check=False)
    assert result.returncode == 1 and "line 3: 'taken01' already exists" in result.stderr
    assert "new003" not in accounts(hub)


def test_pending_sign_up_is_approved_from_the_cli(installed_hub):
    hub = installed_hub
    dave = HubUser(hub.url)
    assert dave.signup("dave", "Dave-Pass-1234").outcome == "pending"
    pending = json.loads(hubstead(hub, "user", "list", "--pending", "--json").stdout)
    assert "dave" in [item["name"] for item in pending]
    with pytest.raises(LoginFailed):
        dave.login("dave", "Dave-Pass-1234")
    hubstead(hub, "user", "approve", "dave")
    dave.login("dave", "Dave-Pass-1234")
    assert dave.is_logged_in()


def test_rejecting_a_sign_up_discards_it(installed_hub):
    hub = installed_hub
    assert HubUser(hub.url).signup("mallory", "Mallory-Pass-99").outcome == "pending"
    hubstead(hub, "user", "reject", "mallory", "--yes")
    assert "mallory" not in accounts(hub)
    with pytest.raises(LoginFailed):
        HubUser(hub.url).login("mallory", "Mallory-Pass-99")


def test_add_reset_password_lock_and_unlock(installed_hub, account):
    hub = installed_hub
    first = account("carol")
    HubUser(hub.url).login("carol", first)
    second = hubstead(hub, "user", "reset-password", "carol").stdout.strip()
    assert second != first
    with pytest.raises(LoginFailed):
        HubUser(hub.url).login("carol", first)
    hubstead(hub, "user", "lock", "carol", "--reason", "e2e")
    assert accounts(hub)["carol"]["locked"]
    with pytest.raises(LoginFailed):
        HubUser(hub.url).login("carol", second)
    hubstead(hub, "user", "unlock", "carol")
    HubUser(hub.url).login("carol", second)
    chosen = hubstead(hub, "user", "add", "frank", "--password-stdin", input="Frank-Chose-This-1\n")
    assert chosen.stdout.strip() == "", "a password read from stdin is not printed"
    HubUser(hub.url).login("frank", "Frank-Chose-This-1")
    duplicate = hubstead(hub, "user", "add", "carol", check=False)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr


def test_admin_grant_and_revoke_persist_in_the_config(installed_hub, account):
    hub = installed_hub
    account("gina")
    hubstead(hub, "user", "admin", "grant", "gina")
    assert accounts(hub)["gina"]["admin"]
    assert "gina" in json.loads(hubstead(hub, "config", "get", "users.admin", "--json").stdout)
    hubstead(hub, "user", "admin", "revoke", "gina")
    assert not accounts(hub)["gina"]["admin"]
    assert "gina" not in json.loads(hubstead(hub, "config", "get", "users.admin", "--json").stdout)


def test_memory_limit_set_and_reloaded_reaches_new_servers(installed_hub, account):
    hub = installed_hub
    before = hub.container.read_file("/etc/hubstead/config.yaml")
    hubstead(hub, "config", "set", "limits.memory", "1G")
    try:
        hubstead(hub, "config", "reload")
        password = account("erin")
        erin = HubUser(hub.url)
        erin.login("erin", password)
        erin.create_token("e2e")
        erin.start_server(timeout=180)
        max_memory = hub.container.run(["systemctl", "show", "-p", "MemoryMax", "--value",
                                        "jupyter-erin-singleuser"]).stdout.strip()
        assert max_memory == str(1 << 30)
    finally:  # the shared hub goes back to the limit it had, for the tests after this one
        hub.container.write_file("/etc/hubstead/config.yaml", before)
        hubstead(hub, "config", "reload", "hub")  # the hub-only restart (limits render no role)


def test_bad_config_values_are_refused_and_the_file_is_unchanged(installed_hub):
    hub = installed_hub
    before = hub.container.read_file("/etc/hubstead/config.yaml")
    for key, value, phrase in [("limits.memory", "lots", "limits.memory"), ("http.port", "eighty", "http.port"),
                               ("limits.cpus", "2", "limits.cpu")]:
        result = hubstead(hub, "config", "set", key, value, check=False)
        assert result.returncode == 1, result
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(errors) <= 2 and phrase in errors[0]
    assert hub.container.read_file("/etc/hubstead/config.yaml") == before


def test_status_json_names_running_servers(installed_hub, running_learner):
    hub = installed_hub
    status = json.loads(hubstead(hub, "status", "--json").stdout)
    text = json.dumps(status)
    assert "stella" in text, "stella's server runs (the running_learner fixture)"
    assert "jupyterhub" in text


def test_removing_a_user_stops_the_server_and_keeps_the_home(installed_hub):
    hub = installed_hub
    password = hubstead(hub, "user", "add", "rhea").stdout.strip()
    rhea = HubUser(hub.url)
    rhea.login("rhea", password)
    rhea.create_token("e2e")
    rhea.start_server(timeout=180)
    rhea.run_code("open('thesis.txt', 'w').write('draft')")
    result = hubstead(hub, "user", "remove", "rhea", "--yes")
    assert "server was stopped" in result.stdout and "/home/jupyter-rhea" in result.stdout
    state = hub.container.run(["systemctl", "is-active", "jupyter-rhea-singleuser"], check=False).stdout.strip()
    assert state != "active"
    assert hub.container.read_file("/home/jupyter-rhea/thesis.txt") == "draft"
    assert "rhea" not in accounts(hub)
    with pytest.raises(LoginFailed):
        HubUser(hub.url).login("rhea", password)
    hub.container.run(["rm", "-rf", "/home/jupyter-rhea"])
