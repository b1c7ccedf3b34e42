"""Who may use the instructors' page (hubstead.access) and what instructors may not do."""

import pytest

from hubstead import access
from hubstead.users.roster import RosterError, check_roster, parse_roster


def test_admins_and_instructors_may_others_not():
    assert access.may_instruct({"name": "a", "admin": True, "groups": []})
    assert access.may_instruct({"name": "i", "admin": False, "groups": ["instructors"]})
    assert not access.may_instruct({"name": "l", "admin": False, "groups": ["day1"]})
    assert not access.may_instruct(None)
    with pytest.raises(access.NotAllowed, match="Only hub admins and members of the 'instructors' group"):
        access.require_instructor({"name": "l", "groups": []})


def test_an_instructor_may_not_act_on_an_admin_or_grant_admin():
    teacher = {"name": "t", "admin": False, "groups": ["instructors"]}
    with pytest.raises(access.NotAllowed, match="only an admin may lock an admin"):
        access.require_power_over(teacher, {"name": "boss", "admin": True}, "lock")
    with pytest.raises(access.NotAllowed, match="grant or revoke admin"):
        access.require_power_over(teacher, {"name": "l", "admin": False}, "grant admin")
    access.require_power_over(teacher, {"name": "l", "admin": False}, "lock")
    access.require_power_over({"name": "a", "admin": True}, {"name": "boss", "admin": True}, "remove")


def test_roster_problems_come_with_their_line_numbers():
    rows, problems = check_roster("username,email\nok1,a@example.org\nBad Name,x\nok1,\n")
    assert [row.username for row in rows] == ["ok1"]
    assert [line for line, _ in problems] == [3, 4]
    with pytest.raises(RosterError) as raised:
        parse_roster("username\nok2\nBad Name\n")
    assert raised.value.problems[0][0] == 3 and [row.username for row in raised.value.rows] == ["ok2"]
    assert "line 3:" in str(raised.value)
