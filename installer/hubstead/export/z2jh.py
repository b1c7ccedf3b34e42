"""The Zero to JupyterHub chart's values for this hub: authentication, users, limits,
one profile per environment, the culler, shared folders, HTTPS.

values() is pure (settings, environments and users in, a dict out), so unit tests
check it against the chart's own schema; gather() reads them from this machine.
"""

import sqlite3

from .. import config as hubstead_config
from .. import paths

HOME = "/home/jovyan"  # the chart's default home mount in a user pod
NATIVE_SETTINGS = ("open_signup", "minimum_password_length", "allowed_failed_logins", "seconds_before_next_try")
IMAGE_PREFIX = "hubstead-env"


def image_name(environment, prefix=IMAGE_PREFIX):
    """The image `--images` builds for ENVIRONMENT (name, build), e.g. hubstead-env-course:pypi-1a2b."""
    return f"{prefix}-{environment['name']}", environment["build"]


def values(settings, environments, users, secrets=None, image_prefix=IMAGE_PREFIX):
    """SETTINGS: the effective config; ENVIRONMENTS: [{name, description, build}];
    USERS: {"admin": [...], "allowed": [...], "banned": [...]}."""
    default_env = settings["user_environment"]["default_env"]
    limits = settings["limits"]
    singleuser = {
        "memory": {"limit": limits["memory"], "guarantee": limits.get("memory_guarantee")},
        "cpu": {"limit": limits["cpu"]},
        "defaultUrl": "/lab" if settings["user_environment"]["default_app"] == "jupyterlab" else "/tree",
        "profileList": _profiles(environments, default_env, limits.get("groups") or {}, image_prefix),
    }
    default = next((item for item in environments if item["name"] == default_env), None)
    if default:
        name, tag = image_name(default, image_prefix)
        singleuser["image"] = {"name": name, "tag": tag}
    course = (settings.get("shared") or {}).get("course")
    if course:
        singleuser["storage"] = {
            "extraVolumes": [{"name": "course", "persistentVolumeClaim": {"claimName": "hubstead-course"}}],
            "extraVolumeMounts": [{"name": "course", "mountPath": f"{HOME}/course", "readOnly": True}]}
    result = {"hub": _hub(settings, users, secrets or {}), "singleuser": singleuser, "cull": _cull(settings)}
    https = _https(settings["https"])
    if https:
        result["proxy"] = {"https": https}
    return result


def _hub(settings, users, secrets):
    config = {"Authenticator": {"admin_users": sorted(users["admin"]), "allowed_users": sorted(users["allowed"]),
                                "blocked_users": sorted(users["banned"])},
              "JupyterHub": {}}
    kind = settings["auth"]["type"]
    if kind == "native":
        native = settings["auth"]["native"]
        config["JupyterHub"]["authenticator_class"] = "nativeauthenticator.NativeAuthenticator"
        # NativeAuthenticator approves sign-ups itself; JupyterHub 5 then needs allow_all.
        config["Authenticator"]["allow_all"] = True
        config["NativeAuthenticator"] = {key: native[key] for key in NATIVE_SETTINGS}
    else:
        from ..config import auth

        config["JupyterHub"]["authenticator_class"] = auth.class_path(settings)
        for section, traits in auth.class_settings(settings, secrets).items():
            config.setdefault(section, {}).update(hubstead_config.to_plain(traits))
    hub = {"config": config}
    if settings["base_url"] not in ("", "/"):
        hub["baseUrl"] = settings["base_url"]
    return hub


def _profiles(environments, default_env, group_limits, image_prefix):
    profiles = []
    for environment in environments:
        name, tag = image_name(environment, image_prefix)
        profiles.append({"display_name": environment["name"], "slug": environment["name"],
                         "description": environment.get("description") or environment["name"],
                         "default": environment["name"] == default_env,
                         "kubespawner_override": {"image": f"{name}:{tag}"}})
    # The chart has no per-group limits of its own: KubeSpawner's profiles can be
    # offered to a group only (allowed_groups), so each group with limits gets its own.
    for group, limits in sorted(group_limits.items()):
        override = {key: value for key, value in (("mem_limit", limits.get("memory")),
                                                  ("cpu_limit", limits.get("cpu"))) if value is not None}
        if isinstance(limits.get("gpus"), int) and limits["gpus"] > 0:
            override["extra_resource_limits"] = {"nvidia.com/gpu": str(limits["gpus"])}
        for environment in environments:
            name, tag = image_name(environment, image_prefix)
            profiles.append({"display_name": f"{environment['name']} ({group})",
                             "slug": f"{environment['name']}-{group}",
                             "description": f"{environment.get('description') or environment['name']}; "
                                            f"the limits of group {group}",
                             "allowed_groups": [group],
                             "kubespawner_override": {"image": f"{name}:{tag}", **override}})
    return profiles


def _cull(settings):
    cull = settings["services"]["cull"]
    return {"enabled": cull["enabled"], "timeout": cull["timeout"], "every": cull["every"],
            "concurrency": cull["concurrency"], "users": cull["users"], "maxAge": cull["max_age"],
            "removeNamedServers": cull["remove_named_servers"]}


def _https(https):
    if not https["enabled"]:
        return None
    hosts = sorted(set(https["domains"]) | set(https["letsencrypt"]["domains"]))
    if https["tls"]["cert"]:
        # The chart reads a TLS secret; docs/z2jh.md says how to make it from these files.
        return {"enabled": True, "type": "secret", "hosts": hosts, "secret": {"name": "hubstead-tls"}}
    letsencrypt = {"contactEmail": https["letsencrypt"]["email"]}
    if https["letsencrypt"]["staging"]:
        letsencrypt["acmeServer"] = "https://acme-staging-v02.api.letsencrypt.org/directory"
    return {"enabled": True, "type": "letsencrypt", "hosts": hosts, "letsencrypt": letsencrypt}


def hub_users(settings, db_path=None):
    """{"admin", "allowed", "banned"}: the config's lists with the hub DB's admins and
    NativeAuthenticator's approved sign-ups."""
    admins, allowed = set(settings["users"]["admin"]), set(settings["users"]["allowed"])
    db_path = db_path or paths.STATE_DIR / "jupyterhub.sqlite"
    if db_path.exists():
        connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            admins |= {name for name, admin in connection.execute("SELECT name, admin FROM users") if admin}
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "users_info" in tables:
                allowed |= {name for (name,) in connection.execute(
                    "SELECT username FROM users_info WHERE is_authorized = 1")}
        finally:
            connection.close()
    banned = set(settings["users"]["banned"])
    return {"admin": sorted(admins), "allowed": sorted(allowed - admins - banned), "banned": sorted(banned)}


def gather():
    """(settings, environments, users, secrets) of this machine."""
    from ..config import auth
    from ..envs import store

    settings = hubstead_config.current()
    environments = [{"name": item.name, "description": item.description, "build": item.current,
                     "kind": next(build.kind for build in item.builds if build.id == item.current)}
                    for item in store.all_environments()]
    return settings, environments, hub_users(settings), auth.load_secrets(paths.CONFIG_PATH)


def dumps(data):
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    buffer.write("# Zero to JupyterHub values exported by `hubstead export z2jh` (docs/z2jh.md).\n")
    yaml.dump(data, buffer)
    return buffer.getvalue()


def export(out, images_dir=None):
    """Write the values file OUT (0600: it may hold login secrets) and, with IMAGES_DIR,
    a build context per environment; return (values, [context directories], [skipped:
    why an environment has no build context])."""
    import os
    import tempfile
    from pathlib import Path

    from . import ExportError, images

    settings, environments, users, secrets = gather()
    data = values(settings, environments, users, secrets)
    contexts, skipped = [], []
    for item in environments if images_dir else []:
        try:
            contexts.append(images.write_context(images_dir, item))
        except ExportError as error:
            skipped.append(str(error))
    out = Path(out)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
        with os.fdopen(descriptor, "w") as stream:
            stream.write(dumps(data))
        os.replace(temporary, out)
    except OSError as error:
        raise ExportError(f"cannot write {out}: {error.strerror}.") from None
    return data, contexts, skipped
