"""`hubstead install`'s pure parts: merging options into the config, the roles' variables."""

import pytest

from hubstead import config
from hubstead.install import (
    InstallError,
    InstallOptions,
    desired_config,
    public_url,
    role_variables,
    run_install,
)


def test_admins_are_added_once_and_kept_across_reruns():
    first = desired_config({}, InstallOptions(admins=["alice"]))
    again = desired_config(first, InstallOptions(admins=["alice", "bob"]))
    assert again["users"]["admin"] == ["alice", "bob"]
    assert desired_config(again, InstallOptions()) == again, "a bare re-run keeps what was set"


def test_ports_given_are_set_and_others_left_alone():
    current = {"http": {"port": 8080}, "limits": {"memory": "1G"}}
    desired = desired_config(current, InstallOptions(hub_port=9081))
    assert desired["http"]["port"] == 8080
    assert desired["internal"]["hub_port"] == 9081
    assert desired["limits"]["memory"] == "1G"
    assert current == {"http": {"port": 8080}, "limits": {"memory": "1G"}}, "the input is not changed"


@pytest.mark.parametrize("name", ["Bob Smith", "root", "Alice"])
def test_invalid_admin_is_refused_before_anything_is_written(name):
    with pytest.raises(InstallError, match=f"--admin {name!r}"):
        desired_config({}, InstallOptions(admins=[name]))


def test_an_invalid_existing_config_is_reported_by_key():
    with pytest.raises(config.ConfigError, match="limits.memory"):
        desired_config({"limits": {"memory": "lots"}}, InstallOptions(admins=["alice"]))


def test_role_variables_follow_the_config():
    settings = config.effective({"http": {"port": 8080}})
    variables = role_variables(settings, "/etc/hubstead/config.yaml")
    assert variables["hubstead_http_port"] == 8080
    assert variables["hubstead_hub_port"] == 8081
    assert variables["hubstead_config_path"] == "/etc/hubstead/config.yaml"
    assert variables["hubstead_default_env_lock"].endswith("envs/default/requirements.txt")


def test_names_python_defines_reach_the_roles_and_match_their_documented_defaults():
    """The unix groups and the builder's account are defined once, in Python; the roles
    get them from the installer, and their defaults (documentation) say the same."""
    import yaml
    from pathlib import Path

    from hubstead.builder import sandbox
    from hubstead.users import unix

    variables = role_variables(config.effective({}), "/c.yaml")
    expected = {"hubstead_admin_group": unix.ADMIN_GROUP, "hubstead_user_group": unix.USER_GROUP,
                "hubstead_builder_user": sandbox.BUILDER_USER, "hubstead_builder_home": str(sandbox.BUILDER_HOME)}
    assert {key: variables[key] for key in expected} == expected
    defaults = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/hubstead_base/defaults/main.yml").read_text())
    assert {key: defaults[key] for key in expected} == expected


def test_the_installs_proxy_and_ca_settings_reach_the_roles(monkeypatch):
    from hubstead.paths import NETWORK_VARIABLES

    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert role_variables(config.effective({}), "/c.yaml")["hubstead_network_environment"] == {}
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/site/ca.pem")
    assert role_variables(config.effective({}), "/c.yaml")["hubstead_network_environment"] == {
        "https_proxy": "http://proxy.example:3128", "SSL_CERT_FILE": "/etc/site/ca.pem"}


def test_public_url_leaves_out_port_80(monkeypatch):
    monkeypatch.setattr("hubstead.install.host_address", lambda: "203.0.113.7")
    assert public_url(config.effective({})) == "http://203.0.113.7"
    assert public_url(config.effective({"http": {"port": 8080}})) == "http://203.0.113.7:8080"


def test_public_url_follows_https(monkeypatch):
    monkeypatch.setattr("hubstead.install.host_address", lambda: "203.0.113.7")
    named = {"https": {"enabled": True, "domains": ["hub.example.org", "www.example.org"]}}
    assert public_url(config.effective(named)) == "https://hub.example.org"
    named["https"]["port"] = 8443
    assert public_url(config.effective(named)) == "https://hub.example.org:8443"
    unnamed = {"https": {"enabled": True, "self_signed": True}}
    assert public_url(config.effective(unnamed)) == "https://203.0.113.7"


def test_with_https_the_proxy_moves_behind_caddy():
    plain = role_variables(config.effective({"http": {"port": 8080}}), "/etc/hubstead/config.yaml")
    assert (plain["hubstead_proxy_ip"], plain["hubstead_proxy_port"]) == ("", 8080)
    assert plain["hubstead_https_enabled"] is False and plain["hubstead_caddyfile"] == ""
    https_on = {"enabled": True, "self_signed": True, "domains": ["hub.test"]}
    settings = config.effective({"http": {"port": 8080}, "internal": {"proxy_port": 9000},
                                 "https": https_on})
    behind = role_variables(settings, "/etc/hubstead/config.yaml")
    assert (behind["hubstead_proxy_ip"], behind["hubstead_proxy_port"]) == ("127.0.0.1", 9000)
    assert behind["hubstead_proxy_behind_caddy"] is True
    assert "reverse_proxy 127.0.0.1:9000" in behind["hubstead_caddyfile"]
    assert behind["hubstead_https_tls_files"] == []


def test_install_refuses_a_missing_certificate_before_changing_anything(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text("https:\n  enabled: true\n  domains: [hub.example.org]\n"
                    f"  tls:\n    cert: {tmp_path}/hub.crt\n    key: {tmp_path}/hub.key\n")
    before = path.read_text()
    monkeypatch.setattr("os.geteuid", lambda: 0)
    with pytest.raises(InstallError, match=r"^https\.tls\.cert: .*hub\.crt does not exist$"):
        run_install(InstallOptions(admins=["alice"], config_path=str(path)))
    assert path.read_text() == before
