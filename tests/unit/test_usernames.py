"""One username rule for the hub, the unix side and bootstrap.py."""

import pytest

from hubstead.usernames import MAX_LENGTH, is_valid_username, unix_name, username_problem


@pytest.mark.parametrize("name", ["alice", "bob_smith", "c-3po", "a", "x" * MAX_LENGTH])
def test_valid(name):
    assert username_problem(name) is None
    assert len(unix_name(name)) <= 32, "useradd refuses longer names"


@pytest.mark.parametrize("name, why", [
    ("Bob Smith", "lowercase letters"), ("Alice", "lowercase letters"), ("1st", "starting with a letter"),
    ("bob.smith", "lowercase letters"), ("", "empty"), ("x" * (MAX_LENGTH + 1), "at most 24"),
    ("root", "reserved"), ("hubstead", "reserved"),
])
def test_invalid_with_a_reason(name, why):
    assert why in username_problem(name)
    assert not is_valid_username(name)


def test_unix_name_has_the_prefix():
    assert unix_name("bob") == "jupyter-bob"


def test_hub_applies_the_same_pattern():
    """The hub's Authenticator.username_pattern is this module's PATTERN (no second rule)."""
    from traitlets.config import Config

    from hubstead import hubconfig, usernames

    c = Config()
    hubconfig.configure_auth(c, {"users": {"admin": ["alice"], "banned": ["eve"], "allowed": ["bob"]},
                                 "auth": {"native": {"open_signup": False, "minimum_password_length": 8,
                                                     "allowed_failed_logins": 5, "failed_logins_per_address": 30,
                                                     "seconds_before_next_try": 600}}})
    assert c.Authenticator.username_pattern == usernames.PATTERN
    assert c.Authenticator.admin_users == {"alice"}
    assert c.Authenticator.blocked_users == {"eve"}
    assert c.Authenticator.allowed_users == {"bob"}
