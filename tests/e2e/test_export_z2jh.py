"""`hubstead export z2jh` on an installed hub: the values file validates against the
Zero to JupyterHub chart's schema and names the admin, the memory limit and one profile
per environment; `--images` writes a build context per environment (issue 15)."""

import functools
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.harness.hubcli import hubstead

pytestmark = pytest.mark.e2e

CHART = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "z2jh"
CONFIG = "/etc/hubstead/config.yaml"


@functools.cache
def chart_file(name):
    path = CHART / name
    assert path.is_file(), f"the Zero to JupyterHub chart's {name} is missing: {path}"
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def merged(defaults, values):
    for key, value in values.items():
        defaults[key] = merged(defaults.get(key) or {}, value) if isinstance(value, dict) else value
    return defaults


@pytest.fixture
def memory_limit(installed_hub):
    """limits.memory 3G in the config file for this test; the file is put back after."""
    container = installed_hub.container
    original = container.read_file(CONFIG)
    try:
        hubstead(installed_hub, "config", "set", "limits.memory", "3G")
        yield "3G"
    finally:
        container.write_file(CONFIG, original)


def test_export_validates_and_names_admin_memory_and_profiles(installed_hub, memory_limit):
    hub = installed_hub
    done = hubstead(hub, "export", "z2jh", "--out", "/root/z2jh-values.yaml", "--images", "/root/z2jh-images")
    assert "Wrote /root/z2jh-values.yaml" in done.stdout
    try:
        values = yaml.safe_load(hub.container.read_file("/root/z2jh-values.yaml"))
        import copy

        jsonschema.Draft7Validator(chart_file("values.schema.yaml")).validate(
            merged(copy.deepcopy(chart_file("values.yaml")), values))
        assert "alice" in values["hub"]["config"]["Authenticator"]["admin_users"]
        assert values["singleuser"]["memory"]["limit"] == memory_limit
        environments = json.loads(hubstead(hub, "env", "list", "--json").stdout)
        general = [p for p in values["singleuser"]["profileList"] if "allowed_groups" not in p]
        assert sorted(p["display_name"] for p in general) == sorted(e["name"] for e in environments)
        for environment in environments:
            kind = next(b["kind"] for b in environment["builds"] if b["id"] == environment["current"])
            if kind not in ("pypi", "conda"):
                continue  # other tests' Binder builds of other kinds: noted, no context
            dockerfile = hub.container.read_file(f"/root/z2jh-images/{environment['name']}/Dockerfile")
            assert environment["current"] in dockerfile
        assert hub.container.run(["stat", "-c", "%a", "/root/z2jh-values.yaml"]).stdout.strip() == "600"
    finally:
        hub.container.run("rm -rf /root/z2jh-values.yaml /root/z2jh-images", check=False)
