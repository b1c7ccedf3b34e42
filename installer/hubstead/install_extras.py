"""The installer flags TLJH's docs and cloud-init recipes use, for `hubstead install`.

- `--admin NAME:PASSWORD`: NAME is an admin with that password, no sign-up needed.
- `--plugin PKG`: TLJH plugins (hubstead.plugins), installed into the hub venv.
- `--user-requirements-txt-url URL`: those packages added to the default environment
  (a new locked build, hubstead.envs.adminpip).
- the progress page bootstrap.py serves (`--show-progress-page`) is stopped before the
  proxy takes the HTTP port.
"""

import os
import signal
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import config as hubstead_config
from . import plugins
from .config.schema import SCHEMA
from .errors import HubsteadError
from .usernames import username_problem

# Sections a plugin's tljh_config_post_install adds that Hubstead's schema does not
# know are kept here (TLJH keeps them in config.yaml), so config.yaml stays valid.
PLUGIN_CONFIG_NAME = "plugin-config.yaml"
PROGRESS_PAGE_STOPPED = "Progress page server stopped successfully."


class InstallFlagError(HubsteadError):
    """A bad --admin, --plugin or --user-requirements-txt-url; nothing was changed."""


@dataclass
class Outcome:
    changes: int = 0
    notes: list = field(default_factory=list)


def split_admins(entries):
    """(names, {name: password}) from --admin NAME or NAME:PASSWORD entries."""
    names, passwords = [], {}
    for entry in entries:
        name, colon, password = entry.partition(":")
        problem = username_problem(name)
        if problem:
            raise InstallFlagError(f"--admin {name!r}: {problem}")
        if colon and not password:
            raise InstallFlagError(f"--admin {name}: an empty password after ':'; give one, or only the name "
                                   "(then sign up as that user).")
        names.append(name)
        if colon:
            passwords[name] = password
    return names, passwords


def check_admin_passwords(admin_passwords, config):
    """Refuse a --admin NAME:PASSWORD whose password the login rules would refuse."""
    minimum = hubstead_config.effective(config)["auth"]["native"]["minimum_password_length"]
    for name, password in admin_passwords.items():
        if len(password) < minimum:
            raise InstallFlagError(f"--admin {name}:...: the password is too short: at least {minimum} "
                                   "characters (auth.native.minimum_password_length); nothing was changed.")


def plugin_config_path(config_path):
    return Path(config_path).with_name(PLUGIN_CONFIG_NAME)


def load_plugins(requirements):
    """Install the --plugin requirements into the hub venv; the manager of every plugin there."""
    plugins.install_into_hub(list(requirements), "plugin")
    return plugins.manager()


def apply_plugin_config(manager, config, config_path, check=False):
    """tljh_config_post_install: what Hubstead's schema knows goes into the config (returned),
    other sections into plugin-config.yaml beside it."""
    if not plugins.names(manager):
        return config
    changed = plugins.apply_config_hook(manager, hubstead_config.to_plain(config))
    known = SCHEMA["properties"]
    foreign = {key: value for key, value in changed.items() if key not in known}
    merged = config
    for key in sorted(set(changed) & set(known)):
        for line in hubstead_config.differences({key: hubstead_config.to_plain(config).get(key)},
                                                {key: changed[key]}):
            dotted = line.split(":", 1)[0]
            merged = hubstead_config.set_value(merged, dotted, hubstead_config.get_value(changed, dotted))
    if foreign and not check:
        target = plugin_config_path(config_path)
        existing = hubstead_config.to_plain(hubstead_config.load(target)) if target.exists() else {}
        if existing != {**existing, **foreign}:
            _write_plugin_config(target, {**existing, **foreign})
    return merged


def _write_plugin_config(target, data):
    import io

    from ruamel.yaml import YAML

    text = io.StringIO()
    YAML().dump(data, text)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    # Root's alone, like the secrets: a plugin may keep a token in its section.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("# Sections TLJH plugins added (tljh_config_post_install) that Hubstead's config\n"
                     "# does not have; kept for the plugins. Hubstead itself does not read them.\n")
        handle.write(text.getvalue())
    os.replace(temporary, target)


def stop_progress_page(pid, console):
    """End bootstrap.py's progress page before the proxy needs the HTTP port."""
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except OSError as error:
        console.print(f"[yellow]Could not stop the progress page server ({error}).[/yellow]")
        return
    console.print(PROGRESS_PAGE_STOPPED)


def after_apply(settings, admin_passwords, manager, requirements_url, console):
    """Everything that needs the hub running, in TLJH's order: admins' passwords, then
    the plugins' apt, hub and user packages, the URL's requirements, tljh_post_install."""
    outcome = Outcome()
    if admin_passwords:
        outcome.changes += set_admin_passwords(settings, admin_passwords)
    hook = manager.hook if manager and plugins.names(manager) else None
    extra_user = []
    if hook:
        plugins.install_apt_packages(plugins.collected(hook.tljh_extra_apt_packages()))
        plugins.install_into_hub(plugins.collected(hook.tljh_extra_hub_pip_packages()), "hub package")
        notice = plugins.conda_notice(manager)
        if notice:
            outcome.notes.append(notice)
        extra_user = plugins.collected(hook.tljh_extra_user_pip_packages())
    if requirements_url:
        extra_user += fetch_requirements(requirements_url)
    if extra_user:
        built = add_to_default_env(settings, extra_user, console)
        if built:
            outcome.changes += 1
            outcome.notes.append(f"the default environment now serves build {built} "
                                 f"(added: {', '.join(extra_user)}).")
    if hook:
        hook.tljh_post_install()
    outcome.changes += rebuild_for_new_python(outcome, console)
    return outcome


def rebuild_for_new_python(outcome, console):
    """After a Debian release upgrade: environments built on the old Python are built
    again from their locks (envs/python_change.py); returns how many were."""
    from .envs import python_change

    say = console.print if console is not None else (lambda message: None)
    results = python_change.rebuild_outdated(report=lambda message: say(f"  {message}"))
    rebuilt = 0
    for name, result in results.items():
        if result.startswith(("not rebuilt", "built from a repository")):
            outcome.notes.append(f"environment {name}: {result}")
        else:
            rebuilt += 1
            outcome.notes.append(f"environment {name} was built again for this machine's Python (build {result}).")
    return rebuilt


def set_admin_passwords(settings, admin_passwords):
    """Each NAME:PASSWORD admin can log in with that password; return how many changed."""
    from .hubapi import Hub
    from .users import manage, native, passwords

    hub = Hub.from_config(settings)
    changed = 0
    for name, password in admin_passwords.items():
        with native.connect() as db:
            row = db.execute("SELECT password FROM users_info WHERE username = ?", (name,)).fetchone()
        if row is None:
            manage.add_user(hub, name, admin=True, password=password)
        elif passwords.matches(password, row[0]):
            continue
        else:
            manage.reset_password(name, password)
        with native.connect() as db:
            native.set_approved(db, name, True)
        changed += 1
    return changed


def fetch_requirements(url):
    """The requirement lines at URL (http, https or file), or InstallFlagError."""
    if not url.startswith(("https://", "http://", "file://")):
        raise InstallFlagError(f"--user-requirements-txt-url {url}: not an http(s) or file URL.")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            text = response.read(1 << 20).decode()
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as error:
        raise InstallFlagError(f"--user-requirements-txt-url {url}: cannot download it "
                               f"({getattr(error, 'reason', error)}).") from None
    return [line.split(" #", 1)[0].strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def add_to_default_env(settings, requirement_lines, console):
    from .envs import adminpip

    name = settings["user_environment"]["default_env"]
    requirements = adminpip.parse_requirements(requirement_lines)
    return adminpip.add(name, requirements, progress=lambda step: console.print(f"  default environment: {step}"))
