"""Workshop accounts from a roster: check every row, then create all or none, with
their passwords kept first (a sheet file for the CLI, a stored sheet for the web page).
"""

from pathlib import Path
from urllib.parse import quote

from .. import audit, paths
from ..diskspace import require_room
from . import logins, native, passwords
from .manage import _create
from .roster import RosterError, parse_roster, write_sheets
from .unix import UserError


def import_roster(hub, roster_path, sheet_path, hub_url):
    """Create every account of a roster, approved, with generated passwords; write the sheets."""
    roster_path = Path(roster_path)
    require_room(paths.STATE_DIR, UserError)
    try:
        text = roster_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {roster_path}: {error}") from None
    rows = roster_rows(hub, text, source=str(roster_path))
    written = []

    def keep(credentials):  # the sheets first: no accounts without their sheet
        written.extend(write_sheets(sheet_path, credentials, hub_url))

    def discard():
        for path in written:
            path.unlink(missing_ok=True)

    count = create_roster_accounts(hub, rows, keep, discard)
    return (tuple(written) or None), count


def roster_rows(hub, text, source="roster"):
    """The rows of a roster that can all be created now; else RosterError, with every
    bad line and every name that exists already."""
    rows = parse_roster(text, source=source)
    taken = _existing_names(hub) & {row.username for row in rows}
    if taken:
        problems = [(row.line, f"{row.username!r} already exists") for row in rows if row.username in taken]
        raise RosterError(f"{source}: nothing was created; fix these lines:\n"
                          + "\n".join(f"line {line}: {message}" for line, message in problems[:10]), problems,
                          [row for row in rows if row.username not in taken])
    return rows


def create_roster_accounts(hub, rows, keep, discard):
    """Create the accounts of checked rows; keep(credentials) stores their passwords first
    and discard() undoes that when creating fails. Returns how many were created."""
    if not logins.is_native():  # accounts and groups only: the login server has the passwords
        hub.post("users", json={"usernames": [row.username for row in rows]})
        _add_to_groups(hub, rows)
        audit.record("roster.create", f"{len(rows)} accounts", ", ".join(row.username for row in rows)[:500])
        return len(rows)
    secrets = [passwords.generate() for _ in rows]
    hashes = passwords.hash_many(secrets)
    keep([(row.username, secret) for row, secret in zip(rows, secrets)])
    try:
        _create(hub, [(row.username, hashed, row.email) for row, hashed in zip(rows, hashes)])
    except Exception:
        discard()
        raise
    _add_to_groups(hub, rows)
    audit.record("roster.create", f"{len(rows)} accounts", ", ".join(row.username for row in rows)[:500])
    return len(rows)


def _existing_names(hub):
    with native.connect() as db:
        names = set(native.sign_ups(db))
    return names | {model["name"] for model in hub.users()}


def _add_to_groups(hub, rows):
    members = {}
    for row in rows:
        if row.group:
            members.setdefault(row.group, []).append(row.username)
    for group, names in members.items():
        hub.post(f"groups/{quote(group)}", ok=(201, 409))
        hub.post(f"groups/{quote(group)}/users", json={"users": names})


def import_roster_text(hub, text, owner, hub_url, dry_run=False):
    """A roster uploaded to the instructors' page: its checked rows, and (unless dry_run)
    the accounts created with their passwords kept as OWNER's sheet (hubstead.users.sheets);
    returns (rows, sheet id or None)."""
    from . import sheets

    require_room(paths.STATE_DIR, UserError)
    rows = roster_rows(hub, text, source="the roster")
    if dry_run:
        return rows, None
    made = []

    def keep(credentials):
        made.append(sheets.create(owner, credentials, hub_url))

    def discard():
        for sheet_id in made:
            sheets.discard(sheet_id)

    create_roster_accounts(hub, rows, keep, discard)
    return rows, (made[0] if made else None)
