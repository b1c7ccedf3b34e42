"""Failed-login locks: per user and address, per user everywhere, per address; shared by the
hub (counts, refuses) and the CLI (shows, clears) through hubstead's DB."""

from types import SimpleNamespace

import pytest

from hubstead.users import failed_logins
from hubstead.users.failed_logins import EVERYWHERE_FACTOR, Limits

LIMITS = Limits(per_user=3, per_address=10, window=600)
NOW = 1_000_000.0


@pytest.fixture
def db(tmp_path):
    return tmp_path / "hubstead.sqlite"


def fail(db, name, address, times=1, at=NOW):
    for step in range(times):
        failed_logins.record_failure(name, address, LIMITS, path=db, now=at + step)


def test_the_user_is_refused_from_the_guessing_address_with_the_time_left(db):
    fail(db, "ann", "10.0.0.1", times=2)
    assert failed_logins.refusal("ann", "10.0.0.1", LIMITS, path=db, now=NOW + 5) is None
    fail(db, "ann", "10.0.0.1", at=NOW + 2)
    message = failed_logins.refusal("ann", "10.0.0.1", LIMITS, path=db, now=NOW + 5)
    assert message == "too many failed attempts; try again in 10 minutes."
    assert "in 1 minutes" in failed_logins.refusal("ann", "10.0.0.1", LIMITS, path=db, now=NOW + 590)
    assert failed_logins.refusal("ann", "10.0.0.1", LIMITS, path=db, now=NOW + 601) is None


def test_the_owner_elsewhere_is_not_locked_out_by_a_guesser(db):
    fail(db, "ann", "10.0.0.1", times=LIMITS.per_user)
    assert failed_logins.refusal("ann", "10.0.0.2", LIMITS, path=db, now=NOW + 5) is None
    locked = failed_logins.user_locks(LIMITS, path=db, now=NOW + 5)["ann"]
    assert locked.addresses == ["10.0.0.1"] and not locked.everywhere
    assert locked.as_dict(now=NOW + 5)["minutes"] == 10


def test_guessing_from_many_addresses_locks_the_user_everywhere(db):
    for number in range(EVERYWHERE_FACTOR * LIMITS.per_user):
        fail(db, "ann", f"10.0.1.{number}", at=NOW + number)
    assert "too many failed attempts" in failed_logins.refusal("ann", "10.9.9.9", LIMITS, path=db, now=NOW + 20)
    assert failed_logins.user_locks(LIMITS, path=db, now=NOW + 20)["ann"].everywhere


def test_an_address_failing_on_many_names_is_refused_for_every_name(db):
    for number in range(LIMITS.per_address):
        fail(db, f"name{number}", "10.0.0.7", at=NOW + number)
    message = failed_logins.refusal("someone", "10.0.0.7", LIMITS, path=db, now=NOW + 20)
    assert message == "too many failed logins from your address; try again in 10 minutes."
    assert failed_logins.refusal("someone", "10.0.0.8", LIMITS, path=db, now=NOW + 20) is None
    assert failed_logins.clear_address("10.0.0.7", path=db)
    assert failed_logins.refusal("someone", "10.0.0.7", LIMITS, path=db, now=NOW + 20) is None


def test_success_and_unlock_forget_the_failures(db):
    fail(db, "ann", "10.0.0.1", times=2)
    fail(db, "ann", "10.0.0.2", times=LIMITS.per_user)
    failed_logins.record_success("ann", "10.0.0.1", path=db)
    assert failed_logins.user_locks(LIMITS, path=db, now=NOW + 5)["ann"].addresses == ["10.0.0.2"]
    assert failed_logins.clear_user("ann", path=db)
    assert failed_logins.user_locks(LIMITS, path=db, now=NOW + 5) == {}
    assert not failed_logins.clear_user("ann", path=db)


def test_zero_turns_a_limit_off(db):
    off = Limits(per_user=0, per_address=0, window=600)
    for step in range(50):
        failed_logins.record_failure("ann", "10.0.0.1", off, path=db, now=NOW + step)
    assert failed_logins.refusal("ann", "10.0.0.1", off, path=db, now=NOW + 60) is None


@pytest.mark.parametrize("forwarded, peer, expected", [
    ("", "127.0.0.1", "127.0.0.1"),
    ("::ffff:127.0.0.22", "127.0.0.1", "127.0.0.22"),
    ("6.6.6.6, 203.0.113.9", "127.0.0.1", "203.0.113.9"),  # the client's own entry is not believed
])
def test_the_address_is_the_one_the_proxy_saw(forwarded, peer, expected):
    request = SimpleNamespace(headers={"X-Forwarded-For": forwarded} if forwarded else {}, remote_ip=peer)
    assert failed_logins.client_address(request) == expected
