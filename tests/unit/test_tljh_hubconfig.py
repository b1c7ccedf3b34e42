"""What TLJH's keys do to the hub, the proxy and Caddy (issue 10): base_url moves every
URL under its prefix, http/https.address bind the listeners, users.extra_user_groups and
TLJH's jupyterhub-users/jupyterhub-admins groups follow at spawn, and `tljh-config`
is `hubstead config` under TLJH's name."""

from types import SimpleNamespace

import pytest
from traitlets.config import Config

from hubstead import config, https, install, paths

from hubstead.hub import hubconfig
from hubstead.users import unix
from tests.harness.hubcli import run_in_process


def test_base_url_puts_the_hub_its_routes_and_its_api_under_the_prefix(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    (tmp_path / "hubstead-api-token").write_text("token\n")
    settings = config.effective({"base_url": "/custom-base", "http": {"port": 8080}})
    c = Config()
    hubconfig.configure_hub(c, settings)
    hubconfig.configure_services(c, settings)
    # JupyterHub takes base_url from bind_url's path.
    assert c.JupyterHub.bind_url == "http://:8080/custom-base"
    assert c.Proxy.extra_routes == {"/custom-base/v2/": "http://127.0.0.1:8082"}
    from hubstead.hubapi import Hub
    monkeypatch.setattr("hubstead.hubapi.read_token", lambda: "token")
    assert Hub.from_config(settings).base == "http://127.0.0.1:8081/custom-base/hub/api"
    assert https.public_url(settings, "10.0.0.5") == "http://10.0.0.5:8080/custom-base"
    variables = install.role_variables(settings, "/etc/hubstead/config.yaml")
    assert variables["hubstead_base_url"] == "/custom-base/"


def test_without_base_url_nothing_moves():
    settings = config.effective({})
    c = Config()
    hubconfig.configure_hub(c, settings)
    assert c.JupyterHub.bind_url == "http://:80"
    assert install.role_variables(settings, "/etc/hubstead/config.yaml")["hubstead_base_url"] == "/"


def test_http_address_binds_the_proxy_and_https_address_binds_caddy():
    plain = config.effective({"http": {"address": "127.0.0.1"}})
    assert install.role_variables(plain, "/c.yaml")["hubstead_proxy_ip"] == "127.0.0.1"
    assert install.role_variables(config.effective({}), "/c.yaml")["hubstead_proxy_ip"] == ""
    secure = config.effective({"http": {"address": "10.0.0.5"}, "https": {
        "enabled": True, "domains": ["hub.example.org"], "address": "10.0.0.6"}})
    text = https.caddyfile(secure)
    site = text.split("\nhttps://hub.example.org:443 {\n", 1)[1].split("\n}", 1)[0]
    redirect = text.split("\nhttp://:80 {\n", 1)[1].split("\n}", 1)[0]
    assert "\tbind 10.0.0.6" in site.splitlines() and "\tbind 10.0.0.5" in redirect.splitlines()
    # The proxy stays on loopback behind Caddy whatever http.address says.
    assert install.role_variables(secure, "/c.yaml")["hubstead_proxy_ip"] == "127.0.0.1"
    assert "bind" not in https.caddyfile(config.effective({"https": {"enabled": True,
                                                                     "domains": ["hub.example.org"]}}))


def test_the_culler_removes_named_servers_when_asked():
    service, _ = hubconfig.culler_service(config.effective({"services": {"cull": {
        "remove_named_servers": True, "every": 5}}})["services"]["cull"])
    assert "--remove-named-servers=true" in service["command"] and "--cull-every=5" in service["command"]
    service, _ = hubconfig.culler_service(config.effective({})["services"]["cull"])
    assert not any("named" in part for part in service["command"])


@pytest.fixture
def group_calls(monkeypatch):
    """unix's group changes recorded instead of run: {group: members}."""
    groups = {"jupyterhub-users": [], "jupyterhub-admins": ["jupyter-olduser"], "somegroup": ["jupyter-bob"]}
    made = []

    def getgrnam(name):
        if name not in groups:
            raise KeyError(name)
        return SimpleNamespace(gr_mem=list(groups[name]))

    def run(cmd, **_):
        if cmd[0] == "groupadd":
            groups[cmd[-1]] = []
            made.append(cmd[-1])
        elif cmd[:2] == ["gpasswd", "--add"]:
            groups[cmd[3]].append(cmd[2])
        elif cmd[:2] == ["gpasswd", "--delete"]:
            groups[cmd[3]].remove(cmd[2])

    monkeypatch.setattr(unix.grp, "getgrnam", getgrnam)
    monkeypatch.setattr(unix.subprocess, "run", run)
    monkeypatch.setattr(unix, "ensure_unix_user", lambda name: None)
    return groups, made


def spawner(name, admin=False):
    return SimpleNamespace(user=SimpleNamespace(name=name, admin=admin), disable_user_sudo=None)


def test_spawn_puts_the_account_in_tljh_groups_and_extra_groups(group_calls):
    groups, made = group_calls
    c = Config()
    hubconfig.configure_spawner(c, config.effective({"users": {"extra_user_groups": {
        "somegroup": ["alice"], "newgroup": ["alice", "carol"]}}}))
    hook = c.Spawner.pre_spawn_hook
    hook(spawner("alice", admin=True))
    assert "jupyter-alice" in groups["jupyterhub-users"] and "jupyter-alice" in groups["jupyterhub-admins"]
    assert "jupyter-alice" in groups["somegroup"] and "jupyter-alice" in groups["newgroup"]
    assert made == ["newgroup"], "a group the config names is made when missing"
    # bob was in somegroup; the config's list for it does not name him any more.
    bob = spawner("bob")
    hook(bob)
    assert groups["somegroup"] == ["jupyter-alice"] and "jupyter-bob" not in groups["jupyterhub-admins"]
    assert "jupyter-bob" in groups["jupyterhub-users"] and bob.disable_user_sudo is True
    # An admin who is not one any more leaves jupyterhub-admins at the next spawn.
    hook(spawner("olduser", admin=False))
    assert "jupyter-olduser" not in groups["jupyterhub-admins"]


def test_tljh_config_is_hubstead_config_under_tljh_name(tmp_path, monkeypatch):
    from hubstead.cli import tljh_config

    path = tmp_path / "config.yaml"
    codes = []
    monkeypatch.setattr("sys.exit", codes.append)
    tljh_config.main(["--config-path", str(path), "set", "services.cull.every", "5"])
    tljh_config.main(["--config-path", str(path), "add-item", "users.admin", "bob"])
    tljh_config.main(["--config-path", str(path), "set", "traefik_api.port", "8099"])
    assert codes == [0, 0, 1]
    assert config.load(path) == {"services": {"cull": {"every": 5}}, "users": {"admin": ["bob"]}}


def test_reload_takes_hub_or_proxy_and_nothing_else(tmp_path):
    done = run_in_process("config", "--config", str(tmp_path / "c.yaml"), "reload", "traefik")
    assert done.code == 2 and "'traefik' is not one of 'hub', 'proxy'" in done.err


def test_reload_hub_restarts_only_the_hub_when_the_roles_have_nothing_new(tmp_path, monkeypatch):
    from hubstead import restarts

    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text("http:\n  port: 8080\n")
    restarted = []
    monkeypatch.setattr(restarts, "started_mark", lambda component: "mark")
    monkeypatch.setattr(restarts, "ensure_restarted",
                        lambda component, mark, settings: restarted.append(component) or "Hub restarted")
    assert restarts.quick_reload(str(path)) is None, "no apply recorded yet: the roles run"
    restarts.record_applied(install.role_variables(config.effective(config.load(path)), str(path)))
    assert (tmp_path / restarts.APPLIED_FILE).stat().st_mode & 0o077 == 0
    path.write_text("http:\n  port: 8080\nusers:\n  admin: [bob]\nservices:\n  cull:\n    every: 5\n")
    assert restarts.quick_reload(str(path)) == "Hub restarted" and restarted == ["hub"]
    path.write_text("http:\n  port: 8090\n")
    assert restarts.quick_reload(str(path)) is None, "a port the proxy's unit names: the roles run"
    path.write_text("http:\n  port: 8080\nbase_url: /jupyter\n")
    assert restarts.quick_reload(str(path)) is None, "base_url is in the proxy's unit too"
    path.write_text("http:\n  port: 8080\nservices:\n  cull:\n    every: 0\n")
    with pytest.raises(config.ConfigError, match="services.cull.every"):
        restarts.quick_reload(str(path))
    assert restarted == ["hub"]
