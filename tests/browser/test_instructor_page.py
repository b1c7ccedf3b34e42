"""The instructors' page (/services/hubstead/) in Debian's Chromium, by clicks: an
instructor prepares a workshop as issue 12 lists it, and a learner is turned away.

The launch link's repository (gh/owner/instr-course, requirements.txt of one small
package) comes from a git server on this machine that the hub's `gh` provider points
at; environments, users and the repository's build are removed when the module ends.
"""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.harness.browser import login, wait_for_jupyterlab
from tests.harness.hubcli import hubstead, new_user, serving_repositories
from tests.harness.hubclient import HubUser

PAGE = "/services/hubstead/"
INSTRUCTOR, PENDING, LEARNER = "instr-teacher", "instr-signup", "instr-learner"
QR_LEARNER = "instr-qr-learner"
ROSTER_USERS = ["instr-ws01", "instr-ws02"]
ENV = "instr-env"
BUILD_TIMEOUT = 600_000  # ms: a small environment's build (uv from PyPI)
REPO = {"instr-course": {"requirements.txt": "pyfiglet==1.0.2\n", "README.md": "instructor page test\n"}}


@pytest.fixture(scope="module")
def hub(installed_hub, tmp_path_factory):
    users = [INSTRUCTOR, PENDING, LEARNER, QR_LEARNER, *ROSTER_USERS]
    with serving_repositories(installed_hub, tmp_path_factory, REPO, users=users):
        yield installed_hub


@pytest.fixture(scope="module")
def instructor(hub):
    """An instructor (not an admin) and its password."""
    password = hubstead(hub, "user", "add", INSTRUCTOR).stdout.strip()
    hubstead(hub, "group", "add-user", "instructors", INSTRUCTOR)
    return password


def user_names(hub):
    return {item["name"] for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}


def open_tab(page, name):
    page.get_by_role("tab", name=name).click()
    page.locator("[role=tabpanel]:visible h2", has_text=name).wait_for()


def row_of(page, table, name):
    return page.locator(f"#{table} tbody tr", has=page.locator("td:first-child", has_text=re.compile(f"^{name}$")))


def test_an_instructor_prepares_a_workshop_and_stops_a_learners_server_by_clicks(
        hub, instructor, chromium, page, tmp_path):
    assert HubUser(hub.url).signup(PENDING, "Signup-Pass-1234").outcome == "pending"

    # The hub's navigation bar leads an instructor to the page.
    login(page, hub.url, INSTRUCTOR, instructor, next_path="/hub/home")
    page.locator("#hubstead-instructor-link").click()
    page.wait_for_url(re.compile(r"/services/hubstead/(#now)?$"))
    page.locator("#now-running").filter(has_text=re.compile(r"^\d+$")).wait_for()

    # People: approve the pending sign-up.
    open_tab(page, "People")
    row_of(page, "people-table", PENDING).get_by_role("button", name=f"Approve {PENDING}").click()
    page.locator("#hs-flash", has_text=f"{PENDING} is approved.").wait_for()
    assert row_of(page, "people-table", PENDING).locator("td").nth(1).inner_text() == "approved"

    # Workshop accounts: a bad row is shown with its line and nothing is created.
    open_tab(page, "Workshop accounts")
    bad = tmp_path / "roster-bad.csv"
    bad.write_text(f"username,email\n{ROSTER_USERS[0]},\nBad Name,\n{ROSTER_USERS[1]},\n")
    page.set_input_files("#roster-file", str(bad))
    page.get_by_role("button", name="Preview").click()
    page.locator("#roster-errors li", has_text=re.compile(r"^line 3: .*bad name", re.IGNORECASE)).wait_for()
    assert page.locator("#roster-create").is_disabled()
    assert not user_names(hub) & set(ROSTER_USERS), "a roster with a bad row creates nobody"

    good = tmp_path / "roster.csv"
    good.write_text("username,email\n" + "".join(f"{name},\n" for name in ROSTER_USERS))
    page.set_input_files("#roster-file", str(good))
    page.get_by_role("button", name="Preview").click()
    page.locator("#roster-summary", has_text="2 accounts to create.").wait_for()
    page.locator("#roster-create").click()
    page.locator("#roster-done").wait_for()
    with page.expect_download() as download:
        page.locator("#roster-sheet-csv").click()
    sheet = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert [row["username"] for row in sheet] == ROSTER_USERS
    printable = page.context.request.get(hub.url + page.locator("#roster-sheet-html").get_attribute("href"))
    assert printable.ok and ROSTER_USERS[0] in printable.text()

    # Environments: build one from a requirements.txt and watch its log.
    open_tab(page, "Environments")
    spec = tmp_path / "requirements.txt"
    spec.write_text("six\n")
    page.fill("#env-name", ENV)
    page.set_input_files("#env-spec", str(spec))
    page.get_by_role("button", name="Build the environment").click()
    page.locator("#env-job-log", has_text=re.compile(r"\S")).wait_for(timeout=BUILD_TIMEOUT)
    page.locator("#env-job-state", has_text=f"{ENV} is built.").wait_for(timeout=BUILD_TIMEOUT)
    page.locator("#envs-table tbody td:first-child strong", has_text=re.compile(f"^{ENV}$")).wait_for()

    # Launch links: the form builds the repository and gives the link, badges, QR code.
    open_tab(page, "Launch links")
    page.fill("#link-repo", "gh/owner/instr-course")
    page.fill("#link-ref", "main")
    page.get_by_role("button", name="Build and make the link").click()
    page.locator("#link-state", has_text="Built: the link opens at once.").wait_for(timeout=BUILD_TIMEOUT)
    link = page.locator("#link-url").input_value()
    assert urlsplit(link).path.startswith("/v2/gh/owner/instr-course/"), link
    assert link in page.locator("#link-markdown").input_value()
    assert page.locator("#link-html").input_value().startswith("<a ")
    page.wait_for_function("() => document.getElementById('link-qr').naturalWidth > 0")

    # A learner from the sheet logs in, is turned away from the page, opens the link.
    learner = chromium.new_page()
    try:
        login(learner, hub.url, sheet[0]["username"], sheet[0]["password"], next_path=PAGE)
        assert learner.locator("h1").inner_text() == "This page is for instructors"
        # The link names the hub's public address; this machine reaches the hub on hub.url.
        learner.goto(hub.url + urlsplit(link)._replace(scheme="", netloc="").geturl())
        wait_for_jupyterlab(learner)
        assert urlsplit(learner.url).path.startswith(f"/user/{sheet[0]['username']}/lab")
    finally:
        learner.context.close()

    # Now: the learner's server is listed within a refresh, and Stop ends it.
    open_tab(page, "Now")
    stop = page.get_by_role("button", name=f"Stop the server of {sheet[0]['username']}")
    stop.wait_for(timeout=20_000)
    stop.click()
    page.locator("#hs-confirm-ok").click()
    page.locator("#hs-flash", has_text=f"The server of {sheet[0]['username']} is stopped.").wait_for(timeout=90_000)
    assert not row_of(page, "now-table", sheet[0]["username"]).count()


def test_a_learner_gets_the_403_page_and_no_instructor_link(hub, page):
    password = hubstead(hub, "user", "add", LEARNER).stdout.strip()
    login(page, hub.url, LEARNER, password, next_path="/hub/home")
    assert page.locator("#hubstead-instructor-link").count() == 0
    answer = page.goto(hub.url + PAGE)
    assert answer.status == 403
    assert page.locator("h1").inner_text() == "This page is for instructors"
    assert "admins and the members of the instructors group" in " ".join(page.locator("main").inner_text().split())


def test_the_qr_code_route_draws_a_link_for_instructors_only(hub, instructor):
    url = f"{hub.url}{PAGE}api/qr"
    link = {"url": f"{hub.url}/v2/gh/owner/instr-course/main?urlpath=lab"}
    teacher = HubUser(hub.url)
    teacher.login(INSTRUCTOR, instructor)
    as_teacher = {"Authorization": f"token {teacher.create_token('instr-qr')}"}
    drawn = requests.get(url, params=link, headers=as_teacher, timeout=30)
    assert drawn.status_code == 200 and drawn.headers["Content-Type"].startswith("image/svg+xml")
    assert drawn.text.startswith("<svg") and "<path" in drawn.text
    refused = requests.get(url, params={"url": "javascript:alert(1)"}, headers=as_teacher, timeout=30)
    assert refused.status_code == 400 and "is not an http(s) link" in refused.json()["error"]

    learner = new_user(hub, QR_LEARNER)
    as_learner = requests.get(url, params=link, headers={"Authorization": f"token {learner.token}"}, timeout=30)
    assert as_learner.status_code == 403 and "instructors" in as_learner.json()["error"]
    assert requests.get(url, params=link, timeout=30).status_code == 403, "anonymous"
