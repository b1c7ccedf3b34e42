"""Account operations (hubstead.users.manage) against a stand-in hub API and real files:
removal leaves no name in the config's lists, a listed admin who never signed up gets a
password, failed-login locks show in the listing and unlock ends them."""

import sqlite3

import pytest

from hubstead import config as hubstead_config
from hubstead import paths
from hubstead.users import UserError, failed_logins, manage, native, passwords
from tests.unit.test_users import USERS_INFO


class StandInHub:
    """The few REST calls manage makes, on a dict of user models."""

    def __init__(self, *names, admin=()):
        self.models = {name: {"name": name, "admin": name in admin, "servers": {}} for name in names}
        self.posted = []

    def user(self, name):
        return self.models.get(name)

    def users(self):
        return list(self.models.values())

    def post(self, path, json=None, ok=None):
        self.posted.append((path, json))
        for name in (json or {}).get("usernames", []):
            self.models[name] = {"name": name, "admin": False, "servers": {}}

    def delete(self, path):
        self.models.pop(path.split("/")[1], None)

    def get(self, path):
        return {"api_tokens": []}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    monkeypatch.setattr(paths, "CONFIG_PATH", tmp_path / "config.yaml")
    with sqlite3.connect(tmp_path / native.HUB_DB) as connection:
        connection.execute(USERS_INFO)
    return tmp_path


def write_config(state, text):
    (state / "config.yaml").write_text(text)


def test_removal_takes_the_name_out_of_the_admin_and_allowed_lists(state):
    write_config(state, "users:\n  admin: [alice, ex]\n  allowed: [ex, bob]\n  banned: [ex]\n")
    hub = StandInHub("alice", "ex", admin=("alice", "ex"))
    manage.remove(hub, "ex")
    current = hubstead_config.load(paths.CONFIG_PATH)
    assert hubstead_config.get_value(current, "users.admin") == ["alice"]
    assert hubstead_config.get_value(current, "users.allowed") == ["bob"]
    assert hubstead_config.get_value(current, "users.banned") == ["ex"], "a ban outlives the account"


def test_a_listed_admin_who_never_signed_up_gets_a_password_from_add(state):
    write_config(state, "users:\n  admin: [ghost]\n")
    hub = StandInHub("ghost", admin=("ghost",))  # the hub creates listed admins at start
    with pytest.raises(UserError, match="give them one with `hubstead user add ghost`"):
        manage.reset_password("ghost")
    password = manage.add_user(hub, "ghost")
    assert hub.posted == [], "the hub user exists already"
    with native.connect() as db:
        row = db.execute("SELECT password, is_authorized FROM users_info WHERE username = 'ghost'").fetchone()
    assert passwords.matches(password, row[0]) and row[1]
    with pytest.raises(UserError, match="already exists"):
        manage.add_user(hub, "ghost")


def test_a_name_made_before_the_rule_can_still_be_removed(state):
    write_config(state, "users: {}\n")
    with native.connect() as db:
        native.insert(db, "root", b"hash", approved=False)
    hub = StandInHub()
    manage.reject(hub, "root")
    with native.connect() as db:
        assert native.find(db, "root") is None
    with pytest.raises(UserError, match="reserved"):
        manage.approve("root")


def test_failed_login_locks_show_in_the_list_and_unlock_ends_them(state):
    write_config(state, "auth:\n  native:\n    allowed_failed_logins: 2\n")
    hub = StandInHub("ann")
    limits = manage._login_limits()
    for _ in range(2):
        failed_logins.record_failure("ann", "10.0.0.9", limits)
    [ann] = manage.list_accounts(hub)
    assert ann.locked_out["addresses"] == ["10.0.0.9"] and ann.locked_out["minutes"] == 10
    assert manage.unlock("ann")
    assert manage.list_accounts(hub)[0].locked_out is None
    assert not manage.unlock("ann")
