"""Sign-up, removal and failed logins on an installed hub, seen from both sides: the
`hubstead user` CLI as root in the container, and a browser-like client over HTTP.

Every test makes its own users (names used nowhere else) and removes them. Failed
logins come from their own loopback addresses (127.0.0.2x): the hub throttles by
address, and the other tests' clients all come from 127.0.0.1.
"""

import json

import pytest
from requests.adapters import HTTPAdapter

from hubstead.usernames import MAX_LENGTH, username_problem
from tests.harness.hub import wait_for_http
from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser, LoginFailed

pytestmark = pytest.mark.e2e

# Names `hubstead user add` accepts, the longest and shortest included.
ACCEPTED = ["q", "sign-up_ok2", "l" * MAX_LENGTH]
# Names it refuses, one for each reason it gives.
REFUSED = ["root", "hubstead", "m" * (MAX_LENGTH + 1), "Zed", "9lives", "dot.ted", ""]
PASSWORD = "Sign-Up-Pass-4821"
DEFAULT_LIMIT = 5  # auth.native.allowed_failed_logins's default


class _FromAddress(HTTPAdapter):
    """Connections from one loopback address: the hub sees a client of its own."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def browser(hub, address):
    client = HubUser(hub.url)
    client.http.mount("http://", _FromAddress(address))
    return client


def accounts(hub):
    return {item["name"]: item for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}


def config_list(hub, key):
    return json.loads(hubstead(hub, "config", "get", key, "--json").stdout) or []


def restart_hub(hub):
    hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=180)
    wait_for_http(hub.url + "/hub/api", timeout=90)


def remove_quietly(hub, *names):
    for name in names:
        hubstead(hub, "user", "remove", name, "--yes", check=False)


# ---- item 12: one username rule, at sign-up too ----------------------------------------

def test_every_name_the_cli_accepts_can_sign_up_and_log_in(installed_hub):
    hub = installed_hub
    try:
        for name in ACCEPTED:
            assert username_problem(name) is None
            signed_up = HubUser(hub.url).signup(name, PASSWORD)
            assert signed_up.outcome == "pending", (name, signed_up)
            hubstead(hub, "user", "approve", name)
            person = HubUser(hub.url)
            person.login(name, PASSWORD)
            assert person.is_logged_in(), name
    finally:
        remove_quietly(hub, *ACCEPTED)


def test_every_name_the_cli_refuses_is_refused_at_sign_up_with_the_same_reason(installed_hub):
    hub = installed_hub
    before = set(accounts(hub))
    try:
        for name in REFUSED:
            reason = username_problem(name)
            added = hubstead(hub, "user", "add", name, check=False)
            assert added.returncode == 1 and reason in added.stderr, (name, added.stderr)
            signed_up = HubUser(hub.url).signup(name, PASSWORD)
            assert signed_up.outcome == "refused", (name, signed_up)
            assert reason in signed_up.message, (name, signed_up.message)
        assert set(accounts(hub)) == before, "a refused name got an account"
    finally:
        # Today's main lets some of these through; leave no account behind either way.
        created = set(accounts(hub)) - before
        with_rows = [name for name in created if username_problem(name) is None]
        remove_quietly(hub, *with_rows)


# ---- item 13: a removed admin leaves no way back in -------------------------------------

def test_a_removed_admin_is_gone_from_every_list_and_their_name_signs_up_unapproved(installed_hub):
    hub = installed_hub
    name = "ex-admin"
    original = hub.container.read_file("/etc/hubstead/config.yaml")
    try:
        hubstead(hub, "user", "add", name, "--admin")
        hubstead(hub, "config", "add-item", "users.allowed", name)
        restart_hub(hub)  # the running hub now holds the name, as it holds an install's --admin
        hubstead(hub, "user", "remove", name, "--yes")
        assert name not in config_list(hub, "users.admin")
        assert name not in config_list(hub, "users.allowed")
        newcomer = HubUser(hub.url)
        signed_up = newcomer.signup(name, PASSWORD)
        assert signed_up.outcome == "pending", signed_up
        with pytest.raises(LoginFailed, match="not been authorized"):
            newcomer.login(name, PASSWORD)
        assert not accounts(hub)[name]["admin"]
    finally:
        hubstead(hub, "user", "reject", name, "--yes", check=False)
        remove_quietly(hub, name)
        hub.container.write_file("/etc/hubstead/config.yaml", original)
        restart_hub(hub)


def test_a_revoked_admin_is_not_made_admin_again_by_logging_in(installed_hub):
    hub = installed_hub
    name = "revoked-admin"
    original = hub.container.read_file("/etc/hubstead/config.yaml")
    try:
        password = hubstead(hub, "user", "add", name, "--admin").stdout.strip()
        restart_hub(hub)  # the running hub holds the name, as it holds an install's --admin
        hubstead(hub, "user", "admin", "revoke", name)
        person = HubUser(hub.url)
        person.login(name, password)
        assert not person.user_model()["admin"]
        assert not accounts(hub)[name]["admin"]
    finally:
        remove_quietly(hub, name)
        hub.container.write_file("/etc/hubstead/config.yaml", original)
        restart_hub(hub)


def test_a_listed_admin_who_never_signed_up_gets_a_password_from_the_cli(installed_hub):
    hub = installed_hub
    name = "listed-admin"
    original = hub.container.read_file("/etc/hubstead/config.yaml")
    try:
        hubstead(hub, "config", "add-item", "users.admin", name)
        restart_hub(hub)  # the hub creates the listed admin, who has no password yet
        reset = hubstead(hub, "user", "reset-password", name, check=False)
        assert reset.returncode == 1 and f"hubstead user add {name}" in reset.stderr, reset.stderr
        password = hubstead(hub, "user", "add", name).stdout.strip()
        admin = HubUser(hub.url)
        admin.login(name, password)
        assert admin.is_logged_in() and admin.user_model()["admin"]
        renewed = hubstead(hub, "user", "reset-password", name).stdout.strip()
        HubUser(hub.url).login(name, renewed)
    finally:
        remove_quietly(hub, name)
        hub.container.write_file("/etc/hubstead/config.yaml", original)
        restart_hub(hub)


# ---- item 14: failed logins lock visibly, and one address cannot lock everyone -----------

def test_the_lockout_says_so_shows_in_the_list_and_unlock_clears_it(installed_hub):
    hub = installed_hub
    name = "fumbler"
    password = hubstead(hub, "user", "add", name).stdout.strip()
    try:
        guesser = browser(hub, "127.0.0.21")
        for _ in range(DEFAULT_LIMIT):
            with pytest.raises(LoginFailed, match="Invalid username or password"):
                guesser.login(name, "not-the-password")
        with pytest.raises(LoginFailed) as refused:
            guesser.login(name, password)
        assert "too many failed attempts; try again in 10 minutes" in refused.value.message
        lock = accounts(hub)[name]["locked_out"]
        assert lock and lock["minutes"] == 10 and lock["addresses"] == ["127.0.0.21"], lock
        # Wide enough that the table does not wrap the status cell (an 80-column default).
        listed = hub.container.run(["env", "COLUMNS=200", "hubstead", "user", "list"]).stdout
        assert "locked out" in listed
        assert f"Unlocked {name}" in hubstead(hub, "user", "unlock", name).stdout
        assert accounts(hub)[name]["locked_out"] is None
        guesser.login(name, password)
        assert guesser.is_logged_in()
    finally:
        remove_quietly(hub, name)


def test_one_address_cannot_lock_everyone_out(installed_hub):
    hub = installed_hub
    names = ["target-a", "target-b"]
    passwords = {name: hubstead(hub, "user", "add", name).stdout.strip() for name in names}
    attacker_address = "127.0.0.22"
    try:
        attacker = browser(hub, attacker_address)
        for name in names:  # enough to lock each of them, from the attacker's address
            for _ in range(DEFAULT_LIMIT):
                with pytest.raises(LoginFailed):
                    attacker.login(name, "guess")
        for name in names:  # their owners, elsewhere, still log in
            owner = browser(hub, "127.0.0.23")
            owner.login(name, passwords[name])
            assert owner.is_logged_in(), name
        # Failing on name after name gets the address itself refused, with its own message.
        for number in range(40):
            try:
                attacker.login(f"nobody{number}", "guess")
            except LoginFailed as failed:
                if "from your address" in failed.message:
                    break
        else:
            pytest.fail("40 failed logins from one address and it may still try")
        with pytest.raises(LoginFailed, match="too many failed logins from your address; try again in"):
            attacker.login("target-a", passwords["target-a"])
        assert "Unblocked" in hubstead(hub, "user", "unlock", "--address", attacker_address).stdout
        attacker.login("target-a", passwords["target-a"])
    finally:
        hubstead(hub, "user", "unlock", "--address", attacker_address, check=False)
        remove_quietly(hub, *names)
