"""`hubstead install`: write the config, then bring the machine to that state.

Re-running is an upgrade: the config keeps what the operator set, new options are
merged in, and the roles change only what differs.
"""

import os
import socket
import subprocess
from dataclasses import dataclass, field

from . import config as hubstead_config
from . import https, install_extras, paths
from .errors import HubsteadError
from .usernames import username_problem

class InstallError(HubsteadError):
    """Expected install failure; the message says what to do."""


@dataclass
class InstallOptions:
    admins: list = field(default_factory=list)
    http_port: int | None = None
    hub_port: int | None = None
    proxy_api_port: int | None = None
    web_port: int | None = None
    config_path: str = str(paths.CONFIG_PATH)
    # TLJH's installer flags (hubstead.install_extras); admins may be NAME:PASSWORD.
    plugins: list = field(default_factory=list)
    user_requirements_url: str | None = None
    progress_page_pid: int | None = None


@dataclass
class InstallReport:
    config_changed: bool
    config_differences: list
    apply: object  # ansible.ApplyResult
    url: str
    admins: list
    extras: object = None  # install_extras.Outcome
    admins_with_password: tuple = ()


def desired_config(current, options):
    """The config after merging the install options into the current one."""
    admins = [entry.partition(":")[0] for entry in options.admins]  # NAME or NAME:PASSWORD
    for name in admins:
        problem = username_problem(name)
        if problem:
            raise InstallError(f"--admin {name!r}: {problem}")
    desired = hubstead_config.add_items(current, "users.admin", admins) if admins else current
    for key, value in (("http.port", options.http_port), ("internal.hub_port", options.hub_port),
                       ("internal.proxy_api_port", options.proxy_api_port),
                       ("internal.web_port", options.web_port)):
        if value is not None and hubstead_config.get_value(desired, key) != value:
            desired = hubstead_config.set_value(desired, key, value)
    return hubstead_config.check_default_env(hubstead_config.validate(desired))


def role_variables(settings, config_path):
    """The Ansible variables for the roles, from the effective settings. Names the
    Python code defines too (the unix groups, the builder's account) come from there, so
    the roles' defaults only document them."""
    from .builder import sandbox
    from .hub import serverunit
    from .users import unix

    https_on = settings["https"]["enabled"]
    proxy_port = settings["internal"]["proxy_port"] if https_on else settings["http"]["port"]
    return {
        "hubstead_hub_prefix": str(paths.HUB_PREFIX),
        "hubstead_envs_dir": str(paths.ENVS_DIR),
        "hubstead_state_dir": str(paths.STATE_DIR),
        "hubstead_config_path": os.path.abspath(config_path),
        "hubstead_http_port": settings["http"]["port"],
        "hubstead_hub_port": settings["internal"]["hub_port"],
        "hubstead_base_url": hubstead_config.base_url(settings),
        "hubstead_proxy_api_port": settings["internal"]["proxy_api_port"],
        "hubstead_default_env_lock": str(paths.DEFAULT_ENV_LOCK),
        # With HTTPS, Caddy takes http.port and the proxy hides behind it on loopback.
        "hubstead_proxy_ip": "127.0.0.1" if https_on else settings["http"]["address"],
        "hubstead_proxy_port": proxy_port,
        "hubstead_proxy_behind_caddy": https_on,
        "hubstead_https_enabled": https_on,
        "hubstead_caddyfile": https.caddyfile(settings) if https_on else "",
        "hubstead_https_tls_dir": https.TLS_DIR,
        "hubstead_https_tls_files": https.tls_files(settings),
        "hubstead_network_environment": paths.network_environment(),
        "hubstead_backup_schedule": settings["backup"]["schedule"],
        "hubstead_course_dir": settings["shared"]["course"],
        "hubstead_admin_group": unix.ADMIN_GROUP,
        "hubstead_user_group": unix.USER_GROUP,
        "hubstead_builder_user": sandbox.BUILDER_USER,
        "hubstead_builder_home": str(sandbox.BUILDER_HOME),
        "hubstead_servers_slice": serverunit.SERVERS_SLICE,
    }


def run_install(options, check=False, console=None):
    from . import ansible

    if os.geteuid() != 0:
        raise InstallError("hubstead install must run as root: try `sudo hubstead install ...`.")
    current = hubstead_config.load(options.config_path)
    desired = desired_config(current, options)
    _, admin_passwords = install_extras.split_admins(options.admins)
    install_extras.check_admin_passwords(admin_passwords, desired)  # a short one changes nothing
    if options.user_requirements_url:
        install_extras.fetch_requirements(options.user_requirements_url)  # a bad URL changes nothing
    manager = None if check else install_extras.load_plugins(options.plugins)
    if manager is not None:
        desired = hubstead_config.validate(install_extras.apply_plugin_config(manager, desired, options.config_path))
    settings = hubstead_config.effective(desired)
    # What `config set` cannot refuse one key at a time (a certificate without its key,
    # missing files...): refused here, before anything changes.
    problem = https.check_https(settings, applying=True)
    if problem:
        raise InstallError(problem)
    config_differences = hubstead_config.differences(current, desired)
    if check:
        config_changed = bool(config_differences)
    else:
        config_changed = hubstead_config.save(options.config_path, desired, header=hubstead_config.CONFIG_HEADER)
    if not check:
        install_extras.stop_progress_page(options.progress_page_pid, console)
    variables = role_variables(settings, options.config_path)
    result = ansible.apply(variables, check=check, console=console)
    if result.ok and not check:
        from .restarts import record_applied

        record_applied(variables)  # what `config reload hub` compares with (hubstead.restarts)
    extras = None
    if result.ok and not check:
        ensure_default_groups(settings)
        extras = install_extras.after_apply(settings, admin_passwords, manager, options.user_requirements_url,
                                            console)
    return InstallReport(config_changed=config_changed, config_differences=config_differences, apply=result,
                         url=public_url(settings), admins=settings["users"]["admin"], extras=extras,
                         admins_with_password=tuple(admin_passwords))


DEFAULT_GROUPS = ("instructors",)


def ensure_default_groups(settings):
    """Groups every hub has from install on (the instructors' web page keys on them)."""
    from .hubapi import Hub

    hub = Hub.from_config(settings)
    for group in DEFAULT_GROUPS:
        hub.post(f"groups/{group}", ok=(201, 409))


def host_address():
    """The machine's first address, for the URL printed at the end."""
    try:
        addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.SubprocessError):
        addresses = []
    return addresses[0] if addresses else socket.getfqdn()


def public_url(settings):
    """The URL to print: the first HTTPS domain, else this machine's address."""
    https_settings = settings["https"]
    named = https_settings["enabled"] and https.domains(settings)
    return https.public_url(settings, "" if named else host_address())
