"""`hubstead export z2jh`: the values validate against the chart's own schema
(/work/shared/data/z2jh/values.schema.yaml) and carry the hub's settings; build
contexts install exactly an environment's lock."""

import functools
from pathlib import Path

import jsonschema
import pytest
import yaml

from hubstead import config as hubstead_config
from hubstead.export import ExportError, images, z2jh

SCHEMA_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "z2jh" / "values.schema.yaml"
CHART_DEFAULTS = SCHEMA_PATH.with_name("values.yaml")
ENVIRONMENTS = [{"name": "default", "description": "The default", "build": "pypi-aaaa", "kind": "pypi"},
                {"name": "course", "description": "Course packages", "build": "conda-bbbb", "kind": "conda"}]
USERS = {"admin": ["alice"], "allowed": ["ann", "ben"], "banned": ["mallory"]}


@functools.cache
def chart_file(path):
    assert path.is_file(), f"the chart's file is missing: {path}"
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def chart_values(exported):
    """The chart's defaults under the exported values, as helm merges them."""
    def merge(base, over):
        for key, value in over.items():
            base[key] = merge(base.get(key) or {}, value) if isinstance(value, dict) else value
        return base

    import copy

    return merge(copy.deepcopy(chart_file(CHART_DEFAULTS)), exported)


def validate(exported):
    jsonschema.Draft7Validator(chart_file(SCHEMA_PATH)).validate(chart_values(exported))


def settings(**changes):
    config = {"limits": {"memory": "2G", "cpu": 1.5}, "users": {"admin": ["alice"]}}
    for key, value in changes.items():
        config = hubstead_config.set_value(config, key, value)
    return hubstead_config.effective(config)


def test_values_validate_and_carry_auth_users_limits_and_profiles():
    exported = yaml.safe_load(z2jh.dumps(z2jh.values(settings(), ENVIRONMENTS, USERS)))
    validate(exported)
    config = exported["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "nativeauthenticator.NativeAuthenticator"
    assert config["Authenticator"]["admin_users"] == ["alice"]
    assert config["Authenticator"]["blocked_users"] == ["mallory"]
    assert config["NativeAuthenticator"]["minimum_password_length"] == 8
    assert exported["singleuser"]["memory"]["limit"] == "2G" and exported["singleuser"]["cpu"]["limit"] == 1.5
    profiles = exported["singleuser"]["profileList"]
    assert [(p["display_name"], p["default"]) for p in profiles] == [("default", True), ("course", False)]
    assert profiles[1]["kubespawner_override"]["image"] == "hubstead-env-course:conda-bbbb"
    assert exported["cull"]["timeout"] == 600 and exported["cull"]["enabled"] is True
    mounts = exported["singleuser"]["storage"]["extraVolumeMounts"]
    assert mounts == [{"name": "course", "mountPath": "/home/jovyan/course", "readOnly": True}]
    assert "proxy" not in exported


def test_https_and_group_limits_validate():
    chosen = settings(**{"https.enabled": True, "https.domains": ["hub.example.org"],
                         "https.letsencrypt.email": "ops@example.org", "base_url": "/jupyter/"})
    chosen["limits"]["groups"] = {"gpu-lab": {"memory": "16G", "gpus": 1}}
    exported = z2jh.values(chosen, ENVIRONMENTS, USERS)
    validate(exported)
    assert exported["proxy"]["https"] == {"enabled": True, "type": "letsencrypt", "hosts": ["hub.example.org"],
                                          "letsencrypt": {"contactEmail": "ops@example.org"}}
    assert exported["hub"]["baseUrl"] == "/jupyter/"
    lab = [p for p in exported["singleuser"]["profileList"] if p.get("allowed_groups") == ["gpu-lab"]]
    assert len(lab) == 2 and lab[0]["kubespawner_override"]["mem_limit"] == "16G"
    assert lab[0]["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": "1"}


def test_a_key_the_chart_does_not_know_fails_its_schema():
    """The check itself can fail: the schema forbids unknown keys."""
    exported = z2jh.values(settings(), ENVIRONMENTS, USERS)
    exported["singleuser"]["memoryLimit"] = "2G"
    with pytest.raises(jsonschema.ValidationError):
        validate(exported)


def test_a_build_context_installs_exactly_the_lock(tmp_path, monkeypatch):
    from hubstead import paths

    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path / "envs")
    build = tmp_path / "envs" / "default" / "pypi-aaaa"
    build.mkdir(parents=True)
    (build / "requirements.lock.txt").write_text("jupyterhub==5.5.4 \\\n    --hash=sha256:00\nsix==1.16.0 \\\n"
                                                  "    --hash=sha256:11\n")
    (build / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.11.2.final.0\n")
    context = images.write_context(tmp_path / "images", ENVIRONMENTS[0])
    dockerfile = (context / "Dockerfile").read_text()
    assert "FROM docker.io/library/python:3.11-slim-bookworm" in dockerfile
    assert "--require-hashes -r /opt/hubstead/requirements.lock.txt" in dockerfile
    assert "jupyterhub==" not in dockerfile  # the lock pins it already
    assert (context / "requirements.lock.txt").read_text() == (build / "requirements.lock.txt").read_text()
    (build / "requirements.lock.txt").write_text("jupyterhub==4.1.0 \\\n    --hash=sha256:00\n")
    with pytest.raises(ExportError, match="pins jupyterhub 4.1.0"):
        images.write_context(tmp_path / "images", ENVIRONMENTS[0])
