"""`hubstead config`: each verb against a temp file, through `hubstead.cli.main` as the
installed command runs, so the exit codes and `error:` lines are the real ones."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hubstead import config
from tests.harness.hubcli import run_in_process

RELOAD = "run `hubstead config reload` to apply."
COMMENTED = """\
# Workshop hub, managed by the lab.
users:
  admin:
    - alice  # the organiser
http:
  port: 8080  # 80 is taken by nginx

# Agreed with IT in May.
limits:
  memory: 2G
"""



def hubstead(*args, env=None):
    """Run `hubstead ARGS` in-process (tests.harness.hubcli.run_in_process)."""
    return run_in_process(*args, env=env)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "config.yaml"


@pytest.fixture
def cfg(path):
    """`hubstead config --config PATH ARGS`."""
    return lambda *args: hubstead("config", "--config", str(path), *args)


def test_set_stores_a_value_of_the_key_type_and_says_what_changed(cfg, path):
    done = cfg("set", "http.port", "8080")
    assert done.code == 0, done.err
    assert done.out == f"set http.port to 8080 (was 80, the default); {RELOAD}\n"
    assert config.load(path)["http"]["port"] == 8080
    assert path.read_text().startswith("# Hubstead's configuration."), "a new file gets the header"


@pytest.mark.parametrize("key, text, stored", [
    ("limits.memory", "1G", "1G"),
    ("limits.memory", "536870912", "536870912"),
    ("limits.cpu", "0.5", 0.5),
    ("limits.cpu", "2", 2),
    ("auth.native.open_signup", "true", True),
    ("auth.native.minimum_password_length", "12", 12),
    ("user_environment.default_app", "classic", "classic"),
])
def test_set_parses_by_type(cfg, path, key, text, stored):
    assert cfg("set", key, text).code == 0
    value = config.get_value(config.load(path), key)
    assert value == stored and isinstance(value, type(stored))  # ruamel's ScalarFloat is a float


def test_set_null_or_none_clears_a_nullable_key(cfg, path):
    cfg("set", "limits.memory", "1G")
    done = cfg("set", "limits.memory", "none")
    assert done.out == f"set limits.memory to null (was 1G); {RELOAD}\n"
    assert config.load(path)["limits"]["memory"] is None


def test_setting_the_same_value_changes_nothing(cfg, path):
    cfg("set", "http.port", "8080")
    before = path.read_bytes()
    done = cfg("set", "http.port", "8080")
    assert (done.code, done.out) == (0, "http.port is already 8080; nothing changed.\n")
    assert path.read_bytes() == before
    assert not path.with_name("config.yaml.prev").exists()


@pytest.mark.parametrize("args, message", [
    (("set", "http.port", "eighty"), "http.port: 'eighty' is not a valid value; expected a whole number"),
    (("set", "http.port", "70000"), "http.port: 70000 is greater than the maximum of 65535"),
    (("set", "limits.memory", "lots"), "limits.memory: 'lots' is not a size"),
    (("set", "limits.cpu", "0"), "limits.cpu:"),
    (("set", "auth.native.open_signup", "yes"), "auth.native.open_signup: 'yes' is not a valid value"),
    (("set", "user_environment.default_app", "vscode"),
     "user_environment.default_app: 'vscode' is not one of jupyterlab, classic"),
    (("add-item", "users.admin", "Bob Smith"), "users.admin: 'Bob Smith': use lowercase letters"),
    (("add-item", "users.banned", "root"), "users.banned: 'root': 'root' is reserved"),
])
def test_an_invalid_value_is_one_line_naming_the_key_and_the_file_is_unchanged(cfg, path, args, message):
    path.write_text(COMMENTED)
    before = path.read_bytes()
    done = cfg(*args)
    assert done.code == 1
    assert done.err.startswith(f"error: {message}") and done.err.count("\n") == 1, done.err
    assert done.out == ""
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.yaml"]


LIMITS_KEYS = ("limits.memory, limits.cpu, limits.disk, limits.tasks, limits.memory_guarantee, limits.max_servers, "
               "limits.concurrent_starts, limits.groups")


@pytest.mark.parametrize("args", [
    ("set", "limit.memory", "1G"), ("get", "limit.memory"), ("unset", "limit.memory"),
    ("add-item", "limit.memory", "1G"), ("remove-item", "limit.memory", "1G"),
])
def test_an_unknown_key_names_the_nearest_known_keys(cfg, path, args):
    path.write_text(COMMENTED)
    before = path.read_bytes()
    done = cfg(*args)
    assert done.code == 1
    assert done.err == ("error: unknown key limit.memory; nearest known keys: limits.memory, "
                        "limits.groups.<group>.memory, limits.memory_guarantee\n")
    assert path.read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (("set", "limits", "1G"),
     "error: limits is a section, not a value; set one of its keys: " + LIMITS_KEYS + "\n"),
    (("set", "users.admin", "bob"),
     "error: users.admin is a list; change it one item at a time with add-item and remove-item\n"),
    (("add-item", "http.port", "81"),
     "error: http.port is not a list but a single value (integer 1-65535); only lists take items\n"),
    (("remove-item", "limits", "x"), "error: limits is not a list but a section; only lists take items\n"),
])
def test_sections_and_lists_are_refused_where_they_do_not_fit(cfg, path, args, message):
    path.write_text(COMMENTED)
    done = cfg(*args)
    assert (done.code, done.err) == (1, message)
    assert path.read_text() == COMMENTED


def test_comments_survive_set_add_and_remove(cfg, path):
    path.write_text(COMMENTED)
    assert cfg("set", "limits.memory", "4G").code == 0
    assert cfg("add-item", "users.admin", "bob").code == 0
    assert cfg("remove-item", "users.admin", "bob").code == 0
    assert path.read_text() == COMMENTED.replace("2G", "4G")
    assert path.with_name("config.yaml.prev").read_text().count("#") == 4


def test_get_prints_the_value_or_its_default(cfg, path):
    path.write_text(COMMENTED)
    assert cfg("get", "http.port").out == "8080\n"
    assert cfg("get", "internal.hub_port").out == "8081\n"
    assert cfg("get", "limits.cpu").out == "null\n"
    assert cfg("get", "limits.memory").out == "2G\n"
    assert cfg("get", "users.admin").out == "- alice\n"
    assert cfg("get", "users.banned").out == "[]\n"
    assert cfg("get", "limits").out == ("memory: 2G\ncpu: null\ndisk: null\ntasks: 2048\n"
                                         "memory_guarantee: null\nmax_servers: null\nconcurrent_starts: null\n"
                                         "groups: {}\n")
    assert cfg("get", "users").out == "admin:\n  - alice\nallowed: []\nbanned: []\nextra_user_groups: {}\n"
    assert cfg("get", "auth").out.startswith("type: native\nnative:\n  open_signup: false\n")


def test_get_json_parses(cfg, path):
    path.write_text(COMMENTED)
    assert json.loads(cfg("get", "--json", "users.admin").out) == ["alice"]
    assert json.loads(cfg("get", "limits", "--json").out) == {"memory": "2G", "cpu": None, "disk": None, "tasks": 2048,
                                                               "memory_guarantee": None, "max_servers": None,
                                                               "concurrent_starts": None, "groups": {}}
    assert json.loads(cfg("get", "--json", "auth.native.open_signup").out) is False


def test_show_prints_the_file_as_it_is(cfg, path):
    path.write_text(COMMENTED)
    done = cfg("show")
    assert (done.code, done.out, done.err) == (0, COMMENTED, "")


def test_show_json_is_the_effective_config(cfg, path):
    path.write_text(COMMENTED)
    shown = json.loads(cfg("show", "--json").out)
    assert shown == config.effective(config.load(path))
    assert shown["http"]["port"] == 8080 and shown["internal"]["hub_port"] == 8081


def test_show_without_a_file_says_so_and_json_gives_the_defaults(cfg, path):
    done = cfg("show")
    assert (done.code, done.out) == (0, "")
    assert "does not exist yet" in done.err
    assert json.loads(cfg("show", "--json").out) == config.effective({})
    assert not path.exists()


def test_show_warns_about_an_invalid_file(cfg, path):
    path.write_text("http:\n  port: eighty\n")
    done = cfg("show")
    assert done.code == 0 and done.out == path.read_text()
    assert done.err.startswith("warning: the config is not valid: http.port:")


def test_unset_returns_a_key_to_its_default(cfg, path):
    path.write_text(COMMENTED)
    done = cfg("unset", "http.port")
    assert (done.code, done.out) == (0, f"unset http.port (now 80, the default); {RELOAD}\n")
    text = path.read_text()
    assert "http" not in text, "the section left empty goes too"
    assert "# Agreed with IT in May." in text and "# the organiser" in text
    assert cfg("get", "http.port").out == "80\n"


def test_unset_a_whole_section_or_a_key_not_set(cfg, path):
    path.write_text(COMMENTED)
    assert cfg("unset", "limits").out == f"unset limits (its keys have their defaults); {RELOAD}\n"
    before = path.read_bytes()
    done = cfg("unset", "limits.memory")
    assert (done.code, done.out) == (0, f"limits.memory is not set in {path}; nothing changed.\n")
    assert path.read_bytes() == before


def test_unset_removes_an_unknown_key_that_is_in_the_file(cfg, path):
    path.write_text("colour: blue\nhttp:\n  port: 81\n")
    assert cfg("set", "http.port", "82").err.startswith("error: unknown key colour;")
    assert cfg("unset", "colour").code == 0
    assert path.read_text() == "http:\n  port: 81\n"
    assert cfg("validate").code == 0


def test_add_and_remove_items(cfg, path):
    assert cfg("add-item", "users.admin", "alice").out == f"added alice to users.admin; {RELOAD}\n"
    assert cfg("add-item", "users.admin", "bob").code == 0
    assert cfg("add-item", "users.admin", "alice").out == "alice is already in users.admin; nothing changed.\n"
    assert config.load(path)["users"]["admin"] == ["alice", "bob"]
    assert cfg("remove-item", "users.admin", "alice").out == f"removed alice from users.admin; {RELOAD}\n"
    done = cfg("remove-item", "users.admin", "carol")
    assert (done.code, done.out) == (0, "carol is not in users.admin; nothing changed.\n")
    assert config.load(path)["users"]["admin"] == ["bob"]


def test_list_verbs_on_a_broken_list_say_so(cfg, path):
    path.write_text("users:\n  admin: alice\n")
    for verb in ("add-item", "remove-item"):
        done = cfg(verb, "users.admin", "ali")
        assert (done.code, done.err) == (1, "error: users.admin: 'alice' is not a valid value; expected a list\n")
    assert path.read_text() == "users:\n  admin: alice\n"


def test_validate_the_config_or_another_file(cfg, path, tmp_path):
    path.write_text(COMMENTED)
    assert cfg("validate").out == f"{path} is valid.\n"
    other = tmp_path / "other.yaml"
    other.write_text("limits:\n  memory: 1 G\n")
    done = cfg("validate", str(other))
    assert done.code == 1
    assert done.err.startswith(f"error: {other}: limits.memory: '1 G' is not a size")
    assert cfg("validate", str(tmp_path / "absent.yaml")).err == f"error: {tmp_path / 'absent.yaml'} does not exist\n"
    other.write_text("users: [alice\n")
    assert "is not valid YAML (line" in cfg("validate", str(other)).err


def test_keys_lists_every_key(cfg):
    done = cfg("keys")
    assert done.code == 0
    for entry in config.keys():
        assert f"{entry.name}  ({entry.type}; default {config.format_value(entry.default)})" in done.out
    assert "Port the hub answers on." in done.out


def test_keys_json_parses(cfg):
    listed = json.loads(cfg("keys", "--json").out)
    assert [entry["key"] for entry in listed] == [entry.name for entry in config.keys()]
    port = next(entry for entry in listed if entry["key"] == "http.port")
    assert port == {"key": "http.port", "kind": "value", "type": "integer 1-65535", "default": 80,
                    "description": "Port the hub answers on."}
    app = next(entry for entry in listed if entry["key"] == "user_environment.default_app")
    assert app["choices"] == ["jupyterlab", "classic"]


@pytest.mark.parametrize("args", [
    ("config",), ("config", "frob"), ("config", "get"), ("config", "set", "http.port"),
    ("config", "keys", "--yaml"), ("config", "add-item", "users.admin"),
])
def test_usage_errors_exit_2(args):
    assert hubstead(*args).code == 2


def test_the_config_path_comes_from_hubstead_config(path):
    done = hubstead("config", "set", "http.port", "8000", env={"HUBSTEAD_CONFIG": str(path)})
    assert done.code == 0, done.err
    assert config.load(path)["http"]["port"] == 8000


def test_an_unwritable_path_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = hubstead("config", "--config", str(blocker / "config.yaml"), "set", "http.port", "81")
    assert done.code == 1
    assert done.err.startswith(f"error: cannot write {blocker / 'config.yaml'}:") and done.err.count("\n") == 1


def test_help_imports_nothing_heavy():
    installer = Path(__file__).resolve().parents[2] / "installer"
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from hubstead.cli import main\n"
             "try: main(['--help'])\nexcept SystemExit: pass\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'ruamel', 'jsonschema', 'rich'}))")
    found = subprocess.run([sys.executable, "-c", probe, str(installer)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[-1]
    assert found == "[]"
