"""TLJH's config keys in Hubstead's schema, with TLJH's meaning and value forms (issue 10):
base_url, http/https.address, users.extra_user_groups.<group>, the culler's ranges, and
the one-line refusal of what Hubstead lacks by design (traefik_api.*)."""

import pytest

from hubstead import config
from tests.harness.hubcli import run_in_process


@pytest.fixture
def path(tmp_path):
    return tmp_path / "config.yaml"


def cfg(path, *args):
    return run_in_process("config", "--config", str(path), *args)


@pytest.mark.parametrize("key, value, parsed", [
    ("services.cull.every", "5", 5),
    ("services.cull.timeout", "30", 30),
    ("services.cull.max_age", "15", 15),
    ("services.cull.users", "True", True),
    ("services.cull.remove_named_servers", "true", True),
    ("base_url", "/custom-base", "/custom-base"),
    ("base_url", "/jupyter/", "/jupyter/"),
    ("http.address", "127.0.0.1", "127.0.0.1"),
    ("https.address", "::1", "::1"),
    ("user_environment.default_app", "classic", "classic"),
])
def test_tljh_values_are_accepted_as_tljh_config_reads_them(path, key, value, parsed):
    done = cfg(path, "set", key, value)
    assert done.code == 0, done.err
    assert config.get_value(config.load(path), key) == parsed


def test_extra_user_groups_take_users_per_group(path):
    assert cfg(path, "add-item", "users.extra_user_groups.somegroup", "bob").code == 0
    assert cfg(path, "add-item", "users.extra_user_groups.somegroup", "carol").code == 0
    assert cfg(path, "add-item", "users.extra_user_groups.other", "bob").code == 0
    assert config.load(path)["users"]["extra_user_groups"] == {"somegroup": ["bob", "carol"], "other": ["bob"]}
    assert cfg(path, "remove-item", "users.extra_user_groups.somegroup", "bob").code == 0
    assert config.get_value(config.load(path), "users.extra_user_groups.somegroup") == ["carol"]
    listed = [entry.name for entry in config.keys()]
    assert "users.extra_user_groups.<group>" in listed


@pytest.mark.parametrize("args, message", [
    (("add-item", "users.extra_user_groups.Some Group", "bob"), "'Some Group' is not a valid name"),
    (("add-item", "users.extra_user_groups.somegroup", "Bob Smith"), "'Bob Smith': use lowercase"),
    (("add-item", "users.extra_user_groups.jupyterhub-admins", "bob"), "Hubstead manages jupyterhub-admins"),
    (("set", "base_url", "custom-base"), "base_url: 'custom-base' is not a URL path"),
    (("set", "http.address", "localhost"), "http.address: 'localhost' is not an IP address"),
    (("set", "https.address", "10.0.0"), "https.address: '10.0.0' is not an IP address"),
    (("set", "services.cull.every", "0"), "services.cull.every:"),
    (("set", "services.cull.every", "often"), "services.cull.every: 'often' is not a valid value"),
])
def test_bad_values_are_one_line_and_change_nothing(path, args, message):
    path.write_text("http:\n  port: 8080\n")
    done = cfg(path, *args)
    assert done.code == 1
    assert message in done.err and len(done.err.strip().splitlines()) == 1, done.err
    assert path.read_text() == "http:\n  port: 8080\n"


@pytest.mark.parametrize("args", [("set", "traefik_api.port", "8099"), ("set", "traefik_api.password", "x"),
                                  ("get", "traefik_api.ip"), ("unset", "traefik_api")])
def test_traefik_keys_are_refused_in_one_line_naming_the_hubstead_way(path, args):
    done = cfg(path, *args)
    assert done.code == 1
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and "unknown key" not in lines[0], done.err
    assert "no Traefik" in lines[0] and "configurable-http-proxy" in lines[0]


def test_a_file_with_traefik_api_is_refused_in_one_line(path):
    path.write_text("traefik_api:\n  port: 8099\n")
    done = cfg(path, "validate")
    assert done.code == 1 and "no Traefik" in done.err and "unknown key" not in done.err


@pytest.mark.parametrize("value, normal", [("/", "/"), ("/custom-base", "/custom-base/"),
                                           ("/a/b/", "/a/b/"), (None, "/")])
def test_base_url_has_a_slash_at_each_end(value, normal):
    settings = config.effective({} if value is None else {"base_url": value})
    assert config.base_url(settings) == normal
