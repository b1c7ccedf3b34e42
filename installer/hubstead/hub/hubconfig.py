"""JupyterHub's configuration, computed from /etc/hubstead/config.yaml.

The hub's jupyterhub_config.py (rendered by the hubstead_hub role) calls
`configure(c)`; then every `*.py` in /etc/hubstead/jupyterhub_config.d/ runs, in
name order, so a site can override anything.
"""

import sys
from pathlib import Path

from .. import config as hubstead_config
from ..config import auth
from .. import access, hubapi, hubbound, https, paths, plugins, usernames, users
from . import serverunit


def configure(c, config_path=paths.CONFIG_PATH, dropin_dir=paths.DROPIN_DIR):
    settings = hubstead_config.effective(
        hubstead_config.validate(hubstead_config.load(config_path))
    )
    configure_hub(c, settings)
    configure_auth(c, settings, hubstead_config.auth.load_secrets(config_path))
    configure_spawner(c, settings)
    configure_services(c, settings)
    plugins.custom_jupyterhub_config(c)  # TLJH plugins' tljh_custom_jupyterhub_config
    load_dropins(c, dropin_dir)


def configure_hub(c, settings):
    internal = settings["internal"]
    state = paths.STATE_DIR
    # The public URL as the hub reports it (https://FIRST-DOMAIN[:port] behind Caddy);
    # the proxy does not start from here, so its listening address is in its own unit.
    c.JupyterHub.bind_url = https.bind_url(settings)
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = internal["hub_port"]
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = "/run/jupyterhub.pid"
    # The proxy is its own service (configurable-http-proxy.service); its token
    # comes from the CONFIGPROXY_AUTH_TOKEN environment variable.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{internal['proxy_api_port']}"
    # Restarting or upgrading the hub must not stop users' servers.
    c.JupyterHub.cleanup_servers = False


def configure_services(c, settings):
    """The hub services (hubstead's own, the idle culler) and the roles they hold."""
    services, roles = hubstead_service(settings), []
    if services:
        roles += [
            {"name": "hubstead-admin", "scopes": hubapi.SERVICE_SCOPES, "services": [hubapi.SERVICE_NAME],
             "description": "What the hubstead CLI and web page do through the hub's API."},
            # Granting admin to a user needs an admin requester, not only admin:users.
            {"name": "admin", "services": [hubapi.SERVICE_NAME]},
            # Every user may open hubstead's pages (launch links); the pages check more.
            {"name": "user", "scopes": ["self", f"access:services!service={hubapi.SERVICE_NAME}"],
             "description": "Standard user privileges, and hubstead's launch pages."},
        ]
        # Binder's links are /v2/...: the proxy sends them to the service, outside /hub/.
        c.Proxy.extra_routes = {f"{hubstead_config.base_url(settings)}v2/": services[0]["url"]}
        configure_navigation(c, settings)
    cull = settings["services"]["cull"]
    if cull["enabled"]:
        service, role = culler_service(cull)
        services.append(service)
        roles.append(role)
    # They end with the hub, even a killed one (hubstead.hubbound).
    for service in services:
        service["command"] = hubbound.bound_command(service["command"])
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles


HUB_TEMPLATES = Path(__file__).parents[1] / "web" / "templates" / "hub"


def configure_navigation(c, settings):
    """"Instructor" in the hub's navigation bar, for admins and instructors only: the
    Services menu would list hubstead for every user (all may open launch links)."""
    url = f"{hubstead_config.base_url(settings)}services/{hubapi.SERVICE_NAME}/"

    def instructor_url(user):
        if user is None:
            return None
        model = {"admin": user.admin, "groups": [group.name for group in user.groups]}
        return url if access.may_instruct(model) else None

    c.JupyterHub.template_paths = [str(HUB_TEMPLATES)]
    c.JupyterHub.template_vars = {"hubstead_instructor_url": instructor_url}


def hubstead_service(settings):
    """hubstead itself: the CLI uses the REST API with its token, and the hub runs its
    web service (python -m hubstead.web: launch links) at /services/hubstead/."""
    token_path = paths.STATE_DIR / hubapi.TOKEN_FILE
    if not token_path.exists():
        return []
    # The hub starts services with a clean environment; builds started from the web
    # need the site's proxy and CA settings as much as the CLI's do.
    passed = paths.network_environment("HUBSTEAD_STATE_DIR")
    return [{
        "name": hubapi.SERVICE_NAME,
        "api_token": token_path.read_text().strip(),
        "url": f"http://127.0.0.1:{settings['internal']['web_port']}",
        "command": [sys.executable, "-m", "hubstead.web"],
        "environment": {**passed, "HUBSTEAD_CONFIG": str(paths.CONFIG_PATH)},
        # hubstead's own pages: no "authorize this service" step after the login.
        "oauth_no_confirm": True,
        # Nothing to list in the hub's Services menu yet: its pages are reached by links.
        "display": False,
    }]


def configure_auth(c, settings, secrets=None):
    """The authenticator auth.type names, with hubstead's rules, and its settings."""
    user_lists = settings["users"]
    c.Authenticator.admin_users = set(user_lists["admin"])
    c.Authenticator.allowed_users = set(user_lists["allowed"])
    c.Authenticator.blocked_users = set(user_lists["banned"])
    # How soon a locked user's open sessions end.
    c.Authenticator.auth_refresh_age = 60
    kind = auth.resolve(settings["auth"].get("type", "native"))
    if kind == "native":
        configure_native(c, settings)
    else:
        configure_other_auth(c, settings, kind, secrets or {})


def configure_native(c, settings):
    native = settings["auth"]["native"]
    # Names a login server gives may be anything (hubstead.usernames.unix_name); names
    # people choose at sign-up follow hubstead's rule.
    c.Authenticator.username_pattern = usernames.PATTERN
    # NativeAuthenticator plus hubstead's username rule and locks (hubstead.hub.authenticator).
    c.JupyterHub.authenticator_class = "hubstead.hub.authenticator.HubsteadAuthenticator"
    # NativeAuthenticator gates access itself (sign-up, then approval).
    c.Authenticator.allow_all = True
    c.NativeAuthenticator.open_signup = native["open_signup"]
    c.NativeAuthenticator.minimum_password_length = native["minimum_password_length"]
    # Failed-login locks (hubstead.users.failed_logins) read these three.
    c.NativeAuthenticator.allowed_failed_logins = native["allowed_failed_logins"]
    c.NativeAuthenticator.seconds_before_next_try = native["seconds_before_next_try"]
    c.HubsteadAuthenticator.failed_logins_per_address = native["failed_logins_per_address"]
    # Set explicitly: NativeAuthenticator 1.3.0's own default for this does not take effect.
    c.NativeAuthenticator.check_common_password = True


def configure_other_auth(c, settings, kind, secrets):
    from .authenticators import hubstead_class

    cls = hubstead_class(auth.AUTHENTICATORS[kind][0])
    c.JupyterHub.authenticator_class = cls
    sections = auth.class_settings(settings, secrets)
    # Who may log in: the provider's own rules (allowed_groups, allowed_organizations, ...)
    # and users.allowed. Users left in the hub's DB from another authenticator get no pass.
    c.Authenticator.allow_existing_users = False
    restricted = settings["users"]["allowed"] or sections.get("LDAPAuthenticator", {}).get("allowed_groups")
    if kind in ("firstuse", "dummy") or (kind == "ldap" and not restricted):
        # FirstUse and dummy take anyone by design; LDAP: whoever the directory has.
        c.Authenticator.allow_all = True
    if kind == "firstuse":
        c.FirstUseAuthenticator.dbm_path = str(paths.STATE_DIR / "firstuse-passwords.dbm")
    cls.group_map = tuple(tuple(item.split(":", 1)) for item in settings["auth"]["group_map"])
    if cls.group_map:
        c.Authenticator.manage_groups = True
    # auth.<ClassName>.<trait> last: an operator's setting wins over hubstead's defaults.
    for section, values in sections.items():
        for trait, value in values.items():
            getattr(c, section)[trait] = value


SPAWN_TIMEOUT = 480  # seconds a server may take to answer after its start is asked for


def configure_spawner(c, settings):
    limits = settings["limits"]
    # SystemdSpawner that starts each server in the environment its user chose.
    c.JupyterHub.spawner_class = "hubstead.hub.spawner.HubsteadSpawner"
    c.SystemdSpawner.username_template = usernames.UNIX_PREFIX + "{USERNAME}"
    c.SystemdSpawner.unit_name_template = usernames.UNIX_PREFIX + "{USERNAME}-singleuser"
    c.SystemdSpawner.default_shell = "/bin/bash"
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.isolate_devices = True
    c.SystemdSpawner.slice = serverunit.SERVERS_SLICE
    # cmd and extra_paths are the chosen environment's, set by HubsteadSpawner.start.
    c.Spawner.default_url = "/lab" if settings["user_environment"]["default_app"] == "jupyterlab" else "/tree"
    # A class logging in at once waits for the CPU: 100 learners on 2 cores need about
    # 100 x 5 CPU s / 2 = 250 s (the floor) and p95 came to ~1.5x the floor, 375 s
    # (docs/sizing.md); 120 s failed 7 of 50. A broken server costs none of it: its start
    # fails within a second of its unit stopping (HubsteadSpawner.wait_until_answering).
    c.Spawner.start_timeout = SPAWN_TIMEOUT
    # start() returns once the server answers, so the hub's own wait after it is instant;
    # this is how long a restarted hub waits for a server still starting when it went.
    c.Spawner.http_timeout = SPAWN_TIMEOUT
    c.Spawner.pre_spawn_hook = users.spawn_hook(settings["users"]["extra_user_groups"])
    c.HubsteadSpawner.course_folder = settings["shared"]["course"]
    if limits["memory"]:
        c.Spawner.mem_limit = limits["memory"]
    if limits["cpu"]:
        c.Spawner.cpu_limit = float(limits["cpu"])
    # Per start, a user's groups' limits over these (hubstead.limits).
    c.HubsteadSpawner.limits = limits
    c.HubsteadSpawner.tasks_max = limits["tasks"]


def culler_service(cull):
    """jupyterhub-idle-culler as a hub-managed service, with just the scopes it needs."""
    command = [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull['timeout']}",
               f"--cull-every={cull['every']}", f"--concurrency={cull['concurrency']}",
               f"--max-age={cull['max_age']}"]
    if cull["remove_named_servers"]:
        command.append("--remove-named-servers=true")
    scopes = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    if cull["users"]:
        # Its options take values (traitlets aliases in 2.x, tornado.options in 1.x):
        # a bare --cull-users makes it exit. Admins stay: the hub's operators keep their accounts.
        command += ["--cull-users=true", "--cull-admin-users=false"]
        scopes.append("admin:users")
    role = {"name": "cull-idle", "description": "What the idle culler may do.", "scopes": scopes,
            "services": ["cull-idle"]}
    return {"name": "cull-idle", "command": command}, role


def load_dropins(c, dropin_dir):
    if not dropin_dir.is_dir():
        return
    for path in sorted(dropin_dir.glob("*.py")):
        code = compile(path.read_text(), str(path), "exec")
        exec(code, {"c": c, "__file__": str(path), "__name__": "jupyterhub_config_dropin"})
