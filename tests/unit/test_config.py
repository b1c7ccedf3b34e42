"""The config file: schema validation names the key, writes are atomic and keep comments."""

import copy
import re

import pytest

from hubstead import config
from hubstead.config.schema import SCHEMA


@pytest.mark.parametrize("bad, message", [
    ({"limits": {"memory": "1 G"}}, "limits.memory: '1 G' is not a size; use a number with K, M, G or T"),
    ({"limits": {"memory": "lots"}}, "limits.memory: 'lots' is not a size"),
    ({"limits": {"cpu": "two"}}, "limits.cpu: 'two' is not a valid value; expected a number or null"),
    ({"limits": {"cpu": 0}}, "limits.cpu:"),
    ({"http": {"port": "eighty"}}, "http.port: 'eighty' is not a valid value; expected a whole number"),
    ({"http": {"port": 70000}}, "http.port:"),
    ({"http": {"prot": 80}}, "unknown key http.prot; known keys here: address, port"),
    ({"colour": "blue"}, "unknown key colour; known keys here: users, auth"),
    ({"user_environment": {"default_app": "vscode"}},
     "user_environment.default_app: 'vscode' is not one of jupyterlab, classic"),
    ({"users": {"admin": "alice"}}, "users.admin: 'alice' is not a valid value; expected a list"),
    ({"users": {"admin": ["Bob Smith"]}}, "users.admin: 'Bob Smith': use lowercase letters"),
    ({"users": {"banned": ["root"]}}, "users.banned: 'root': 'root' is reserved"),
    ({"auth": {"native": {"open_signup": "yes"}}},
     "auth.native.open_signup: 'yes' is not a valid value; expected true or false"),
])
def test_invalid_values_are_refused_naming_the_key(bad, message):
    with pytest.raises(config.ConfigError) as refusal:
        config.validate(bad)
    assert str(refusal.value).startswith(message)
    assert "\n" not in str(refusal.value)


@pytest.mark.parametrize("good", [
    {},
    {"users": {"admin": ["alice"], "allowed": ["bob"], "banned": []}},
    {"limits": {"memory": "1G", "cpu": 0.5}},
    {"limits": {"memory": "512M", "cpu": 2}},
    {"limits": {"memory": None, "cpu": None}},
    {"http": {"port": 8080}, "internal": {"hub_port": 9081, "proxy_api_port": 9001}},
    {"user_environment": {"default_app": "classic"}},
])
def test_valid_configs_pass(good):
    assert config.validate(good) == good


def _schema_leaves(schema, where=()):
    """(path, default) of every key the schema defines that holds a value, not a section."""
    for key, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            yield from _schema_leaves(sub, (*where, key))
        else:
            yield (*where, key), sub.get("default")


def test_defaults_cover_every_key_and_are_valid():
    settings = config.effective({})
    config.validate(settings)
    leaves = dict(_schema_leaves(SCHEMA))
    assert len(leaves) > 40, "the walk found the schema's keys"
    for path, default in leaves.items():
        value = settings
        for part in path:
            assert isinstance(value, dict) and part in value, f"{'.'.join(path)} is missing from the defaults"
            value = value[part]
        assert value == default, f"{'.'.join(path)}: {value!r} is not the schema's default {default!r}"
    # A few a TLJH operator relies on, spelled out.
    assert settings["http"]["port"] == 80
    assert settings["users"]["admin"] == []
    assert settings["auth"]["type"] == "native"
    assert settings["limits"]["memory"] is None and settings["limits"]["cpu"] is None


def test_every_key_is_documented():
    def walk(schema, where):
        for key, sub in schema.get("properties", {}).items():
            assert sub.get("description"), f"{where}{key} has no description"
            walk(sub, f"{where}{key}.")
    walk(SCHEMA, "")


def test_effective_keeps_what_the_operator_set():
    settings = config.effective({"limits": {"memory": "2G"}})
    assert settings["limits"] == {"memory": "2G", "cpu": None, "disk": None, "tasks": 2048,
                                  "memory_guarantee": None, "max_servers": None, "concurrent_starts": None,
                                  "groups": {}}


def test_set_add_and_get_are_pure():
    original = {"users": {"admin": ["alice"]}}
    changed = config.add_items(original, "users.admin", ["bob", "alice"])
    assert changed["users"]["admin"] == ["alice", "bob"]
    assert original == {"users": {"admin": ["alice"]}}
    assert config.get_value(config.set_value({}, "limits.memory", "1G"), "limits.memory") == "1G"
    assert config.get_value({}, "limits.memory", "none") == "none"


def test_differences_list_each_changed_leaf():
    old = {"users": {"admin": ["alice"]}, "http": {"port": 80}}
    new = {"users": {"admin": ["alice", "bob"]}, "http": {"port": 80}, "limits": {"memory": "1G"}}
    assert config.differences(old, new) == [
        "limits.memory: None -> '1G'", "users.admin: ['alice'] -> ['alice', 'bob']"]


def test_save_is_atomic_keeps_previous_and_comments(tmp_path):
    path = tmp_path / "config.yaml"
    assert config.save(path, {"users": {"admin": ["alice"]}}, header="# site notes\n")
    loaded = config.load(path)
    loaded["http"] = {"port": 8080}
    assert config.save(path, loaded)
    text = path.read_text()
    assert "# site notes" in text and "port: 8080" in text
    assert "port" not in (tmp_path / "config.yaml.prev").read_text()
    assert not config.save(path, config.load(path)), "an unchanged config is not rewritten"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "config.yaml.prev"]


def test_invalid_config_is_never_written(tmp_path):
    path = tmp_path / "config.yaml"
    config.save(path, {"http": {"port": 8080}})
    before = path.read_text()
    with pytest.raises(config.ConfigError, match="http.port"):
        config.save(path, {"http": {"port": "x"}})
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("users:\n  admin: [alice\nhttp: {port: 80}\n")
    with pytest.raises(config.ConfigError, match=r"is not valid YAML \(line \d+\)"):
        config.load(path)


def test_a_missing_file_is_an_empty_config_and_an_empty_one_is_refused(tmp_path):
    assert config.load(tmp_path / "absent.yaml") == {}
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(config.ConfigError, match="is empty"):
        config.load(tmp_path / "empty.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(config.ConfigError, match="must hold a mapping"):
        config.load(tmp_path / "list.yaml")


@pytest.mark.parametrize("key, text, value", [
    ("http.port", "8080", 8080),
    ("limits.memory", "1G", "1G"),
    ("limits.memory", "512", "512"),
    ("limits.memory", "null", None),
    ("limits.memory", "None", None),
    ("limits.cpu", "0.5", 0.5),
    ("limits.cpu", "2", 2),
    ("limits.cpu", "none", None),
    ("auth.native.open_signup", "true", True),
    ("auth.native.open_signup", "False", False),
    ("auth.native.open_signup", "yes", "yes"),
    ("http.port", "eighty", "eighty"),
    ("http.port", "null", "null"),
    ("http.port", "1_000", "1_000"),
    ("user_environment.default_app", "classic", "classic"),
    ("auth.type", "true", "true"),
])
def test_parse_value_follows_the_key_type(key, text, value):
    parsed = config.parse_value(key, text)
    assert parsed == value and type(parsed) is type(value)


def test_parse_value_refuses_sections_lists_and_unknown_keys():
    with pytest.raises(config.ConfigError, match=r"^limits is a section, not a value; set one of its keys: "
                                                 r"limits.memory, limits.cpu, limits.disk, limits.tasks, limits.memory_guarantee, "
                                                 r"limits.max_servers, limits.concurrent_starts, limits.groups$"):
        config.parse_value("limits", "1G")
    with pytest.raises(config.ConfigError, match=r"^users.admin is a list"):
        config.parse_value("users.admin", "alice")
    with pytest.raises(config.ConfigError, match=r"^unknown key limit.memory; nearest known keys: limits.memory"):
        config.parse_value("limit.memory", "1G")


def test_parse_item_takes_list_keys_only():
    assert config.parse_item("users.admin", "alice") == "alice"
    with pytest.raises(config.ConfigError, match=r"^http.port is not a list but a single value"):
        config.parse_item("http.port", "80")
    with pytest.raises(config.ConfigError, match=r"^auth is not a list but a section"):
        config.parse_item("auth", "x")


@pytest.mark.parametrize("typed, nearest", [
    ("http.prot", "http.port"),
    ("port", "http.port"),
    ("memory", "limits.memory"),
    ("users.admins", "users.admin"),
    ("auth.native.xyzzy", "auth.native.open_signup"),
    ("xyzzy", "users"),
])
def test_nearest_keys_suggest_a_known_key(typed, nearest):
    assert nearest in config.nearest_keys(typed)
    with pytest.raises(config.ConfigError) as refusal:
        config.lookup(typed)
    assert str(refusal.value).startswith(f"unknown key {typed}; nearest known keys: ")


def test_keys_list_every_leaf_with_type_default_and_description():
    entries = {entry.name: entry for entry in config.keys()}
    assert list(entries)[:3] == ["users.admin", "users.allowed", "users.banned"]
    assert "limits" not in entries
    assert entries["http.port"].type == "integer 1-65535" and entries["http.port"].default == 80
    assert entries["users.admin"].kind == "list" and entries["users.admin"].type == "list of usernames"
    assert entries["limits.memory"].type == "size (e.g. 512M, 1G) or null"
    assert entries["user_environment.default_app"].choices == ("jupyterlab", "classic")
    assert all(entry.description for entry in entries.values())
    sections = [entry.name for entry in config.keys(sections=True) if entry.kind == "section"]
    assert sections == ["users", "users.extra_user_groups", "auth", "auth.native", "backup", "http", "https", "https.letsencrypt", "https.tls",
                        "services", "services.cull", "envs", "binder", "binder.providers",
                        "binder.providers.gh", "binder.providers.gl", "binder.apt", "internal", "limits",
                        "limits.groups", "limits.groups.<group>", "shared", "user_environment"]
    assert config.lookup("limits").default == {"memory": None, "cpu": None, "disk": None, "tasks": 2048,
                                                "memory_guarantee": None, "max_servers": None, "concurrent_starts": None,
                                  "groups": {}}


def test_format_value_reads_as_typed():
    assert [config.format_value(value) for value in (80, True, None, "1G", ["alice", "bob"], [], "512", "")] == [
        "80", "true", "null", "1G", "[alice, bob]", "[]", '"512"', '""']


def test_unset_and_remove_are_pure_and_prune_empty_sections():
    original = {"limits": {"memory": "1G"}, "http": {"port": 8080}, "users": {"admin": ["alice", "bob"]}}
    snapshot = copy.deepcopy(original)
    assert config.unset_value(original, "limits.memory") == {"http": {"port": 8080},
                                                             "users": {"admin": ["alice", "bob"]}}
    assert config.unset_value(original, "limits.cpu") == original
    assert config.unset_value(original, "http") == {"limits": {"memory": "1G"}, "users": {"admin": ["alice", "bob"]}}
    assert config.remove_items(original, "users.admin", ["alice", "carol"])["users"]["admin"] == ["bob"]
    assert config.remove_items(original, "users.allowed", ["alice"]) == original
    assert original == snapshot


def test_list_edits_keep_the_comments_of_other_items(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("users:\n  admin:\n    - alice  # the owner\n    - bob\n")
    changed = config.add_items(config.load(path), "users.admin", ["carol"])
    changed = config.remove_items(changed, "users.admin", ["bob"])
    assert config.dumps(changed) == "users:\n  admin:\n    - alice  # the owner\n    - carol\n"


def test_unset_keeps_the_comment_lines_that_follow_the_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("http:\n  port: 8080  # public\n\n# Agreed with IT\nlimits:\n  memory: 1G\n")
    assert config.dumps(config.unset_value(config.load(path), "http.port")) == (
        "\n# Agreed with IT\nlimits:\n  memory: 1G\n")
    path.write_text("users:\n  admin:\n    - alice\n\n# Agreed with IT\nlimits:\n  memory: 1G\n")
    assert config.dumps(config.remove_items(config.load(path), "users.admin", ["alice"])) == (
        "users:\n  admin: []\n\n# Agreed with IT\nlimits:\n  memory: 1G\n")


def test_the_config_reference_matches_the_schema():
    """docs/reference/config.md is generated; regenerate it with scripts/config-reference."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "config-reference"
    checked = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_list_edits_refuse_a_value_that_is_not_a_list():
    broken = {"users": {"admin": "alice"}}
    for change in (config.add_items, config.remove_items):
        with pytest.raises(config.ConfigError, match=r"^users.admin: 'alice' is not a valid value; expected a list"):
            change(broken, "users.admin", ["ali"])
    assert config.add_items({"users": {"admin": None}}, "users.admin", ["bob", "bob"]) == {"users": {"admin": ["bob"]}}


@pytest.mark.parametrize("bad, key", [
    ({"https": {"domains": ["not a host"]}}, "https.domains.0"),
    ({"https": {"letsencrypt": {"email": "nobody"}}}, "https.letsencrypt.email"),
    ({"services": {"cull": {"timeout": 0}}}, "services.cull.timeout"),
    ({"services": {"cull": {"enabled": "yes"}}}, "services.cull.enabled"),
])
def test_https_and_culler_values_are_checked(bad, key):
    with pytest.raises(config.ConfigError, match=key.replace(".", r"\.")):
        config.validate(bad)


def test_culler_is_a_hub_service_with_only_its_scopes():
    from traitlets.config import Config

    from hubstead.hub import hubconfig

    c = Config()
    settings = config.effective({"services": {"cull": {"timeout": 1200, "users": True}}})
    hubconfig.configure_services(c, settings)
    culler = next(service for service in c.JupyterHub.services if service["name"] == "cull-idle")
    assert "--timeout=1200" in culler["command"] and "--cull-users=true" in culler["command"]
    # jupyterhub-idle-culler's options all take a value: a bare flag makes it exit.
    options = culler["command"][culler["command"].index("jupyterhub_idle_culler") + 1:]
    assert all(re.fullmatch(r"--[a-z-]+=[^=]+", part) for part in options), culler["command"]
    assert "--cull-admin-users=false" in culler["command"]
    role = next(role for role in c.JupyterHub.load_roles if role["name"] == "cull-idle")
    assert "delete:servers" in role["scopes"] and "admin:users" in role["scopes"]
    c = Config()
    hubconfig.configure_services(c, config.effective({"services": {"cull": {"enabled": False}}}))
    assert all(service["name"] != "cull-idle" for service in c.JupyterHub.services)


def test_the_web_service_is_started_by_the_hub_and_serves_v2_links(tmp_path, monkeypatch):
    from traitlets.config import Config

    from hubstead import paths

    from hubstead.hub import hubconfig

    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    (tmp_path / "hubstead-api-token").write_text("secret-token\n")
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    c = Config()
    hubconfig.configure_services(c, config.effective({"internal": {"web_port": 9099}}))
    service = next(item for item in c.JupyterHub.services if item["name"] == "hubstead")
    assert service["url"] == "http://127.0.0.1:9099" and service["api_token"] == "secret-token"
    assert service["command"][-2:] == ["-m", "hubstead.web"] and service["oauth_no_confirm"]
    assert service["environment"]["https_proxy"] == "http://proxy.example:3128", "builds from links reach PyPI"
    assert c.Proxy.extra_routes == {"/v2/": "http://127.0.0.1:9099"}
    user_role = next(role for role in c.JupyterHub.load_roles if role["name"] == "user")
    assert set(user_role["scopes"]) == {"self", "access:services!service=hubstead"}
