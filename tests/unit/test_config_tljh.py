"""`hubstead config import-tljh`: a TLJH config.yaml's settings in Hubstead's keys
(`from_tljh`, pure), merged into the config file in one validated write (the CLI)."""

import re
import types

import pytest

from hubstead import config
from hubstead.cli import common
from tests.harness.hubcli import run_in_process
from hubstead.config import tljh
from hubstead.config.tljh import from_tljh, merge

RELOAD = "run `hubstead config reload` to apply."

# A lab's TLJH config as tljh-config leaves it: an admin typed with a capital, a
# number as a name (tljh-config reads "42" as 42), Let's Encrypt, a tuned culler,
# NativeAuthenticator with traits, the firstuse section TLJH's default left behind.
TLJH = """\
# Managed with tljh-config.
base_url: /jupyter/
users:
  admin:
    - alice
    - Carol  # JupyterHub lowercases names
  allowed:
    - dave
    - 42
  banned:
    - root
  extra_user_groups:
    datasci:
      - dave
limits:
  memory: 2G
  cpu: 1.5
http:
  port: 80
  address: 0.0.0.0
https:
  enabled: true
  address: 10.0.0.5
  port: 443
  tls:
    cert: ''
    key: ''
  letsencrypt:
    email: ops@example.org
    domains:
      - hub.example.org
    staging: false
user_environment:
  default_app: classic
auth:
  type: nativeauthenticator.NativeAuthenticator
  NativeAuthenticator:
    open_signup: false
    minimum_password_length: "10"
    allowed_failed_logins: 3
    seconds_before_next_try: 300
    ask_email_on_signup: true
  FirstUseAuthenticator:
    create_users: false
services:
  cull:
    enabled: true
    timeout: 3600
    every: 300
    concurrency: 10
    users: false
    max_age: 28800
    remove_named_servers: false
traefik_api:
  ip: 127.0.0.1
  port: 8099
  username: api_admin
  password: s3cret-traefik
"""

EXPECTED_CHANGES = {
    "base_url": "/jupyter/",
    "users.admin": ["alice", "carol"],
    "users.allowed": ["dave"],
    "users.banned": [],
    "users.extra_user_groups.datasci": ["dave"],
    "limits.memory": "2G",
    "limits.cpu": 1.5,
    "http.port": 80,
    "http.address": "0.0.0.0",
    "https.enabled": True,
    "https.address": "10.0.0.5",
    "https.port": 443,
    "https.tls.cert": None,
    "https.tls.key": None,
    "https.letsencrypt.email": "ops@example.org",
    "https.domains": ["hub.example.org"],
    "https.letsencrypt.staging": False,
    "user_environment.default_app": "classic",
    "auth.type": "native",
    "auth.native.open_signup": False,
    "auth.native.minimum_password_length": 10,
    "auth.native.allowed_failed_logins": 3,
    "auth.native.seconds_before_next_try": 300,
    "services.cull.enabled": True,
    "services.cull.timeout": 3600,
    "services.cull.every": 300,
    "services.cull.concurrency": 10,
    "services.cull.users": False,
    "services.cull.max_age": 28800,
    "services.cull.remove_named_servers": False,
}

NO_TRAEFIK = tljh.NOT_CARRIED["traefik_api"]
EXPECTED_UNMAPPED = [
    ("users.allowed", "42: use lowercase letters, digits, '-' and '_' only, starting with a letter "
                      "(for example 'alice' or 'bob_smith')"),
    ("users.banned", "'root': 'root' is reserved for the system; choose another name"),
    ("auth.NativeAuthenticator.ask_email_on_signup",
     tljh.NATIVE_NOT_EXPOSED),
    ("auth.FirstUseAuthenticator.create_users", tljh.not_in_effect("FirstUseAuthenticator")),
    ("traefik_api.ip", NO_TRAEFIK),
    ("traefik_api.port", NO_TRAEFIK),
    ("traefik_api.username", NO_TRAEFIK),
    ("traefik_api.password", NO_TRAEFIK),
]

GITHUB = """\
http:
  port: 8080
auth:
  type: oauthenticator.github.GitHubOAuthenticator
  GitHubOAuthenticator:
    client_id: 0123abcd
    client_secret: gh-very-secret
    oauth_callback_url: https://hub.example.org/hub/oauth_callback
    allowed_organizations:
      - our-lab
  NativeAuthenticator:
    open_signup: true
"""


def loaded(text, tmp_path):
    """TLJH's file as the CLI reads it (ruamel's round-trip types)."""
    path = tmp_path / "tljh.yaml"
    path.write_text(text)
    return config.load(path)


# --- from_tljh: the mapping -------------------------------------------------------------

def test_a_realistic_tljh_config_maps_key_by_key(tmp_path):
    changes, unmapped = from_tljh(loaded(TLJH, tmp_path))
    assert changes == EXPECTED_CHANGES
    assert unmapped == EXPECTED_UNMAPPED


def test_the_values_are_plain_and_of_the_schema_types(tmp_path):
    changes, _ = from_tljh(loaded(TLJH.replace("staging: false", "staging: &s false"), tmp_path))
    assert changes["https.letsencrypt.staging"] is False  # not ruamel's ScalarBoolean 0
    assert type(changes["limits.cpu"]) is float and type(changes["http.port"]) is int
    for key in changes:
        config.lookup(key)  # every key is one of Hubstead's
    merged = merge({}, changes)
    assert config.validate(merged) is merged


def test_no_value_of_an_unmapped_key_is_shown(tmp_path):
    shown = repr(from_tljh(loaded(TLJH, tmp_path))[1] + from_tljh(loaded(GITHUB, tmp_path))[1])
    for secret in ("s3cret-traefik", "gh-very-secret", "0123abcd", "our-lab"):
        assert secret not in shown


def test_a_github_authenticator_carries_over_but_its_secret(tmp_path):
    changes, unmapped = from_tljh(loaded(GITHUB, tmp_path))
    assert changes == {"http.port": 8080, "auth.type": "github",
                       "auth.GitHubOAuthenticator.client_id": "0123abcd",
                       "auth.GitHubOAuthenticator.oauth_callback_url": "https://hub.example.org/hub/oauth_callback",
                       "auth.GitHubOAuthenticator.allowed_organizations": ["our-lab"]}
    assert unmapped == [
        ("auth.GitHubOAuthenticator.client_secret", tljh.SECRET),
        # Not in effect on the TLJH hub, so not switched on here either.
        ("auth.NativeAuthenticator.open_signup", tljh.not_in_effect("NativeAuthenticator")),
    ]


@pytest.mark.parametrize("kind", [
    "native", "nativeauthenticator.NativeAuthenticator", "nativeauthenticator.nativeauthenticator.NativeAuthenticator",
])
def test_nativeauthenticator_by_any_of_its_names_is_native(kind):
    changes, unmapped = from_tljh({"auth": {"type": kind, "NativeAuthenticator": {"open_signup": "true"}}})
    assert changes == {"auth.type": "native", "auth.native.open_signup": True}
    assert unmapped == []


@pytest.mark.parametrize("kind, short", [
    ("firstuseauthenticator.FirstUseAuthenticator", "firstuse"), ("oauthenticator.github.GitHubOAuthenticator", "github"),
    ("ldapauthenticator.LDAPAuthenticator", "ldap"), ("oauthenticator.generic.GenericOAuthenticator", "generic"),
    ("oauthenticator.CILogonOAuthenticator", "cilogon"), ("oauthenticator.GoogleOAuthenticator", "google"),
])
def test_the_authenticators_hubstead_sets_up_carry_over(kind, short):
    assert from_tljh({"auth": {"type": kind}}) == ({"auth.type": short}, [])


@pytest.mark.parametrize("kind", ["ltiauthenticator.LTIAuthenticator", "mylab.NativeAuthenticator", "pam"])
def test_any_other_authenticator_is_reported(kind):
    assert from_tljh({"auth": {"type": kind}}) == ({}, [("auth.type", tljh.NOT_SET_UP)])


@pytest.mark.parametrize("kind", ["dummy", "jupyterhub.auth.DummyAuthenticator"])
def test_dummy_is_reported_not_taken_over(kind):
    assert from_tljh({"auth": {"type": kind}}) == ({}, [("auth.type", tljh.DUMMY)])


def test_no_auth_type_means_tljh_default_firstuse_which_is_reported():
    assert from_tljh({}) == ({}, [("auth.type", tljh.NO_AUTH_TYPE)])
    assert from_tljh({"auth": {"FirstUseAuthenticator": {"create_users": True}}})[1] == [
        ("auth.type", tljh.NO_AUTH_TYPE),
        ("auth.FirstUseAuthenticator.create_users", tljh.FIRSTUSE_NOT_TAKEN),
    ]
    assert "FirstUseAuthenticator" in tljh.NO_AUTH_TYPE


def test_null_traits_are_skipped_as_tljh_skips_them():
    tljh_config = {"auth": {"type": "native", "NativeAuthenticator": {"open_signup": None}}}
    assert from_tljh(tljh_config) == ({"auth.type": "native"}, [])


@pytest.mark.parametrize("tljh_config, key, value", [
    ({"limits": {"cpu": 2}}, "limits.cpu", 2),
    ({"limits": {"cpu": "2"}}, "limits.cpu", 2),
    ({"limits": {"cpu": "0.5"}}, "limits.cpu", 0.5),
    ({"limits": {"cpu": "None"}}, "limits.cpu", None),  # TLJH's schema allows the text None
    ({"limits": {"cpu": None}}, "limits.cpu", None),
    ({"limits": {"memory": "1G"}}, "limits.memory", "1G"),
    ({"limits": {"memory": "512M"}}, "limits.memory", "512M"),
    ({"limits": {"memory": 1073741824}}, "limits.memory", "1073741824"),  # tljh-config stores digits as a number
    ({"limits": {"memory": ""}}, "limits.memory", None),
    ({"http": {"port": "8080"}}, "http.port", 8080),
    ({"https": {"tls": {"cert": "/etc/ssl/hub.pem"}}}, "https.tls.cert", "/etc/ssl/hub.pem"),
    ({"https": {"letsencrypt": {"email": ""}}}, "https.letsencrypt.email", None),
    ({"https": {"letsencrypt": {"staging": "true"}}}, "https.letsencrypt.staging", True),
    ({"https": {"letsencrypt": {"domains": ["a.example.org", "a.example.org"]}}}, "https.domains", ["a.example.org"]),
    ({"services": {"cull": {"timeout": "7200"}}}, "services.cull.timeout", 7200),
    ({"user_environment": {"default_app": "jupyterlab"}}, "user_environment.default_app", "jupyterlab"),
])
def test_values_are_converted_to_what_the_schema_wants(tljh_config, key, value):
    changes, _ = from_tljh(tljh_config)
    assert changes == {key: value}
    assert type(changes[key]) is type(value)


def test_invalid_values_pass_through_for_validation_to_name_them():
    changes, _ = from_tljh({"limits": {"memory": "lots"}, "services": {"cull": {"timeout": 30}}})
    assert changes == {"limits.memory": "lots", "services.cull.timeout": 30}


def test_usernames_are_lowercased_once_and_refused_ones_reported_per_name():
    changes, unmapped = from_tljh({"users": {"admin": ["Alice", "alice", " bob ", "Bob Smith", "hub", True]}})
    assert changes == {"users.admin": ["alice", "bob"]}
    assert [(key, reason.split(":")[0]) for key, reason in unmapped if key.startswith("users")] == [
        ("users.admin", "'Bob Smith'"), ("users.admin", "'hub'"), ("users.admin", "True")]


def test_what_hubstead_has_no_counterpart_for_is_reported_with_a_reason():
    tljh_config = {"user_environment": {"default_app": "nteract"}, "limits": {"gpu": 1},
                   "myplugin": {"colour": "blue", "depth": {"max": 3}},
                   "users": {"extra_user_groups": {"Lab Group": ["dave"], "jupyterhub-admins": ["dave"]}}}
    assert from_tljh(tljh_config)[1][:-1] == [
        ("user_environment.default_app", "Hubstead offers jupyterlab or classic, not nteract"),
        ("limits.gpu", tljh.UNKNOWN),
        ("myplugin.colour", tljh.UNKNOWN),
        ("myplugin.depth.max", tljh.UNKNOWN),
        ("users.extra_user_groups.Lab Group", "'Lab Group' is not a unix group name groupadd accepts"),
        ("users.extra_user_groups.jupyterhub-admins",
         "Hubstead manages jupyterhub-admins: its members follow the hub's admin flag (users.admin)"),
    ]


def test_empty_sections_carry_nothing():
    assert from_tljh({"users": {"extra_user_groups": {}}, "limits": None, "auth": {"type": "native"}}) == (
        {"auth.type": "native"}, [])


@pytest.mark.parametrize("tljh_config, message", [
    ({"limits": "2G"}, "limits: '2G' is not a valid value; expected a section of keys"),
    ({"https": {"letsencrypt": ["hub.example.org"]}},
     "https.letsencrypt: ['hub.example.org'] is not a valid value; expected a section of keys"),
    ({"users": {"admin": "alice"}}, "users.admin: 'alice' is not a valid value; expected a list"),
    ({"https": {"letsencrypt": {"domains": "hub.example.org"}}},
     "https.domains: 'hub.example.org' is not a valid value; expected a list"),
])
def test_a_broken_shape_is_refused_naming_the_key(tljh_config, message):
    with pytest.raises(config.ConfigError, match="^" + re.escape(message) + "$"):
        from_tljh(tljh_config)


def test_merge_adds_to_lists_and_writes_only_real_changes():
    current = {"users": {"admin": ["sam"]}, "http": {"port": 8000}}
    new = merge(current, {"users.admin": ["alice", "sam"], "users.banned": [], "http.port": 80,
                          "services.cull.enabled": True, "limits.memory": "1G"})
    assert new == {"users": {"admin": ["sam", "alice"]}, "http": {"port": 80}, "limits": {"memory": "1G"}}
    assert current == {"users": {"admin": ["sam"]}, "http": {"port": 8000}}, "merge does not mutate"


# --- the command ---------------------------------------------------------------------------


def hubstead(*args, input=None):
    """Run `hubstead ARGS` in-process (tests.harness.hubcli.run_in_process)."""
    return run_in_process(*args, input=input)


HUB = """\
# Our hub.
users:
  admin:
    - sam  # installed it
http:
  port: 8000
"""


@pytest.fixture
def files(tmp_path):
    hub, source = tmp_path / "config.yaml", tmp_path / "tljh.yaml"
    hub.write_text(HUB)
    source.write_text(TLJH)
    return types.SimpleNamespace(hub=hub, source=source, dir=tmp_path)


def import_tljh(files, *args, input=None):
    return hubstead("config", "--config", str(files.hub), "import-tljh", str(files.source), *args, input=input)


def unchanged(files):
    return (files.hub.read_text() == HUB
            and sorted(p.name for p in files.dir.iterdir()) == ["config.yaml", "tljh.yaml"])


def test_dry_run_shows_the_changes_and_the_rest_and_writes_nothing(files):
    done = import_tljh(files, "--dry-run")
    assert done.code == 0, done.err
    assert unchanged(files)
    lines = done.out.splitlines()
    assert lines[0] == f"Changes to {files.hub}:"
    assert "  http.port: 8000 -> 80" in lines
    assert "  users.admin: ['sam'] -> ['sam', 'alice', 'carol']" in lines
    assert "  limits.memory: None -> '2G'" in lines
    assert "  https.domains: [] -> ['hub.example.org']" in lines
    assert "  auth.native.minimum_password_length: 8 -> 10" in lines
    assert not any(line.startswith("  services.cull.enabled") for line in lines), "already true: no change"
    assert f"Not carried over ({len(EXPECTED_UNMAPPED)}):" in lines
    assert f"  traefik_api.password: {NO_TRAEFIK}" in lines
    assert "s3cret" not in done.out
    assert lines[-1].startswith("Dry run: ") and lines[-1].endswith(" changes, nothing written.")
    assert done.err == ""


def test_yes_applies_every_change_in_one_write(files):
    done = import_tljh(files, "--yes")
    assert done.code == 0, done.err
    assert done.out.splitlines()[-1].startswith("imported ")
    assert done.out.endswith(f" changes from {files.source}; {RELOAD}\n")
    written = config.effective(config.load(files.hub))
    for key, value in EXPECTED_CHANGES.items():
        expected = ["sam", "alice", "carol"] if key == "users.admin" else value
        assert config.get_value(written, key) == expected, key
    assert files.hub.with_name("config.yaml.prev").read_text() == HUB, "one write: .prev is the file before"
    text = files.hub.read_text()
    assert "# Our hub." in text and "# installed it" in text
    assert "traefik" not in text and "address: 10.0.0.5" in text


def test_importing_again_changes_nothing(files):
    assert import_tljh(files, "--yes").code == 0
    before = files.hub.read_bytes()
    done = import_tljh(files, "--yes")
    assert done.code == 0
    assert done.out.startswith(f"Nothing to change: {files.hub} already has these settings.\n")
    assert f"Not carried over ({len(EXPECTED_UNMAPPED)}):" in done.out
    assert files.hub.read_bytes() == before


def test_into_a_config_file_that_does_not_exist_yet(files):
    files.hub.unlink()
    assert import_tljh(files, "--yes").code == 0
    assert files.hub.read_text().startswith("# Hubstead's configuration.")
    assert config.load(files.hub)["users"]["admin"] == ["alice", "carol"]


def test_without_a_terminal_it_refuses_to_ask(files):
    done = import_tljh(files)
    assert done.code == 2
    assert "Pass --yes to confirm without a terminal." in done.err
    assert unchanged(files)


@pytest.mark.parametrize("answer, code", [("n\n", 1), ("y\n", 0)])
def test_at_a_terminal_it_asks(files, monkeypatch, answer, code):
    terminal = types.SimpleNamespace(stdin=types.SimpleNamespace(isatty=lambda: True))
    monkeypatch.setattr(common, "sys", terminal)
    done = import_tljh(files, input=answer)
    assert done.code == code, done.err
    shown = done.out.split("Not carried over")[0].splitlines()[1:]
    assert len(shown) == 20, "the changes that alter the config; the rest already have those values"
    assert f"Write these 20 changes to {files.hub}? [y/N]: {answer}" in done.out
    assert unchanged(files) == (answer == "n\n")


LTI = """\
auth:
  type: ltiauthenticator.LTIAuthenticator
  LTIAuthenticator:
    consumers: {key: lti-very-secret}
"""


def test_only_unmapped_settings_exit_0_and_write_nothing(files):
    files.source.write_text(LTI)
    done = import_tljh(files, "--yes")
    assert done.code == 0
    assert done.out.startswith(f"Nothing to import: no setting in {files.source} carries over.\nNot carried over (2):\n")
    assert "lti-very-secret" not in done.out
    assert unchanged(files)


def test_unmapped_settings_beside_changes_still_exit_0(files, monkeypatch):
    from traitlets import List, Unicode
    from traitlets.config import Configurable

    from hubstead.config import auth

    class FakeGitHub(Configurable):  # oauthenticator is in the hub's environment, not here
        client_id = Unicode(config=True)
        client_secret = Unicode(config=True)
        oauth_callback_url = Unicode(config=True)
        allowed_organizations = List(config=True)

    monkeypatch.setattr(auth, "import_class", lambda path: FakeGitHub)
    files.source.write_text(GITHUB)
    done = import_tljh(files, "--yes")
    assert done.code == 0, done.err
    assert f"  auth.GitHubOAuthenticator.client_secret: {tljh.SECRET}\n" in done.out
    assert "gh-very-secret" not in done.out
    imported = config.load(files.hub)
    assert imported["http"]["port"] == 8080
    assert imported["auth"]["type"] == "github"
    assert imported["auth"]["GitHubOAuthenticator"]["allowed_organizations"] == ["our-lab"]
    assert "client_secret" not in imported["auth"]["GitHubOAuthenticator"]


@pytest.mark.parametrize("replace, message", [
    (("timeout: 3600", "timeout: -5"), "services.cull.timeout: -5 is less than the minimum of 1"),
    (("memory: 2G", "memory: 2 GB"), "limits.memory: '2 GB' is not a size"),
    (("port: 443", "port: 70000"), "https.port: 70000 is greater than the maximum of 65535"),
    (("default_app: classic", "default_app: vscode"),
     "user_environment.default_app: 'vscode' is not one of jupyterlab, classic"),
    (("email: ops@example.org", "email: ops"), "https.letsencrypt.email: "),
])
@pytest.mark.parametrize("flag", ["--yes", "--dry-run"])
def test_an_invalid_value_writes_nothing_and_is_one_line_naming_the_key(files, replace, message, flag):
    files.source.write_text(TLJH.replace(*replace))
    done = import_tljh(files, flag)
    assert done.code == 1
    assert done.err.startswith(f"error: cannot import {files.source}: {message}"), done.err
    assert done.err.count("\n") == 1 and done.out == ""
    assert unchanged(files)


@pytest.mark.parametrize("text, message", [
    ("users: [alice\n", "is not valid YAML (line "),
    ("limits: 2G\n", "limits: '2G' is not a valid value; expected a section of keys"),
    ("- alice\n", "must hold a mapping of keys"),
])
def test_a_broken_tljh_file_is_one_line(files, text, message):
    files.source.write_text(text)
    done = import_tljh(files, "--yes")
    assert done.code == 1
    assert done.err.startswith(f"error: {files.source}") and message in done.err, done.err
    assert done.err.count("\n") == 1
    assert unchanged(files)


def test_a_missing_tljh_file_is_one_line(files):
    files.source.unlink()
    done = import_tljh(files, "--yes")
    assert (done.code, done.err) == (1, f"error: {files.source} does not exist\n")


def test_an_invalid_config_file_must_be_fixed_first(files):
    files.hub.write_text("http:\n  port: eighty\n")
    done = import_tljh(files, "--yes")
    assert done.code == 1
    assert done.err.startswith(f"error: {files.hub} is not valid, fix it first: http.port:")
    assert files.hub.read_text() == "http:\n  port: eighty\n"


def test_usage_errors_exit_2(files):
    assert hubstead("config", "import-tljh").code == 2
    assert hubstead("config", "import-tljh", str(files.source), "--force").code == 2


def tljh_schema_leaves():
    """Every setting TLJH's own schema and defaults name (tljh/config_schema.py and
    tljh/configurer.py's `default`), written out: the keys TLJH documents."""
    return ["base_url", "users.allowed", "users.banned", "users.admin", "users.extra_user_groups.<group>",
            "limits.memory", "limits.cpu", "http.address", "http.port", "https.enabled", "https.address",
            "https.port", "https.tls.cert", "https.tls.key", "https.letsencrypt.email",
            "https.letsencrypt.domains", "https.letsencrypt.staging", "traefik_api.ip", "traefik_api.port",
            "traefik_api.username", "traefik_api.password", "user_environment.default_app",
            "services.cull.enabled", "services.cull.timeout", "services.cull.every",
            "services.cull.concurrency", "services.cull.users", "services.cull.max_age",
            "services.cull.remove_named_servers", "auth.type"]


def test_every_key_tljh_documents_carries_over_but_traefik(tmp_path):
    """The full TLJH file: each key TLJH's schema has is imported, except traefik_api.*
    (docs/migrating-from-tljh.md: no Traefik), and the import is a valid config."""
    changes, unmapped = from_tljh(loaded(TLJH, tmp_path))
    not_carried = {key for key, _ in unmapped}
    for key in tljh_schema_leaves():
        present = key.replace("<group>", "datasci")
        imported = {tljh.SAME.get(present, present)} & set(changes)
        if key.startswith("traefik_api."):
            assert present in not_carried and not imported, key
            assert dict(unmapped)[present] == tljh.NOT_CARRIED["traefik_api"]
        else:
            assert imported, f"{key} is lost"
    merged = merge({}, changes)
    settings = config.effective(config.validate(merged))
    assert settings["base_url"] == "/jupyter/" and settings["https"]["address"] == "10.0.0.5"
    assert settings["users"]["extra_user_groups"] == {"datasci": ["dave"]}
    assert "no Traefik" in tljh.NOT_CARRIED["traefik_api"]
