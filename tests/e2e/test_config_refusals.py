"""On an installed hub, a config file or value that would silently reset or break the hub
is refused with one line, and nothing changes: not the file, not the running hub
(issue 17, item 10). Each test puts the file back as it found it."""

import pytest
import yaml

from tests.harness.hub import http_status
from tests.harness.hubcli import hubstead

pytestmark = pytest.mark.e2e

CONFIG = "/etc/hubstead/config.yaml"


def assert_refused(result, *phrases):
    assert result.returncode == 1, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]


def hub_started_at(hub):
    return hub.container.run(["systemctl", "show", "-p", "ActiveEnterTimestampMonotonic",
                              "jupyterhub"]).stdout.strip()


@pytest.fixture
def config_kept(installed_hub):
    """The config file's text before the test; put back after it (and applied again,
    should a refusal under test have let a reload through)."""
    original = installed_hub.container.read_file(CONFIG)
    reloads = []
    yield original, reloads
    installed_hub.container.write_file(CONFIG, original, mode=0o644)
    if any(result.returncode == 0 for result in reloads):
        hubstead(installed_hub, "config", "reload")


@pytest.mark.parametrize("text, says", [("", "is empty"), ("# nothing but a comment\n", "is empty"),
                                        ("- http\n- port\n", "must hold a mapping of keys, not a list")])
def test_an_empty_or_non_mapping_file_is_refused_and_the_hub_keeps_running_as_it_was(
        installed_hub, config_kept, text, says):
    hub = installed_hub
    _, reloads = config_kept
    started = hub_started_at(hub)
    hub.container.write_file(CONFIG, text)
    assert_refused(hubstead(hub, "config", "validate", check=False), CONFIG, says)
    reloads.append(hubstead(hub, "config", "reload", check=False))
    assert_refused(reloads[-1], CONFIG, says)
    assert hub.container.read_file(CONFIG) == text, "the file is left for the operator to fix"
    assert hub_started_at(hub) == started, "the hub was not restarted"
    assert http_status(f"{hub.url}/hub/api") == 200, "the hub still answers on its own port"


def test_http_port_on_an_internal_port_is_refused(installed_hub, config_kept):
    hub = installed_hub
    original, _ = config_kept
    for key, port in (("hub_port", hub.hub_port), ("proxy_api_port", hub.proxy_api_port),
                      ("web_port", hub.web_port)):
        result = hubstead(hub, "config", "set", "http.port", str(port), check=False)
        assert_refused(result, f"http.port: {port} is internal.{key}", "choose another")
    assert hub.container.read_file(CONFIG) == original


def test_default_env_naming_no_environment_is_refused(installed_hub, config_kept):
    hub = installed_hub
    original, _ = config_kept
    result = hubstead(hub, "config", "set", "user_environment.default_env", "nosuch", check=False)
    assert_refused(result, "user_environment.default_env", "no environment 'nosuch'", "hubstead env list")
    assert hub.container.read_file(CONFIG) == original
    # A file edited by hand is caught by validate and by reload, before anything changes.
    # The key is set in the parsed file, not appended: an earlier test may have left a
    # user_environment section in it (a second one would be a YAML error instead).
    edited = yaml.safe_load(original) or {}
    edited.setdefault("user_environment", {})["default_env"] = "nosuch"
    hub.container.write_file(CONFIG, yaml.safe_dump(edited))
    assert_refused(hubstead(hub, "config", "validate", check=False), "no environment 'nosuch'")
