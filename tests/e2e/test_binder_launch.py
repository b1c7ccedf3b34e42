"""Binder-style launch links on an installed hub, clicked over HTTP.

The links are /v2/gh/owner/NAME/main on the hub's own address; the `gh` provider is
mapped to a git server on this machine (git's smart HTTP on loopback, shared with the
container). tests/harness/launchclient.py makes the launch page's own calls (begin,
follow the build, start) and nbgitpuller's; tests/browser/ clicks the page itself.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness.gitserver import BINDER_FIXTURES, GitHTTPServer, make_repo, publish
from tests.harness.hubcli import hubstead, new_user
from tests.harness.launchclient import LaunchFailed, LaunchSession

pytestmark = pytest.mark.e2e

NOTEBOOK = (BINDER_FIXTURES / "requirements" / "index.ipynb").read_text()
TINY = "pyfiglet==1.0.2\n"
REPOS = {
    "lesson": {"requirements.txt": TINY, "index.ipynb": NOTEBOOK},
    "shared": {"requirements.txt": TINY, "postBuild": "#!/bin/bash\necho shared build\nsleep 5\n"},
    "unbuilt": {"requirements.txt": TINY, "notes.md": "never built by an instructor\n"},
    "named": {"requirements.txt": TINY, "notes.md": "built with hubstead build --name\n"},
    "failing": {"requirements.txt": TINY, "postBuild": "#!/bin/bash\necho failing on purpose\nexit 3\n"},
}


@pytest.fixture(scope="module")
def hub(installed_hub, tmp_path_factory):
    root, work = tmp_path_factory.mktemp("served"), tmp_path_factory.mktemp("work")
    for name, files in REPOS.items():
        make_repo(work / name, files)
        publish(work / name, root, f"owner/{name}")
    with GitHTTPServer(root) as server:
        hubstead(installed_hub, "config", "set", "binder.providers.gh.url", server.url)
        before = env_names(installed_hub)
        yield installed_hub
        for name in ("ines", "paul", "quinn"):
            hubstead(installed_hub, "user", "remove", name, "--purge", "--yes", check=False)
        for name in env_names(installed_hub) - before:
            hubstead(installed_hub, "env", "remove", name, "--yes", check=False)


def env_names(hub):
    return {item["name"] for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)}


@pytest.fixture(scope="module")
def instructor(hub):
    user = new_user(hub, "ines")
    hubstead(hub, "group", "add-user", "instructors", "ines")
    return LaunchSession(user)


@pytest.fixture(scope="module")
def student(hub):
    return LaunchSession(new_user(hub, "paul"))


LESSON = "v2/gh/owner/lesson/main?urlpath=lab/tree/index.ipynb"


@pytest.fixture(scope="module")
def lesson(instructor):
    page = instructor.open(LESSON)
    launched = instructor.launch(page)
    instructor.pull(launched.redirect)
    return page, launched


def test_a_visitor_who_is_not_logged_in_logs_in_and_comes_back_to_the_link(hub):
    password = hubstead(hub, "user", "add", "quinn").stdout.strip()
    from tests.harness.hubclient import HubUser

    visitor = HubUser(hub.url)
    login_page = visitor.http.get(visitor.url(LESSON), timeout=60)
    assert urlsplit(login_page.url).path == "/hub/login", login_page.url
    xsrf = re.search(r'name="_xsrf" value="([^"]*)"', login_page.text).group(1)
    back = visitor.http.post(login_page.url, data={"_xsrf": xsrf, "username": "quinn", "password": password},
                             timeout=60)
    assert back.status_code == 200
    assert urlsplit(back.url).path == "/services/hubstead/v2/gh/owner/lesson/main"
    assert parse_qs(urlsplit(back.url).query) == {"urlpath": ["lab/tree/index.ipynb"]}
    assert 'id="hubstead-launch-status"' in back.text and "owner/lesson" in back.text


def test_a_new_link_builds_with_its_log_and_lands_on_the_notebook(hub, instructor, lesson):
    page, launched = lesson
    assert launched.build["state"] == "succeeded" and launched.build["requested_by"] == "ines"
    assert "running" in launched.states or "queued" in launched.states, "the page saw the build under way"
    assert f"build {launched.build['id']} succeeded" in launched.log
    assert urlsplit(launched.redirect).path == "/user/ines/git-pull"
    landed = instructor.land(launched.redirect)
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/user/ines/lab/tree/lesson/index.ipynb"
    printed = instructor.user.run_code(
        "import os, sys, pyfiglet; print(sys.prefix); print(os.path.isfile(os.path.expanduser('~/lesson/index.ipynb')))")
    prefix, has_notebook = printed.split()
    assert prefix.startswith(f"/opt/hubstead/envs/{launched.build['env']}/") and has_notebook == "True"


def test_a_second_click_builds_nothing_and_keeps_the_users_edit(hub, instructor, lesson):
    page, first = lesson
    instructor.user.run_code("import os; open(os.path.expanduser('~/lesson/index.ipynb'), 'a').write('MY EDIT')")
    builds_before = hubstead(hub, "build", "list", "--json").stdout
    again = instructor.launch(instructor.open(LESSON))
    assert again.build["id"] == first.build["id"] and again.polls == 1, "a cache hit is ready at once"
    assert hubstead(hub, "build", "list", "--json").stdout == builds_before
    instructor.pull(again.redirect)
    kept = instructor.user.run_code("import os; print(open(os.path.expanduser('~/lesson/index.ipynb')).read()[-7:])")
    assert kept.strip() == "MY EDIT"


def test_a_click_that_starts_the_server_pulls_meanwhile_and_lands_on_the_notebook(hub, instructor, lesson):
    """With the server stopped, the content is pulled (nbgitpuller's merge, as the user)
    while the server starts: the click skips nbgitpuller's page, a file of the repository
    the user deleted is back, and the user's edit is kept."""
    instructor.user.run_code("import os; folder = os.path.expanduser('~/lesson'); "
                             "open(folder + '/index.ipynb', 'a').write('EDIT BEFORE STOP'); "
                             "os.remove(folder + '/requirements.txt')")
    instructor.user.stop_server()
    again = instructor.launch(instructor.open(LESSON))
    assert urlsplit(again.redirect).path == "/user/ines/lab/tree/lesson/index.ipynb", again.redirect
    landed = instructor.land(again.redirect)
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/user/ines/lab/tree/lesson/index.ipynb"
    printed = instructor.user.run_code(
        "import os; folder = os.path.expanduser('~/lesson'); restored = folder + '/requirements.txt'; "
        "print(os.path.isfile(restored) and os.stat(restored).st_uid == os.getuid()); "
        "print(open(folder + '/index.ipynb').read().endswith('EDIT BEFORE STOP'))")
    assert printed.split() == ["True", "True"], printed


def test_users_opening_the_same_new_link_share_one_build(hub, instructor, student):
    link = "v2/gh/owner/shared/main"
    pages = [instructor.open(link), student.open(link)]
    first = instructor.begin(pages[0])["build"]
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(student.begin(pages[1])["build"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen[0]["id"] == first["id"], "the student follows the instructor's build"
    followed = student.follow(pages[1], seen[0])
    assert followed.build["state"] == "succeeded" and "shared build" in followed.log


def test_only_instructors_start_builds_but_anyone_launches_a_built_link(hub, student, lesson):
    refused = student.open("v2/gh/owner/unbuilt/main")
    with pytest.raises(LaunchFailed) as error:
        student.begin(refused)
    assert error.value.status == 403 and "ask your instructor" in error.value.message
    assert not [line for line in hubstead(hub, "build", "list").stdout.splitlines() if "owner/unbuilt" in line]
    launched = student.launch(student.open(LESSON))
    student.pull(launched.redirect)
    assert launched.build["id"] == lesson[1].build["id"]
    assert student.land(launched.redirect).status_code == 200
    student.user.stop_server()


def test_a_server_running_something_else_is_offered_a_restart(hub, student, lesson):
    student.user.start_server()
    page = student.open(LESSON)
    with pytest.raises(LaunchFailed) as busy:
        student.launch(page)
    assert busy.value.status == 409 and "running the default environment" in busy.value.message
    assert student.user.server_status().ready, "nothing was stopped without asking"
    restarted = student.launch(page, restart=True)
    options = student.user.server_status().model["user_options"]
    assert options["environment"] == restarted.build["env"] and options["binder"] == str(restarted.build["id"])
    student.user.stop_server()


def test_the_link_a_named_build_prints_launches_that_build(hub, student):
    """An instructor's `hubstead build REPO --name NAME` prints REPO's launch link; a
    student, who may not build, opens it and lands in NAME without a new build."""
    built = hubstead(hub, "build", "gh/owner/named/main", "--name", "workshop-env")
    link = re.search(r"Launch link: \S+?/(v2/\S+)", built.stdout).group(1)
    launched = student.launch(student.open(link))
    assert launched.build["env"] == "workshop-env" and launched.polls == 1, launched.build
    student.pull(launched.redirect)
    assert student.land(launched.redirect).status_code == 200
    assert student.user.server_status().model["user_options"]["environment"] == "workshop-env"
    student.user.stop_server()


@pytest.mark.parametrize("link, status, says", [
    ("v2/gh/owner", 400, "gh links are gh/OWNER/REPO/REF"),
    ("v2/gh/owner/lesson/main?urlpath=../../hub/admin", 400, "leaves the user's server"),
    ("v2/bitbucket/owner/lesson/main", 400, "bitbucket"),
])
def test_a_bad_link_says_what_is_wrong_on_the_page(hub, instructor, link, status, says):
    page = instructor.open(link)
    assert page.status == status and says in page.error


def test_a_missing_repository_or_a_failing_build_is_reported_and_changes_nothing(hub, instructor):
    with pytest.raises(LaunchFailed) as missing:
        instructor.begin(instructor.open("v2/gh/owner/no-such-repo/main"))
    assert missing.value.status == 400 and "not found" in missing.value.message
    envs_before = env_names(hub)
    page = instructor.open("v2/gh/owner/failing/main")
    with pytest.raises(LaunchFailed) as failed:
        instructor.launch(page)
    assert "The build failed" in failed.value.message and "postBuild" in failed.value.message
    assert "failing on purpose" in failed.value.answer["log"], "the log is kept and shown"
    assert env_names(hub) == envs_before
