"""The one rule for usernames, shared by the hub, the unix side and bootstrap.py.

Standard library only: bootstrap.py loads this file from the source tree before
anything is installed.
"""

import re

UNIX_PREFIX = "jupyter-"
# useradd accepts 32 characters; the unix name is the prefix plus the hub name.
MAX_LENGTH = 32 - len(UNIX_PREFIX)
PATTERN = r"^[a-z][a-z0-9_-]*$"
RESERVED = frozenset(
    {"root", "admin", "hub", "jupyterhub", "hubstead", "nobody", "daemon", "bin", "sys", "sync",
     "games", "man", "mail", "news", "www-data", "backup", "list", "irc", "proxy", "systemd"}
)


def username_problem(name):
    """Return why NAME cannot be a Hubstead user, or None when it can."""
    if not name:
        return "a username cannot be empty."
    if len(name) > MAX_LENGTH:
        return f"usernames have at most {MAX_LENGTH} characters."
    if not re.match(PATTERN, name):
        return ("use lowercase letters, digits, '-' and '_' only, starting with a letter "
                "(for example 'alice' or 'bob_smith').")
    if name in RESERVED:
        return f"'{name}' is reserved for the system; choose another name."
    return None


def is_valid_username(name):
    return username_problem(name) is None


def unix_name(name):
    """The unix account that runs NAME's server."""
    return UNIX_PREFIX + name
