"""Unix accounts behind hub users: created before the first spawn, kept in step.

Each hub user NAME runs as unix user `jupyter-NAME` with a private home (0700).
Every account is a member of `jupyterhub-users`; hub admins' of `jupyterhub-admins` too,
which a sudoers drop-in grants sudo (TLJH's groups). users.extra_user_groups adds more.
"""

import grp
import logging
import os
import pwd
import re
import subprocess

from ..errors import HubsteadError
from ..usernames import ACCOUNT_COMMENT, UNIX_PREFIX, login_name_problem, unix_name

ADMIN_GROUP = "jupyterhub-admins"
# Every hub user's account, as in TLJH (sites grant their learners things through it).
USER_GROUP = "jupyterhub-users"
log = logging.getLogger("hubstead.users")


class UserError(HubsteadError):
    """An expected failure about a user; the message says what to do."""


def ensure_unix_user(name):
    """Create the unix account for hub user NAME if missing; return its passwd entry."""
    # Names from a login server (e-mails, long ones) are fine: unix_name derives the account.
    problem = login_name_problem(name)
    if problem:
        raise UserError(f"{name!r}: {problem}")
    account = unix_name(name)
    # ':' and ',' separate passwd's fields; the comment names the hub user who owns the account.
    comment = ACCOUNT_COMMENT + re.sub(r"[:,\n]", "_", name)
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        pass
    else:
        if entry.pw_gecos.startswith(ACCOUNT_COMMENT) and entry.pw_gecos != comment:
            raise UserError(f"{name!r}: its unix account would be {account}, which belongs to "
                            f"{entry.pw_gecos.removeprefix(ACCOUNT_COMMENT)!r}; the two names cannot both "
                            "have servers here (rename or remove one)")
        return entry
    subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/bash", "--comment", comment, account],
        check=True, capture_output=True, text=True,
    )
    set_membership(account, USER_GROUP, True, system=True)
    entry = pwd.getpwnam(account)
    # Homes are private: another learner must not read your notebooks.
    os.chmod(entry.pw_dir, 0o700)
    log.info("created unix user %s (home %s)", account, entry.pw_dir)
    from ..plugins import new_user_created

    new_user_created(name)  # TLJH plugins' tljh_new_user_create
    return entry


def set_admin_membership(name, admin):
    """Put `jupyter-NAME` in the sudo-granting group exactly when NAME is a hub admin."""
    set_membership(unix_name(name), ADMIN_GROUP, admin, system=True)


def set_membership(account, group, member, system=False):
    """Make unix user ACCOUNT a member of GROUP (made if missing) or not, as MEMBER says."""
    try:
        members = grp.getgrnam(group).gr_mem
    except KeyError:
        if not member:
            return
        subprocess.run(["groupadd", *(["--system"] if system else []), group], check=True, capture_output=True)
        log.info("created unix group %s", group)
        members = []
    if member and account not in members:
        subprocess.run(["gpasswd", "--add", account, group], check=True, capture_output=True)
    elif not member and account in members:
        subprocess.run(["gpasswd", "--delete", account, group], check=True, capture_output=True)


def spawn_hook(extra_groups):
    """JupyterHub's pre-spawn hook for these users.extra_user_groups ({group: [hub names]})."""
    extra_groups = {group: set(names) for group, names in (extra_groups or {}).items()}

    def hook(spawner):
        pre_spawn_hook(spawner)
        account = unix_name(spawner.user.name)
        # The groups the config names follow its lists; groups it no longer names are left alone.
        for group, names in extra_groups.items():
            set_membership(account, group, spawner.user.name in names)

    return hook


def pre_spawn_hook(spawner):
    """The account exists, is in jupyterhub-users, and its sudo matches its role (as TLJH's)."""
    name = spawner.user.name
    ensure_unix_user(name)
    set_membership(unix_name(name), USER_GROUP, True, system=True)
    admin = bool(spawner.user.admin)
    set_admin_membership(name, admin)
    # SystemdSpawner sets NoNewPrivileges when this is True, which makes sudo fail.
    spawner.disable_user_sudo = not admin
    if unix_name(name) != UNIX_PREFIX + name:
        # A name only the derived account can hold (hubstead.usernames.unix_name); its unit
        # is named after that account too (kept in the spawner's state across hub restarts).
        spawner.username_template = unix_name(name)
        spawner.unit_name = unix_name(name) + "-singleuser"
