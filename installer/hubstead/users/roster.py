"""Workshop rosters (CSV in) and password sheets (CSV and printable HTML out).

A roster has a header row naming its columns: `username`, and optionally `email`
and `group`, in any order. Every row must be valid before anything is created.
"""

import csv
import html
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..usernames import username_problem
from .unix import UserError

KNOWN_COLUMNS = ("username", "email", "group")
EMAIL = re.compile(r"^[A-Za-z0-9.+_-]+@[A-Za-z0-9._-]+\.[A-Za-z]+$")  # what NativeAuthenticator accepts
GROUP = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_REPORTED = 10


@dataclass
class RosterRow:
    line: int
    username: str
    email: str | None = None
    group: str | None = None


def group_problem(name):
    if not GROUP.match(name or ""):
        return "group names use lowercase letters, digits, '-' and '_' (at most 64 characters)."
    return None


class RosterError(UserError):
    """A roster with bad lines; `problems` lists (line, message) for each."""

    def __init__(self, message, problems=(), rows=()):
        super().__init__(message)
        self.problems = list(problems)
        self.rows = list(rows)  # the good rows, for a preview


def parse_roster(text, source="roster"):
    """Rows of a roster; raise RosterError listing every bad line (by number) when any is bad."""
    rows, problems = check_roster(text, source)
    if problems:
        shown = [f"line {line}: {message}" for line, message in problems]
        more = f"\n(and {len(shown) - MAX_REPORTED} more)" if len(shown) > MAX_REPORTED else ""
        raise RosterError(f"{source}: nothing was created; fix these lines:\n" + "\n".join(shown[:MAX_REPORTED]) + more,
                          problems, rows)
    if not rows:
        raise RosterError(f"{source}: no accounts in it (only a header).", [(1, "no accounts in it (only a header)")])
    return rows


def check_roster(text, source="roster"):
    """(good rows, [(line, problem)]) of a roster; a bad header raises RosterError."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if "username" not in header:
        problem = f"line 1 must be a header naming the columns, with at least `username` (known: {', '.join(KNOWN_COLUMNS)})."
        raise RosterError(f"{source}: {problem}", [(1, problem)])
    unknown = [name for name in header if name not in KNOWN_COLUMNS]
    if unknown:
        problem = f"unknown column {unknown[0]!r}; known: {', '.join(KNOWN_COLUMNS)}."
        raise RosterError(f"{source}: line 1: {problem}", [(1, problem)])
    rows, problems, seen = [], [], {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        values = dict(zip(header, (cell.strip() for cell in cells)))
        row = RosterRow(line, values.get("username", "").lower(), values.get("email") or None,
                        values.get("group") or None)
        problem = _row_problem(row, len(cells), len(header), seen)
        if problem:
            problems.append((line, problem))
        else:
            seen[row.username] = line
            rows.append(row)
    return rows, problems


def _row_problem(row, cell_count, column_count, seen):
    if cell_count > column_count:
        return f"{cell_count} values but the header names {column_count} columns"
    problem = username_problem(row.username)
    if problem:
        return f"{row.username!r}: {problem}"
    if row.username in seen:
        return f"{row.username!r} is already on line {seen[row.username]}"
    if row.email and not EMAIL.match(row.email):
        return f"{row.email!r} is not an e-mail address"
    if row.group and group_problem(row.group):
        return f"group {row.group!r}: {group_problem(row.group)}"
    return None


def sheet_paths(csv_path):
    csv_path = Path(csv_path)
    return csv_path, csv_path.with_suffix(".html")


def write_sheets(csv_path, credentials, hub_url):
    """Write passwords.csv (username,password) and a printable passwords.html beside it.

    Both are readable by their owner only: they hold every password."""
    csv_path, html_path = sheet_paths(csv_path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["username", "password"])
    writer.writerows(credentials)
    _write_private(csv_path, buffer.getvalue())
    _write_private(html_path, render_html(credentials, hub_url))
    return csv_path, html_path


def _write_private(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def render_html(credentials, hub_url):
    """One card per account, to print and cut apart."""
    login = html.escape(f"{hub_url.rstrip('/')}/hub/login")
    cards = "\n".join(
        f'<div class="card"><p class="hub">{login}</p>'
        f'<p><span>Username</span><code>{html.escape(name)}</code></p>'
        f'<p><span>Password</span><code>{html.escape(password)}</code></p></div>'
        for name, password in credentials)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workshop accounts</title>
<style>
body {{ font-family: sans-serif; margin: 1cm; }}
.cards {{ display: grid; grid-template-columns: repeat(2, 1fr); gap: 0.5cm; }}
.card {{ border: 1px dashed #555; padding: 0.4cm; break-inside: avoid; }}
.card span {{ display: inline-block; width: 6em; color: #555; }}
.card code {{ font-size: 1.3em; }}
.hub {{ font-size: 0.9em; color: #333; }}
@media print {{ h1 {{ display: none; }} }}
</style></head>
<body><h1>Workshop accounts ({len(credentials)})</h1>
<div class="cards">
{cards}
</div></body></html>
"""
