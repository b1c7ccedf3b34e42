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

    from hubstead import usernames

    from hubstead.hub import hubconfig

    c = Config()
    hubconfig.configure_auth(c, {"users": {"admin": ["alice"], "banned": ["eve"], "allowed": ["bob"]},
                                 "auth": {"native": {"open_signup": False, "minimum_password_length": 8,
                                                     "allowed_failed_logins": 5, "failed_logins_per_address": 30,
                                                     "seconds_before_next_try": 600}}})
    assert c.Authenticator.username_pattern == usernames.PATTERN
    assert c.Authenticator.admin_users == {"alice"}
    assert c.Authenticator.blocked_users == {"eve"}
    assert c.Authenticator.allowed_users == {"bob"}


# ---- names a login server gives: one rule for their unix account ------------------------

@pytest.mark.parametrize("name", [
    "jo.smith@uni.example.edu", "http://cilogon.org/serverA/users/123456", "a" * 64, "Zed", "bob.smith",
])
def test_a_name_that_is_no_unix_name_gets_prefix_cut_name_and_hash(name):
    import hashlib
    import re

    account = unix_name(name)
    assert len(account) <= 32 and re.match(r"^jupyter-[a-z0-9_-]*-[0-9a-f]{5}$", account), account
    assert account.endswith("-" + hashlib.sha256(name.encode()).hexdigest()[:5])
    assert unix_name(name) == account  # the same every time


def test_the_rule_keeps_what_it_can_read():
    assert unix_name("jo.smith@uni.example.edu").startswith("jupyter-jo-smith-uni-examp-")
    assert unix_name("x" * MAX_LENGTH) == "jupyter-" + "x" * MAX_LENGTH  # fits: unchanged
    assert unix_name("x" * (MAX_LENGTH + 1)) != unix_name("x" * (MAX_LENGTH + 2))


def test_names_differing_only_in_what_is_cut_get_different_accounts():
    first, second = "student-" + "a" * 40 + "1", "student-" + "a" * 40 + "2"
    assert unix_name(first)[:26] == unix_name(second)[:26]
    assert unix_name(first) != unix_name(second)


@pytest.mark.parametrize("name, why", [("", "empty"), ("a b", "spaces"), ("x" * 256, "at most 255")])
def test_login_names_refused(name, why):
    from hubstead.usernames import login_name_problem

    assert why in login_name_problem(name)


def test_a_name_whose_account_another_hub_user_holds_is_refused_clearly(monkeypatch):
    import pwd

    from hubstead.users import unix

    account = unix_name("jo.smith@uni.example.edu")
    held = pwd.struct_passwd((account, "x", 1001, 1001, "Hubstead user jo-smith-other", "/home/x", "/bin/bash"))
    monkeypatch.setattr(unix.pwd, "getpwnam", lambda name: held)
    with pytest.raises(unix.UserError) as caught:
        unix.ensure_unix_user("jo.smith@uni.example.edu")
    assert str(caught.value) == (f"'jo.smith@uni.example.edu': its unix account would be {account}, which "
                                 "belongs to 'jo-smith-other'; the two names cannot both have servers here "
                                 "(rename or remove one)")
    mine = pwd.struct_passwd((account, "x", 1001, 1001, "Hubstead user jo.smith@uni.example.edu", "/home/x", "/bin/sh"))
    monkeypatch.setattr(unix.pwd, "getpwnam", lambda name: mine)
    assert unix.ensure_unix_user("jo.smith@uni.example.edu") is mine
