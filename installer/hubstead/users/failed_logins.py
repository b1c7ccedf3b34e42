"""Failed logins and the locks they cause, in hubstead's DB (beside the admins' locks).

The hub counts and refuses (hubstead.hub.authenticator); the CLI shows and clears
(`hubstead user list`, `hubstead user unlock`). Three limits, each over the last
`window` seconds (auth.native.seconds_before_next_try):

- a user from one address: after `per_user` failures (auth.native.allowed_failed_logins)
  that address may not try that user again. A guesser meets this lock; the owner,
  logging in from elsewhere, does not, so guessing cannot lock someone out.
- a user from anywhere: after EVERYWHERE_FACTOR times as many, from any addresses,
  nobody may (guessing spread over many addresses).
- an address: after `per_address` failures (auth.native.failed_logins_per_address),
  whatever the names, it may not try at all: one person cannot work through the list.

A refused try is not counted, so a lock ends at most `window` after the last real try.
"""

import ipaddress
import math
import time
from dataclasses import dataclass

from . import locks

EVERYWHERE_FACTOR = 4
SCHEMA = ("CREATE TABLE IF NOT EXISTS failed_logins (username TEXT NOT NULL, address TEXT NOT NULL, "
          "at REAL NOT NULL)")
USER_MESSAGE = "too many failed attempts; try again in {minutes} minutes."
ADDRESS_MESSAGE = "too many failed logins from your address; try again in {minutes} minutes."


@dataclass(frozen=True)
class Limits:
    per_user: int = 5  # 0: no per-user limit
    per_address: int = 30  # 0: no per-address limit
    window: int = 600  # seconds


@dataclass
class UserLock:
    """A user's failed-login lock: from these addresses, or from everywhere."""

    until: float
    addresses: list
    everywhere: bool

    def as_dict(self, now=None):
        return {"until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.until)),
                "minutes": minutes_left(self.until, now), "everywhere": self.everywhere,
                "addresses": self.addresses}


def limits_from(settings):
    native = settings["auth"]["native"]
    return Limits(native["allowed_failed_logins"], native["failed_logins_per_address"],
                  native["seconds_before_next_try"])


def minutes_left(until, now=None):
    return max(1, math.ceil((until - (time.time() if now is None else now)) / 60))


def normalize_address(address):
    """One spelling per address: '::ffff:127.0.0.5' (IPv4 on a dual-stack socket) is 127.0.0.5."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()
    mapped = getattr(parsed, "ipv4_mapped", None)
    return str(mapped or parsed)


def client_address(request):
    """The address a login came from. The proxy in front of the hub (configurable-http-proxy,
    or Caddy with HTTPS) appends the peer it saw as the LAST X-Forwarded-For entry; earlier
    entries and X-Real-Ip come from the client, who could name any address to dodge the limit."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    return normalize_address(forwarded or request.remote_ip or "")


def connect(path=None):
    return locks.connect(path, schema=SCHEMA)


def _times(connection, where, values, since):
    rows = connection.execute(f"SELECT at FROM failed_logins WHERE {where} AND at > ? ORDER BY at",
                              (*values, since))
    return [row[0] for row in rows]


def _until(times, limit, window):
    """When fewer than LIMIT of TIMES are inside the window again; None if that is now."""
    if not limit or len(times) < limit:
        return None
    return times[len(times) - limit] + window


def refusal(username, address, limits, path=None, now=None):
    """The message that refuses this try, or None when it may go ahead."""
    now = time.time() if now is None else now
    since = now - limits.window
    with connect(path) as db:
        by_address = _until(_times(db, "address = ?", (address,), since), limits.per_address, limits.window)
        if by_address:
            return ADDRESS_MESSAGE.format(minutes=minutes_left(by_address, now))
        pair = _until(_times(db, "username = ? AND address = ?", (username, address), since),
                      limits.per_user, limits.window)
        anywhere = _until(_times(db, "username = ?", (username,), since),
                          limits.per_user * EVERYWHERE_FACTOR, limits.window)
    until = max(pair or 0, anywhere or 0)
    return USER_MESSAGE.format(minutes=minutes_left(until, now)) if until else None


def record_failure(username, address, limits, path=None, now=None):
    now = time.time() if now is None else now
    with connect(path) as db:
        db.execute("DELETE FROM failed_logins WHERE at <= ?", (now - limits.window,))
        db.execute("INSERT INTO failed_logins VALUES (?, ?, ?)", (username, address, now))


def record_success(username, address, path=None):
    """The owner got in from ADDRESS: their failures there are forgiven (not a guesser's elsewhere)."""
    with connect(path) as db:
        db.execute("DELETE FROM failed_logins WHERE username = ? AND address = ?", (username, address))


def user_locks(limits, path=None, now=None):
    """{username: UserLock} for every user locked now."""
    path = path or locks.db_path()
    if not path.exists():
        return {}
    now = time.time() if now is None else now
    since = now - limits.window
    found = {}
    with connect(path) as db:
        names = [row[0] for row in db.execute("SELECT DISTINCT username FROM failed_logins WHERE at > ?", (since,))]
        for name in names:
            anywhere = _until(_times(db, "username = ?", (name,), since),
                              limits.per_user * EVERYWHERE_FACTOR, limits.window)
            pairs = {}
            for (address,) in db.execute("SELECT DISTINCT address FROM failed_logins WHERE username = ? AND at > ?",
                                         (name, since)).fetchall():
                until = _until(_times(db, "username = ? AND address = ?", (name, address), since),
                               limits.per_user, limits.window)
                if until:
                    pairs[address] = until
            if anywhere or pairs:
                found[name] = UserLock(max([anywhere or 0, *pairs.values()]), sorted(pairs), bool(anywhere))
    return found


def clear_user(username, path=None):
    """Forget NAME's failed logins (their locks end); True if there were any."""
    with connect(path) as db:
        return db.execute("DELETE FROM failed_logins WHERE username = ?", (username,)).rowcount > 0


def clear_address(address, path=None):
    """Forget the failed logins from ADDRESS (its lock ends); True if there were any."""
    with connect(path) as db:
        return db.execute("DELETE FROM failed_logins WHERE address = ?",
                          (normalize_address(address),)).rowcount > 0
