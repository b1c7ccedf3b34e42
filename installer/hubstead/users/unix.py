"""Unix accounts behind hub users: created before the first spawn, kept in step.

Each hub user NAME runs as unix user `jupyter-NAME` with a private home (0700).
Hub admins are members of `jupyterhub-admins`, which a sudoers drop-in grants sudo.
"""

import grp
import logging
import os
import pwd
import subprocess

from ..errors import HubsteadError
from ..usernames import unix_name, username_problem

ADMIN_GROUP = "jupyterhub-admins"
log = logging.getLogger("hubstead.users")


class UserError(HubsteadError):
    """An expected failure about a user; the message says what to do."""


def ensure_unix_user(name):
    """Create the unix account for hub user NAME if missing; return its passwd entry."""
    problem = username_problem(name)
    if problem:
        raise UserError(f"{name!r}: {problem}")
    account = unix_name(name)
    try:
        return pwd.getpwnam(account)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/bash", "--comment", f"Hubstead user {name}", account],
        check=True, capture_output=True, text=True,
    )
    entry = pwd.getpwnam(account)
    # Homes are private: another learner must not read your notebooks.
    os.chmod(entry.pw_dir, 0o700)
    log.info("created unix user %s (home %s)", account, entry.pw_dir)
    return entry


def set_admin_membership(name, admin):
    """Put `jupyter-NAME` in the sudo-granting group exactly when NAME is a hub admin."""
    account = unix_name(name)
    try:
        members = grp.getgrnam(ADMIN_GROUP).gr_mem
    except KeyError:
        subprocess.run(["groupadd", "--system", ADMIN_GROUP], check=True, capture_output=True)
        members = []
    if admin and account not in members:
        subprocess.run(["gpasswd", "--add", account, ADMIN_GROUP], check=True, capture_output=True)
    elif not admin and account in members:
        subprocess.run(["gpasswd", "--delete", account, ADMIN_GROUP], check=True, capture_output=True)


def pre_spawn_hook(spawner):
    """JupyterHub's pre-spawn hook: the account exists and its sudo matches its role."""
    name = spawner.user.name
    ensure_unix_user(name)
    admin = bool(spawner.user.admin)
    set_admin_membership(name, admin)
    # SystemdSpawner sets NoNewPrivileges when this is True, which makes sudo fail.
    spawner.disable_user_sudo = not admin
