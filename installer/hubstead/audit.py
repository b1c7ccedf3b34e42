"""Who did what, from the instructors' page or the CLI: hubstead's audit log.

Kept in hubstead's SQLite store (table `audit`) and written to the journal
(SYSLOG_IDENTIFIER hubstead-audit). The core library records each change it makes;
who made it comes from the context: the web service sets the hub user for the request
it serves (`acting_as`), anything else is the CLI run by a unix user (SUDO_USER under sudo).
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import logging
import os
import sqlite3
import time

from .logs import to_journal
from .users import locks

SCHEMA = ("CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, "
          "who TEXT NOT NULL, via TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)")
MAX_LIMIT = 1000
_ACTOR = contextvars.ContextVar("hubstead_audit_actor", default=None)
log = logging.getLogger("hubstead.audit")


def cli_actor():
    """The person behind a CLI run: the sudo caller, else the unix user."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


@contextlib.contextmanager
def acting_as(who, via="web"):
    """Record the changes made inside as WHO's (via: web or cli)."""
    token = _ACTOR.set((who, via))
    try:
        yield
    finally:
        _ACTOR.reset(token)


def actor():
    """(who, via) of the changes made now."""
    return _ACTOR.get() or (cli_actor(), "cli")


def record(action, target="", detail="", path=None):
    """Add one entry (e.g. "user.lock", "bob") and write it to the journal."""
    who, via = actor()
    entry = (time.time(), who, via, action, str(target), str(detail))
    try:
        with locks.connect(path, schema=SCHEMA) as db:
            db.execute("INSERT INTO audit (time, who, via, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)", entry)
    except (sqlite3.Error, OSError) as error:  # the change is made: a failed record must not undo it
        _journal().warning("could not record %s %s in the audit table: %s", action, target, error)
    _journal().info("%s (%s) %s %s%s", who, via, action, target, f": {detail}" if detail else "")


def recent(limit=100, path=None):
    """The newest entries first, as dicts (time is seconds since the epoch)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    with locks.connect(path, schema=SCHEMA) as db:
        rows = db.execute("SELECT time, who, via, action, target, detail FROM audit "
                          "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [dict(zip(("time", "who", "via", "action", "target", "detail"), row)) for row in rows]


def _journal():
    if to_journal(log, "hubstead-audit"):
        log.propagate = False
    return log