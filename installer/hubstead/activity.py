"""Activity samples of running servers, and the usage they add up to.

The web service samples every SAMPLE_SECONDS (web/app.py): one row per running server
with its start, last activity, memory and CPU time (its systemd unit's MemoryCurrent and
CPUUsageNSec), in hubstead's SQLite store. Usage per user per day (sessions,
server-hours) and the peak of concurrent servers are computed from these rows.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from .users import locks

SAMPLE_SECONDS = 60
KEEP_DAYS = 400
# A gap between two samples of one server longer than this is not counted as use
# (the service was down, or the server stopped and started again).
MAX_GAP = 3 * SAMPLE_SECONDS
MIN_SPAN = 10  # seconds: CPU percent over less is noise
SCHEMA = ("CREATE TABLE IF NOT EXISTS activity_samples (time REAL NOT NULL, user TEXT NOT NULL, "
          "environment TEXT, started TEXT, last_activity TEXT, memory_bytes INTEGER, cpu_seconds REAL)")


def record(servers, now=None, path=None):
    """Store one sample of every running server (dicts as servers.running answers)."""
    now = time.time() if now is None else now
    rows = [(now, item["user"], item.get("environment"), item.get("started"), item.get("last_activity"),
             item.get("memory_bytes"), item.get("cpu_seconds")) for item in servers]
    with locks.connect(path, schema=SCHEMA) as db:
        db.executemany("INSERT INTO activity_samples VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("DELETE FROM activity_samples WHERE time < ?", (now - KEEP_DAYS * 86400,))


def samples(since, path=None):
    """(time, user, started, cpu_seconds) of every sample since `since` (epoch seconds), in time order."""
    with locks.connect(path, schema=SCHEMA) as db:
        return db.execute("SELECT time, user, started, cpu_seconds FROM activity_samples WHERE time >= ? "
                          "ORDER BY time", (since,)).fetchall()


def last_cpu(path=None, now=None):
    """{user: (time, cpu_seconds)} of each user's newest sample from MAX_GAP to MIN_SPAN ago."""
    now = time.time() if now is None else now
    with locks.connect(path, schema=SCHEMA) as db:
        # SQLite takes the bare column (cpu_seconds) from the row holding MAX(time).
        rows = db.execute("SELECT user, MAX(time), cpu_seconds FROM activity_samples WHERE time BETWEEN ? AND ? "
                          "GROUP BY user", (now - MAX_GAP, now - MIN_SPAN)).fetchall()
    return {user: (when, cpu) for user, when, cpu in rows}


def cpu_percent(cpu_now, previous, now):
    """CPU use since the previous sample, in percent of one core; None when unknown."""
    if cpu_now is None or not previous or previous[1] is None or now <= previous[0] or cpu_now < previous[1]:
        return None
    return round(100 * (cpu_now - previous[1]) / (now - previous[0]), 1)


def usage(rows, days, today=None):
    """Sessions and server-hours per user per day, and each day's peak of concurrent
    servers, from samples (time, user, started, cpu_seconds) of the last `days` days."""
    today = today or datetime.now(timezone.utc).date()
    since = today - timedelta(days=days - 1)
    per_day, peaks, last_seen = {}, {}, {}
    at_time = {}
    for when, user, started, _ in rows:
        day = datetime.fromtimestamp(when, timezone.utc).date()
        if day < since:
            continue
        entry = per_day.setdefault((day, user), {"sessions": set(), "seconds": 0.0})
        entry["sessions"].add(started)
        previous = last_seen.get(user)
        if previous is not None and 0 < when - previous <= MAX_GAP:
            entry["seconds"] += when - previous
        last_seen[user] = when
        at_time.setdefault(when, set()).add(user)
    for when, users in at_time.items():
        day = datetime.fromtimestamp(when, timezone.utc).date()
        peaks[day] = max(peaks.get(day, 0), len(users))
    table = [{"date": day.isoformat(), "user": user, "sessions": len(entry["sessions"]),
              "server_hours": round(entry["seconds"] / 3600, 2)}
             for (day, user), entry in sorted(per_day.items())]
    peak_rows = [{"date": (since + timedelta(days=n)).isoformat(), "peak_servers": peaks.get(since + timedelta(days=n), 0)}
                 for n in range(days)]
    return {"days": days, "since": since.isoformat(), "rows": table, "peaks": peak_rows}


def usage_since(days, path=None):
    """usage() of the stored samples of the last `days` days (UTC)."""
    today = datetime.now(timezone.utc).date()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), timezone.utc).timestamp()
    return usage(samples(start, path), days, today)


def usage_csv(report):
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["date", "user", "sessions", "server_hours"])
    for row in report["rows"]:
        writer.writerow([row["date"], row["user"], row["sessions"], row["server_hours"]])
    return buffer.getvalue()
