"""Binder builds as records in hubstead's own SQLite DB (/var/lib/hubstead/hubstead.sqlite).

One row per build request: which repository and commit, the cache key, the environment
and build it made, its state and one-line message. Each build's log is a file beside
the DB (builds/ID.log), appended by the build's systemd units and kept after it ends.

At most one build per cache key and environment is queued or running at a time (a
partial unique index), so two users opening the same new link share one build: the
second insert fails and `add` answers with the build already under way.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from .. import paths

DB_NAME = "hubstead.sqlite"
DONE = ("succeeded", "failed", "cancelled")
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS builds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        repo TEXT NOT NULL, ref TEXT NOT NULL, commit_id TEXT NOT NULL, cache_key TEXT NOT NULL,
        env TEXT NOT NULL, build TEXT, kind TEXT NOT NULL, state TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '', requested_by TEXT NOT NULL, make_current INTEGER NOT NULL,
        created REAL NOT NULL, started REAL, finished REAL, unit_started REAL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS one_active_build ON builds (cache_key, env) "
    "WHERE state IN ('queued', 'running')",
)
COLUMNS = ("id", "repo", "ref", "commit_id", "cache_key", "env", "build", "kind", "state", "message",
           "requested_by", "make_current", "created", "started", "finished", "unit_started")
# Columns later versions added, with their type; connect() adds them to an older database.
ADDED_COLUMNS = {"unit_started": "REAL"}  # when the build's unit was started (it holds a slot)


@dataclass(frozen=True)
class Record:
    id: int
    repo: str
    ref: str
    commit_id: str
    cache_key: str
    env: str  # the environment a server starts in (the default one for repositories with no spec)
    build: str | None  # the build of env; None: env's current build
    kind: str  # conda | pypi | none, as repofiles.RepoConfig.kind
    state: str  # queued | running | succeeded | failed | cancelled
    message: str
    requested_by: str
    make_current: bool
    created: float
    started: float | None
    finished: float | None
    unit_started: float | None = None  # None while queued: waiting for a build slot

    @property
    def done(self):
        return self.state in DONE

    @property
    def succeeded(self):
        return self.state == "succeeded"

    @property
    def log_path(self):
        return log_path(self.id)

    def as_dict(self):
        data = asdict(self)
        data["commit"] = data.pop("commit_id")
        return data


def db_path():
    return paths.STATE_DIR / DB_NAME


def builds_dir():
    return paths.STATE_DIR / "builds"


def log_path(build_id):
    return builds_dir() / f"{int(build_id)}.log"


@contextmanager
def connect():
    connection = sqlite3.connect(db_path(), timeout=15)
    try:
        with connection:
            for statement in SCHEMA:
                connection.execute(statement)
            present = {row[1] for row in connection.execute("PRAGMA table_info(builds)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in present:
                    try:
                        connection.execute(f"ALTER TABLE builds ADD COLUMN {column} {kind}")
                    except sqlite3.OperationalError as error:  # another process added it just now
                        if "duplicate column" not in str(error):
                            raise
            yield connection
    finally:
        connection.close()


def _record(row):
    values = dict(zip(COLUMNS, row))
    values["make_current"] = bool(values["make_current"])
    return Record(**values)


def _select(connection, where="", arguments=()):
    rows = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM builds {where}", arguments)
    return [_record(row) for row in rows]


def add(*, repo, ref, commit_id, cache_key, env, kind, requested_by, make_current=False, build=None,
        state="queued", message=""):
    """(record, True) for a new build; (the queued or running one, False) when a build of
    the same cache key into the same environment is already under way."""
    builds_dir().mkdir(mode=0o755, parents=True, exist_ok=True)
    now = time.time()
    finished = now if state in DONE else None
    with connect() as connection:
        try:
            cursor = connection.execute(
                "INSERT INTO builds (repo, ref, commit_id, cache_key, env, build, kind, state, message, "
                "requested_by, make_current, created, started, finished) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (repo, ref, commit_id, cache_key, env, build, kind, state, message, requested_by,
                 int(make_current), now, finished, finished))
        except sqlite3.IntegrityError:
            running = _select(connection, "WHERE cache_key = ? AND env = ? AND state IN ('queued', 'running')",
                              (cache_key, env))
            if running:
                return running[0], False
            raise
        return _select(connection, "WHERE id = ?", (cursor.lastrowid,))[0], True


def get(build_id):
    try:
        build_id = int(build_id)
    except (TypeError, ValueError):
        return None
    if not db_path().exists():
        return None
    with connect() as connection:
        found = _select(connection, "WHERE id = ?", (build_id,))
    return found[0] if found else None


def all_records(limit=None):
    """Newest first."""
    if not db_path().exists():
        return []
    with connect() as connection:
        return _select(connection, "ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else ""))


def latest_succeeded(cache_key, env):
    with connect() as connection:
        found = _select(connection, "WHERE cache_key = ? AND env = ? AND state = 'succeeded' ORDER BY id DESC "
                        "LIMIT 1", (cache_key, env))
    return found[0] if found else None


def succeeded(cache_key):
    """Every succeeded build of cache_key, in any environment, newest first."""
    with connect() as connection:
        return _select(connection, "WHERE cache_key = ? AND state = 'succeeded' ORDER BY id DESC", (cache_key,))


def active():
    if not db_path().exists():
        return []
    with connect() as connection:
        return _select(connection, "WHERE state IN ('queued', 'running') ORDER BY id")


def claim_slot(limit):
    """The oldest queued build still waiting, now marked as started, when fewer than limit
    builds hold a slot; None otherwise. One transaction, so two callers never both take
    the last slot."""
    if not db_path().exists():
        return None
    with connect() as connection:
        connection.execute("BEGIN IMMEDIATE")
        holding = connection.execute("SELECT COUNT(*) FROM builds WHERE state IN ('queued', 'running') "
                                     "AND unit_started IS NOT NULL").fetchone()[0]
        if holding >= limit:
            return None
        waiting = _select(connection, "WHERE state = 'queued' AND unit_started IS NULL ORDER BY id LIMIT 1")
        if not waiting:
            return None
        connection.execute("UPDATE builds SET unit_started = ? WHERE id = ?", (time.time(), waiting[0].id))
        return _select(connection, "WHERE id = ?", (waiting[0].id,))[0]


def queue_position(build_id):
    """1 for the next build to start, 2 for the one after...; None when not waiting."""
    with connect() as connection:
        row = connection.execute("SELECT unit_started, state FROM builds WHERE id = ?", (int(build_id),)).fetchone()
        if row is None or row[0] is not None or row[1] != "queued":
            return None
        return connection.execute("SELECT COUNT(*) FROM builds WHERE state = 'queued' AND unit_started IS NULL "
                                  "AND id <= ?", (int(build_id),)).fetchone()[0]


def has_repo(repo):
    """Whether any build of repo succeeded or is under way: a repository this hub knows."""
    if not db_path().exists():
        return False
    with connect() as connection:
        return connection.execute("SELECT 1 FROM builds WHERE repo = ? AND state IN ('queued', 'running', "
                                  "'succeeded') LIMIT 1", (repo,)).fetchone() is not None


def update(build_id, **changes):
    """Set columns of one record; a move to a final state also sets `finished`.
    A record that is already done keeps its final state (a cancel wins over a late
    success report); returns the record as it is now."""
    if changes.get("state") in DONE:
        changes.setdefault("finished", time.time())
    if changes.get("state") == "running":
        changes.setdefault("started", time.time())
    if "make_current" in changes:
        changes["make_current"] = int(changes["make_current"])
    assignments = ", ".join(f"{column} = ?" for column in changes)
    with connect() as connection:
        guard = " AND state NOT IN ('succeeded', 'failed', 'cancelled')" if "state" in changes else ""
        connection.execute(f"UPDATE builds SET {assignments} WHERE id = ?{guard}", (*changes.values(), int(build_id)))
        return _select(connection, "WHERE id = ?", (int(build_id),))[0]


def read_log(build_id, offset=0, limit=256 * 1024):
    """(text, next offset) of a build's log from byte offset on, at most limit bytes
    (None: all); ("", offset) when there is nothing new. Text is decoded leniently: a log is for people."""
    path = log_path(build_id)
    try:
        with open(path, "rb") as log:
            log.seek(max(0, int(offset)))
            data = log.read(-1 if limit is None else limit)
    except FileNotFoundError:
        return "", int(offset)
    # Never cut a line (or a UTF-8 sequence) in half: stop at the last newline unless
    # a single line is longer than the limit.
    if limit is not None and len(data) == limit and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    return data.decode("utf-8", "replace"), int(offset) + len(data)


def append_log(build_id, text):
    path = log_path(build_id)
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log:
        log.write(text if text.endswith("\n") else text + "\n")


def made_build(env, build):
    """Whether the builder made build BUILD of environment ENV (a repository's build)."""
    with connect() as connection:
        return bool(_select(connection, "WHERE env = ? AND build = ? LIMIT 1", (env, build)))
