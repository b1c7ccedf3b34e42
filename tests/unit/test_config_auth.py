"""auth.type and auth.<ClassName>.<trait> (hubstead.config.auth), and their secrets.

The authenticators' packages live in the hub's environment, not the test venv: each
test here stands a small traitlets class in for the one a section names.
"""

import json
import os
import stat

import pytest
from traitlets import Bool, Int, List, Unicode
from traitlets.config import Configurable

from hubstead import config
from hubstead.config import auth


class FakeLDAP(Configurable):
    server_address = Unicode(config=True)
    server_port = Int(389, config=True)
    allowed_groups = List(config=True)
    use_ssl = Bool(False, config=True)
    lookup_dn_search_password = Unicode(config=True)


@pytest.fixture(autouse=True)
def fake_classes(monkeypatch):
    monkeypatch.setattr(auth, "import_class", lambda path: FakeLDAP)


@pytest.mark.parametrize("kind, short", [
    ("ldap", "ldap"), ("ldapauthenticator.LDAPAuthenticator", "ldap"),
    ("firstuseauthenticator.FirstUseAuthenticator", "firstuse"), ("firstuse", "firstuse"),
    ("nativeauthenticator.NativeAuthenticator", "native"),
    ("oauthenticator.GitHubOAuthenticator", "github"), ("oauthenticator.GoogleOAuthenticator", "google"),
    ("oauthenticator.generic.GenericOAuthenticator", "generic"), ("generic-oauth", "generic"),
    ("oauthenticator.CILogonOAuthenticator", "cilogon"), (" dummy ", "dummy"),
])
def test_tljh_class_names_and_short_names_are_accepted(kind, short):
    assert auth.resolve(kind) == short
    confirmed = {"allow_insecure_dummy": True} if short == "dummy" else {}
    assert config.validate({"auth": {"type": kind, **confirmed}})


def test_an_unknown_type_is_one_line_listing_the_choices():
    with pytest.raises(config.ConfigError) as caught:
        config.validate({"auth": {"type": "pam"}})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("auth.type: 'pam' is not an authenticator") and "ldap" in message


def test_dummy_is_refused_without_the_insecure_confirmation():
    with pytest.raises(config.ConfigError, match="lets anyone log in.*auth.allow_insecure_dummy true"):
        config.validate({"auth": {"type": "dummy"}})
    assert config.validate({"auth": {"type": "dummy", "allow_insecure_dummy": True}})


def test_class_settings_are_checked_against_the_class_traits():
    good = {"auth": {"type": "ldap", "LDAPAuthenticator": {"server_address": "ldap.example.org",
                                                          "server_port": 636, "allowed_groups": ["cn=x"]}}}
    assert config.validate(good)
    with pytest.raises(config.ConfigError) as caught:
        config.validate({"auth": {"LDAPAuthenticator": {"server_adress": "x"}}})
    assert str(caught.value).startswith("unknown key auth.LDAPAuthenticator.server_adress: LDAPAuthenticator "
                                        "has no setting 'server_adress'; nearest: server_address")
    with pytest.raises(config.ConfigError, match="server_port: 'ldap' is not a valid value; expected integer"):
        config.validate({"auth": {"LDAPAuthenticator": {"server_port": "ldap"}}})
    with pytest.raises(config.ConfigError, match="auth.Frobnicator: not an authenticator's class"):
        config.validate({"auth": {"Frobnicator": {"x": 1}}})


def test_a_trait_key_parses_by_the_traits_type():
    assert config.lookup("auth.LDAPAuthenticator.allowed_groups").kind == "list"
    assert config.parse_value("auth.LDAPAuthenticator.server_port", "636") == 636
    assert config.parse_value("auth.LDAPAuthenticator.use_ssl", "true") is True
    with pytest.raises(config.ConfigError, match="has no setting 'nope'"):
        config.parse_value("auth.LDAPAuthenticator.nope", "1")


def test_a_secret_in_config_yaml_is_refused():
    with pytest.raises(config.ConfigError, match="secrets are not kept in config.yaml"):
        config.validate({"auth": {"LDAPAuthenticator": {"lookup_dn_search_password": "hunter2"}}})


def test_secrets_are_kept_0600_apart_and_removed(tmp_path):
    config_path = tmp_path / "config.yaml"
    key = "auth.LDAPAuthenticator.lookup_dn_search_password"
    auth.save_secret(config_path, key, "hunter2")
    stored = auth.secrets_path(config_path)
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert json.loads(stored.read_text()) == {key: "hunter2"}
    assert not config_path.exists()
    assert auth.masked(auth.load_secrets(config_path)) == {key: auth.MASK}
    sections = auth.class_settings(config.effective({}), auth.load_secrets(config_path))
    assert sections["LDAPAuthenticator"]["lookup_dn_search_password"] == "hunter2"
    auth.save_secret(config_path, key, None)
    assert auth.load_secrets(config_path) == {}


def test_group_map_items_need_a_hub_group_and_a_provider_group():
    assert config.validate({"auth": {"group_map": ["instructors:cn=teachers,ou=groups,dc=x"]}})
    with pytest.raises(config.ConfigError, match="auth.group_map"):
        config.validate({"auth": {"group_map": ["cn=teachers"]}})
