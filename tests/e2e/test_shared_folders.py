"""The course folder and group folders (issue 13), as a learner, an instructor and a
non-member see them from inside their servers (a kernel, JupyterLab's contents API),
and what root does not do in a home it does not own."""

from __future__ import annotations

import json

import pytest
import requests

from tests.harness.hubcli import hubstead, new_user

pytestmark = pytest.mark.e2e

GROUP = "sfgeo"
LEARNER, INSTRUCTOR, OTHER = "sflearner", "sfinstructor", "sfother"
FOLDER = f"/srv/hubstead/groups/{GROUP}"
COURSE = "/srv/hubstead/course"


def run_json(user, code):
    """Run `code` (which prints one JSON document last) in a kernel of `user`'s server."""
    return json.loads(user.run_code(code).strip().splitlines()[-1])


def attempt(user, code):
    """'ok', or the OSError's strerror, of `code` run in a kernel of `user`'s server."""
    return run_json(user, "import json\ntry:\n" + "".join(f"    {line}\n" for line in code.splitlines())
                    + "    print(json.dumps('ok'))\nexcept OSError as error:\n    print(json.dumps(error.strerror))")


def contents(user, path):
    """What JupyterLab's file browser lists at PATH: {name: type}."""
    answer = requests.get(user.server_url(f"api/contents/{path}"), timeout=30,
                          headers={"Authorization": f"token {user.token}"})
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return {item["name"]: item["type"] for item in answer.json()["content"]}


def stat_of(hub, path):
    return hub.container.run(["stat", "-c", "%A %U %G", path]).stdout.strip()


@pytest.fixture(scope="module")
def people(installed_hub):
    hub = installed_hub
    users = {}
    try:
        for name in (LEARNER, INSTRUCTOR, OTHER):
            users[name] = new_user(hub, name)
        hubstead(hub, "group", "add", GROUP)
        hubstead(hub, "group", "add-user", GROUP, LEARNER)
        hubstead(hub, "group", "add-user", "instructors", INSTRUCTOR)
        for user in users.values():
            user.start_server()
        yield users
    finally:
        for user in users.values():
            user.stop_server()
        hubstead(hub, "group", "remove-user", "instructors", INSTRUCTOR, check=False)
        hubstead(hub, "group", "remove", GROUP, "--purge", "--yes", check=False)
        hub.container.run(["rm", "-rf", f"{COURSE}/sf-syllabus.txt"], check=False)
        for name in (LEARNER, INSTRUCTOR, OTHER):
            hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)


def test_group_folder_is_made_with_the_group_for_its_members_only(installed_hub, people):
    assert stat_of(installed_hub, FOLDER) == f"drwxrws--- root hubstead-g-{GROUP}"
    learner = people[LEARNER]
    assert contents(learner, "groups") == {GROUP: "directory"}
    assert attempt(learner, f"open('groups/{GROUP}/notes.txt', 'w').write('field trip\\n')") == "ok"
    # setgid: the file is the group's, and group-writable (the server's umask 0002).
    assert stat_of(installed_hub, f"{FOLDER}/notes.txt") == f"-rw-rw-r-- jupyter-{LEARNER} hubstead-g-{GROUP}"
    assert contents(learner, f"groups/{GROUP}") == {"notes.txt": "file"}
    for name in (INSTRUCTOR, OTHER):
        outsider = people[name]
        home = contents(outsider, "")
        assert GROUP not in (contents(outsider, "groups") if "groups" in home else {})
        assert attempt(outsider, f"import os\nos.listdir({FOLDER!r})") == "Permission denied"
        assert attempt(outsider, f"open('{FOLDER}/notes.txt').read()") == "Permission denied"


def test_course_folder_is_written_by_instructors_and_read_by_everyone(installed_hub, people):
    instructor, learner = people[INSTRUCTOR], people[LEARNER]
    for user in people.values():
        assert contents(user, "")["course"] == "directory"
    assert attempt(instructor, "open('course/sf-syllabus.txt', 'w').write('week 1: rocks\\n')") == "ok"
    assert stat_of(installed_hub, f"{COURSE}/sf-syllabus.txt").endswith(f"jupyter-{INSTRUCTOR} hubstead-course")
    for name in (LEARNER, OTHER):
        assert run_json(people[name], "import json; print(json.dumps(open('course/sf-syllabus.txt').read()))") \
            == "week 1: rocks\n"
        assert contents(people[name], "course")["sf-syllabus.txt"] == "file"
        # The unit's /srv is read-only for learners; the folder's mode would refuse them too.
        assert attempt(people[name], "open('course/mine.txt', 'w').write('x')") in (
            "Read-only file system", "Permission denied")
    assert attempt(learner, "open('course/sf-syllabus.txt', 'a').write('x')") in (
        "Read-only file system", "Permission denied")


def test_root_makes_nothing_through_a_learners_links(installed_hub, people):
    """~/groups swapped for a link to /etc: the server's start makes its links as the
    learner, so nothing appears in /etc and the server still starts."""
    learner = people[LEARNER]
    assert attempt(learner, "import os, shutil\nshutil.rmtree('groups')\nos.symlink('/etc', 'groups')") == "ok"
    learner.stop_server()
    learner.start_server()
    assert not installed_hub.container.path_exists(f"/etc/{GROUP}")
    assert run_json(learner, "import json, os; print(json.dumps(os.readlink('groups')))") == "/etc"
    assert attempt(learner, "import os\nos.unlink('groups')") == "ok"


def test_removed_group_keeps_its_folder_unless_purged(installed_hub, people):
    hub = installed_hub
    hubstead(hub, "group", "add", "sfkept")
    try:
        hub.container.run(["touch", "/srv/hubstead/groups/sfkept/report.txt"])
        out = hubstead(hub, "group", "remove", "sfkept", "--yes").stdout
        assert "kept its folder /srv/hubstead/groups/sfkept" in out
        assert hub.container.path_exists("/srv/hubstead/groups/sfkept/report.txt")
        hubstead(hub, "group", "add", "sfkept")
        out = hubstead(hub, "group", "remove", "sfkept", "--purge", "--yes").stdout
        assert "deleted its folder" in out
        assert not hub.container.path_exists("/srv/hubstead/groups/sfkept")
    finally:
        hubstead(hub, "group", "remove", "sfkept", "--purge", "--yes", check=False)
        hub.container.run(["rm", "-rf", "/srv/hubstead/groups/sfkept"], check=False)
