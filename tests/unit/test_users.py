"""The users core without a hub: rosters, password sheets, passwords, sign-up records, locks."""

import csv
import sqlite3
import stat

import pytest

from hubstead.users import UserError, locks, native, passwords
from hubstead.users.roster import parse_roster, render_html, write_sheets

# The table NativeAuthenticator 1.3.0 creates in the hub's DB (nativeauthenticator/orm.py).
USERS_INFO = """CREATE TABLE users_info (
    id INTEGER PRIMARY KEY AUTOINCREMENT, username VARCHAR(128) NOT NULL, password BLOB NOT NULL,
    is_authorized BOOLEAN, login_email_sent BOOLEAN, email VARCHAR(128), has_2fa BOOLEAN,
    otp_secret VARCHAR(16))"""


def test_roster_with_all_columns_in_any_order():
    rows = parse_roster("group,username,email\nday1,Alice,alice@example.org\n,bob,\n\n")
    assert [(r.line, r.username, r.email, r.group) for r in rows] == [
        (2, "alice", "alice@example.org", "day1"), (3, "bob", None, None)]


def test_roster_reports_every_bad_line_and_creates_nothing():
    text = "username,email\nalice,\nBob Smith,\nalice,\ncarol,not-an-address\nroot,\n"
    with pytest.raises(UserError) as refusal:
        parse_roster(text, source="roster.csv")
    message = str(refusal.value)
    assert message.startswith("roster.csv: nothing was created")
    assert "line 3: 'bob smith'" in message
    assert "line 4: 'alice' is already on line 2" in message
    assert "line 5: 'not-an-address' is not an e-mail address" in message
    assert "line 6: 'root'" in message and "reserved" in message


@pytest.mark.parametrize("text, phrase", [
    ("alice\nbob\n", "line 1 must be a header"),
    ("username,phone\nalice,1\n", "unknown column 'phone'"),
    ("username\n", "no accounts in it"),
    ("username\nalice,extra\n", "line 2: 2 values but the header names 1 columns"),
    ("username,group\nalice,Day One\n", "line 2: group 'Day One'"),
])
def test_roster_refusals(text, phrase):
    with pytest.raises(UserError, match=phrase):
        parse_roster(text)


def test_a_byte_order_mark_from_a_spreadsheet_is_ignored():
    assert parse_roster("\ufeffusername\nalice\n")[0].username == "alice"


def test_generated_passwords_are_long_unambiguous_and_distinct():
    generated = {passwords.generate() for _ in range(200)}
    assert len(generated) == 200
    for password in generated:
        assert len(password) == 14 and password.count("-") == 2
        assert not set(password) & set("0O1lI")


def test_hashes_verify_as_nativeauthenticator_checks_them():
    import bcrypt

    secrets = [passwords.generate() for _ in range(4)]
    hashes = passwords.hash_many(secrets)
    for secret, hashed in zip(secrets, hashes):
        # NativeAuthenticator: stored == bcrypt.hashpw(password, stored)
        assert bcrypt.hashpw(secret.encode(), hashed) == hashed
        assert hashed.startswith(b"$2b$08$")
    assert not passwords.matches("wrong", hashes[0])


def test_sheets_hold_every_password_and_only_the_owner_reads_them(tmp_path):
    credentials = [("alice", "aaaa-bbbb-cccc"), ("bob", "dddd-eeee-ffff")]
    csv_path, html_path = write_sheets(tmp_path / "out" / "passwords.csv", credentials, "http://hub.example")
    with open(csv_path) as handle:
        assert list(csv.reader(handle)) == [["username", "password"], ["alice", "aaaa-bbbb-cccc"],
                                            ["bob", "dddd-eeee-ffff"]]
    page = html_path.read_text()
    assert html_path.name == "passwords.html"
    assert "aaaa-bbbb-cccc" in page and "http://hub.example/hub/login" in page
    for path in (csv_path, html_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_html_sheet_escapes_what_it_prints():
    assert "&lt;b&gt;" in render_html([("alice", "<b>")], "http://hub")


@pytest.fixture
def hub_db(tmp_path):
    path = tmp_path / "jupyterhub.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(USERS_INFO)
    return path


def test_sign_up_records_round_trip(hub_db):
    with native.connect(hub_db) as db:
        native.insert(db, "alice", passwords.hash_password("x" * 10, cost=4), approved=True, email="a@b.org")
        native.insert(db, "bob", passwords.hash_password("y" * 10, cost=4), approved=False)
    with native.connect(hub_db) as db:
        found = native.sign_ups(db)
        assert found["alice"].approved and not found["bob"].approved
        native.set_approved(db, "bob", True)
        assert native.find(db, "bob").approved
        native.delete(db, "bob")
        assert native.find(db, "bob") is None
        with pytest.raises(UserError, match="no sign-up named 'carol'"):
            native.set_approved(db, "carol", True)
    row = sqlite3.connect(hub_db).execute("SELECT otp_secret, has_2fa FROM users_info").fetchone()
    assert len(row[0]) == 16 and row[1] == 0


def test_a_failed_transaction_writes_nothing(hub_db):
    with pytest.raises(RuntimeError):
        with native.connect(hub_db) as db:
            native.insert(db, "alice", b"hash")
            raise RuntimeError("half-way")
    with native.connect(hub_db) as db:
        assert native.sign_ups(db) == {}


def test_a_db_without_the_table_is_explained(tmp_path):
    path = tmp_path / "jupyterhub.sqlite"
    sqlite3.connect(path).close()
    with pytest.raises(UserError, match="no NativeAuthenticator table"):
        with native.connect(path):
            pass
    with pytest.raises(UserError, match="does not exist"):
        with native.connect(tmp_path / "absent.sqlite"):
            pass


def test_locks(tmp_path):
    db = tmp_path / "hubstead.sqlite"
    assert locks.locked_users(db) == set()
    assert locks.lock("bob", "left the course", db)
    assert not locks.lock("bob", path=db), "locking twice changes nothing"
    assert locks.is_locked("bob", db) and not locks.is_locked("alice", db)
    assert locks.unlock("bob", db) and not locks.unlock("bob", db)
    assert locks.locked_users(db) == set()
