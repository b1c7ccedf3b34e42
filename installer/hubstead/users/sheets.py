"""Password sheets of workshop accounts, kept for the one who made them.

A sheet lives in hubstead's SQLite store (root only), never in a file a learner could
read; it is readable by its owner and by admins, and expires (DEFAULT_HOURS). Expired
sheets are deleted whenever sheets are read or written.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time

from . import locks
from .roster import render_html
from .unix import UserError

DEFAULT_HOURS = 24
SCHEMA = ("CREATE TABLE IF NOT EXISTS password_sheets (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
          "created REAL NOT NULL, expires REAL NOT NULL, hub_url TEXT NOT NULL, accounts TEXT NOT NULL)")


class SheetNotFound(UserError):
    """No such sheet for this person (HTTP 404): unknown, expired, or someone else's."""

    status = 404


def create(owner, credentials, hub_url, hours=DEFAULT_HOURS, now=None, path=None):
    """Keep [(username, password)] for OWNER; return the new sheet's id."""
    now = time.time() if now is None else now
    sheet_id = secrets.token_urlsafe(12)
    with locks.connect(path, schema=SCHEMA) as db:
        _drop_expired(db, now)
        db.execute("INSERT INTO password_sheets VALUES (?, ?, ?, ?, ?, ?)",
                   (sheet_id, owner, now, now + hours * 3600, hub_url, json.dumps(list(map(list, credentials)))))
    return sheet_id


def discard(sheet_id, path=None):
    with locks.connect(path, schema=SCHEMA) as db:
        db.execute("DELETE FROM password_sheets WHERE id = ?", (sheet_id,))


def get(sheet_id, reader, admin=False, now=None, path=None):
    """The sheet as a dict (id, owner, created, expires, hub_url, accounts), if READER may read it."""
    now = time.time() if now is None else now
    with locks.connect(path, schema=SCHEMA) as db:
        _drop_expired(db, now)
        row = db.execute("SELECT id, owner, created, expires, hub_url, accounts FROM password_sheets WHERE id = ?",
                         (str(sheet_id),)).fetchone()
    if row is None or (row[1] != reader and not admin):
        raise SheetNotFound(f"no password sheet {sheet_id!r} for {reader} (sheets expire after "
                            f"{DEFAULT_HOURS} h and are readable only by whoever made them, and admins).")
    sheet = dict(zip(("id", "owner", "created", "expires", "hub_url"), row))
    sheet["accounts"] = [{"username": name, "password": password} for name, password in json.loads(row[5])]
    return sheet


def listing(reader, admin=False, now=None, path=None):
    """READER's sheets (an admin: everyone's) without their passwords, newest first."""
    now = time.time() if now is None else now
    with locks.connect(path, schema=SCHEMA) as db:
        _drop_expired(db, now)
        rows = db.execute("SELECT id, owner, created, expires, accounts FROM password_sheets "
                          "WHERE owner = ? OR ? ORDER BY created DESC", (reader, int(bool(admin)))).fetchall()
    return [{"id": sheet_id, "owner": owner, "created": created, "expires": expires, "count": len(json.loads(accounts))}
            for sheet_id, owner, created, expires, accounts in rows]


def delete(sheet_id, reader, admin=False, path=None):
    get(sheet_id, reader, admin, path=path)
    discard(sheet_id, path)


def as_csv(sheet):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["username", "password"])
    writer.writerows((account["username"], account["password"]) for account in sheet["accounts"])
    return buffer.getvalue()


def as_html(sheet):
    """The printable page (every value escaped), as `hubstead user import` writes it."""
    return render_html([(account["username"], account["password"]) for account in sheet["accounts"]],
                       sheet["hub_url"])


def _drop_expired(db, now):
    db.execute("DELETE FROM password_sheets WHERE expires <= ?", (now,))
