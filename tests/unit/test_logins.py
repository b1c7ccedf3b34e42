"""What the CLI and the instructors' tools do under each auth.type (hubstead.users.logins):
approval and passwords exist with NativeAuthenticator and are one line elsewhere;
accounts and groups are pre-created without passwords under LDAP and OAuth."""

import sqlite3

import pytest

from hubstead import config as hubstead_config
from hubstead.users import UserError, logins, manage
from tests.unit.test_users import USERS_INFO


@pytest.fixture
def auth_type(monkeypatch):
    def use(kind):
        monkeypatch.setattr(hubstead_config, "current", lambda: hubstead_config.effective({"auth": {"type": kind}}))
    return use


class FakeHub:
    def __init__(self):
        self.users_made, self.groups = [], {}

    def user(self, name):
        return {"name": name} if name in self.users_made else None

    def users(self):
        return [{"name": name} for name in self.users_made]

    def post(self, path, json=None, ok=None):
        if path == "users":
            self.users_made += json["usernames"]
        elif path.endswith("/users"):
            self.groups.setdefault(path.split("/")[1], []).extend(json["users"])
        else:
            self.groups.setdefault(path.split("/")[1], [])


@pytest.mark.parametrize("kind, what, says", [
    ("ldapauthenticator.LDAPAuthenticator", "approval",
     "approval is NativeAuthenticator's: this hub logs in with ldap (auth.type), where the LDAP server and its "
     "allowed_* settings (auth.LDAPAuthenticator.*) and users.allowed decide who gets in."),
    ("ldap", "passwords", "passwords is NativeAuthenticator's: this hub logs in with ldap (auth.type), where "
                          "passwords are the LDAP server's."),
    ("firstuse", "passwords", "change it at /hub/auth/change-password"),
    ("generic", "approval", "the OpenID Connect provider and its allowed_* settings"),
])
def test_approval_and_passwords_elsewhere_are_one_line_naming_the_way(auth_type, kind, what, says):
    auth_type(kind)
    with pytest.raises(UserError) as caught:
        logins.require_native(what)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_approve_reject_and_reset_password_refuse_under_ldap(auth_type):
    auth_type("ldap")
    for call in (lambda: manage.approve("alice"), lambda: manage.reject(FakeHub(), "alice"),
                 lambda: manage.reset_password("alice")):
        with pytest.raises(UserError, match="NativeAuthenticator's: this hub logs in with ldap"):
            call()


def test_add_under_ldap_makes_the_hub_account_without_a_password(auth_type, monkeypatch, tmp_path):
    auth_type("ldap")
    monkeypatch.setattr(manage.paths, "STATE_DIR", tmp_path)
    hub = FakeHub()
    assert manage.add_user(hub, "lena") is None
    assert hub.users_made == ["lena"]
    with pytest.raises(UserError, match="already exists"):
        manage.add_user(hub, "lena")
    with pytest.raises(UserError, match="passwords are the LDAP server's"):
        manage.add_user(hub, "otto", password="Chosen-Pass-1234")


def test_roster_import_under_oauth_makes_accounts_and_groups_and_no_sheet(auth_type, monkeypatch, tmp_path):
    auth_type("github")
    monkeypatch.setattr(manage.paths, "STATE_DIR", tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("username,group\nann,course1\nben,course1\n")
    with sqlite3.connect(tmp_path / "jupyterhub.sqlite") as db:  # the hub's DB (sign-ups from native days)
        db.execute(USERS_INFO)
    hub = FakeHub()
    sheets, count = manage.import_roster(hub, roster, tmp_path / "sheet.csv", "http://hub")
    assert (sheets, count) == (None, 2)
    assert hub.users_made == ["ann", "ben"] and hub.groups == {"course1": ["ann", "ben"]}
    assert not (tmp_path / "sheet.csv").exists()
