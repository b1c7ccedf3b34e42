"""Locked users, in hubstead's own SQLite DB (/var/lib/hubstead/hubstead.sqlite).

A locked user cannot log in, and the hub ends their sessions at the next auth
refresh (hubstead.hub.authenticator reads this table). Unlocking restores access;
nothing else about the account changes.
"""

import sqlite3
import time
from contextlib import contextmanager

from .. import paths

DB_NAME = "hubstead.sqlite"
SCHEMA = "CREATE TABLE IF NOT EXISTS locked_users (username TEXT PRIMARY KEY, since REAL NOT NULL, reason TEXT)"


def db_path(state_dir=None):
    return (state_dir or paths.STATE_DIR) / DB_NAME


@contextmanager
def connect(path=None, schema=SCHEMA):
    """hubstead's SQLite DB with the table `schema` creates (users.failed_logins has its own)."""
    connection = sqlite3.connect(path or db_path(), timeout=15)
    try:
        with connection:
            connection.execute(schema)
            yield connection
    finally:
        connection.close()


def lock(username, reason="", path=None):
    with connect(path) as connection:
        return connection.execute("INSERT OR IGNORE INTO locked_users VALUES (?, ?, ?)",
                                  (username, time.time(), reason or None)).rowcount == 1


def unlock(username, path=None):
    with connect(path) as connection:
        return connection.execute("DELETE FROM locked_users WHERE username = ?", (username,)).rowcount == 1


def locked_users(path=None):
    path = path or db_path()
    if not path.exists():
        return set()
    with connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT username FROM locked_users")}


def is_locked(username, path=None):
    return username in locked_users(path)
