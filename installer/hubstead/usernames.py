"""The one rule for usernames, shared by the hub, the unix side and bootstrap.py.

Names Hubstead makes (sign-up, `hubstead user add`, the config's lists) follow
`username_problem`. Names a login server gives (LDAP, OAuth, FirstUse: an e-mail, a long
CILogon subject) are taken as they are for the hub; their unix account follows ONE rule,
`unix_name`: `jupyter-NAME` when that is a valid account name of at most 32 characters,
else `jupyter-` and NAME lowercased with each run of other characters made '-', cut to 26
characters, then '-' and the first 5 hex digits of NAME's SHA-256 (TLJH cuts and hashes
long names the same way). Two hub names that would share an account are refused when the
second one's server first starts (hubstead.users.unix).

Standard library only: bootstrap.py loads this file from the source tree before
anything is installed.
"""

import hashlib
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


UNIX_MAX_LENGTH = 32  # useradd's limit
HASH_LENGTH = 5
LOGIN_NAME_MAX = 255


def login_name_problem(name):
    """Why a login server's NAME cannot have an account here, or None (looser than
    username_problem: the unix side is derived by unix_name)."""
    if not name or not name.strip():
        return "a username cannot be empty."
    if len(name) > LOGIN_NAME_MAX:
        return f"usernames have at most {LOGIN_NAME_MAX} characters."
    if any(character.isspace() or ord(character) < 32 for character in name):
        return "a username cannot hold spaces or control characters."
    return None


# The comment (passwd's GECOS field) of each account Hubstead makes: it names the hub
# user the account belongs to, so a derived account maps back (users.unix, envs.inspect).
ACCOUNT_COMMENT = "Hubstead user "


def unix_name(name):
    """The unix account that runs NAME's server (the rule in this module's docstring)."""
    plain = UNIX_PREFIX + name
    if len(plain) <= UNIX_MAX_LENGTH and re.match(PATTERN, name):
        return plain
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return f"{(UNIX_PREFIX + safe)[:UNIX_MAX_LENGTH - HASH_LENGTH - 1]}-{digest}"
