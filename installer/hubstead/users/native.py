"""NativeAuthenticator's sign-up records (`users_info` in the hub's SQLite DB).

The hub reads this table at every login, so a row written here takes effect at
once: approved users can log in, unapproved ones wait on /hub/authorize.
"""

import base64
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass

from .. import paths
from .unix import UserError

HUB_DB = "jupyterhub.sqlite"
COLUMNS = {"id", "username", "password", "is_authorized", "login_email_sent", "email", "has_2fa", "otp_secret"}


@dataclass
class SignUp:
    username: str
    approved: bool
    email: str | None


def hub_db_path(state_dir=None):
    return (state_dir or paths.STATE_DIR) / HUB_DB


@contextmanager
def connect(db_path=None):
    """A transaction on the hub's DB; commits on success, rolls back on error."""
    db_path = db_path or hub_db_path()
    if not db_path.exists():
        raise UserError(f"{db_path} does not exist: is the hub installed? Run `hubstead install`.")
    connection = sqlite3.connect(db_path, timeout=15)
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(users_info)")}
        if not COLUMNS <= columns:
            raise UserError("the hub's DB has no NativeAuthenticator table (users_info) of the known shape; "
                            "has the hub started once with NativeAuthenticator?")
        with connection:
            yield connection
    finally:
        connection.close()


def sign_ups(connection):
    rows = connection.execute("SELECT username, is_authorized, email FROM users_info ORDER BY username")
    return {name: SignUp(name, bool(approved), email) for name, approved, email in rows}


def find(connection, username):
    row = connection.execute("SELECT username, is_authorized, email FROM users_info WHERE username = ?",
                             (username,)).fetchone()
    return SignUp(row[0], bool(row[1]), row[2]) if row else None


def insert(connection, username, password_hash, approved=True, email=None):
    # NativeAuthenticator gives every record a 2FA secret at creation; so do we.
    otp_secret = base64.b32encode(os.urandom(10)).decode()
    connection.execute(
        "INSERT INTO users_info (username, password, is_authorized, login_email_sent, email, has_2fa, otp_secret)"
        " VALUES (?, ?, ?, 0, ?, 0, ?)",
        (username, password_hash, int(approved), email or None, otp_secret))


def set_approved(connection, username, approved):
    changed = connection.execute("UPDATE users_info SET is_authorized = ? WHERE username = ?",
                                 (int(approved), username)).rowcount
    if not changed:
        raise UserError(f"no sign-up named {username!r}; see `hubstead user list`.")


def set_password_hash(connection, username, password_hash):
    if not connection.execute("UPDATE users_info SET password = ? WHERE username = ?",
                              (password_hash, username)).rowcount:
        raise UserError(f"{username!r} has no password here (never signed up or added); see `hubstead user list`.")


def delete(connection, username):
    connection.execute("DELETE FROM users_info WHERE username = ?", (username,))
