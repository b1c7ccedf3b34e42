"""The instructors' JSON API (/services/hubstead/api/, docs/reference/web-api.md) on an
installed hub: who may call each route, what an instructor gets, bad input refused with
nothing changed. People here are h12-prefixed and removed after the module."""

import csv
import io
import json
import time

import pytest
import requests

from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser

pytestmark = pytest.mark.e2e

API = "services/hubstead/api/"
ADMIN, TEACHER, LEARNER = "h12boss", "h12teach", "h12learn"

# Every route with a harmless request: refused before anything runs for a learner and
# for anyone without a login.
ROUTES = [
    ("GET", "me"), ("GET", "users"), ("POST", "users"), ("POST", "users/approve-all"),
    ("POST", f"users/{LEARNER}/approve"), ("POST", f"users/{LEARNER}/reject"),
    ("POST", f"users/{LEARNER}/reset-password"), ("POST", f"users/{LEARNER}/lock"),
    ("POST", f"users/{LEARNER}/unlock"), ("POST", f"users/{LEARNER}/admin"),
    ("POST", f"users/{LEARNER}/groups/h12group"), ("DELETE", f"users/{LEARNER}/groups/h12group"),
    ("DELETE", f"users/{LEARNER}"), ("GET", "groups"), ("POST", "roster"), ("GET", "sheets"),
    ("GET", "sheets/abc.csv"), ("GET", "sheets/abc.html"), ("GET", "sheets/abc"), ("DELETE", "sheets/abc"),
    ("GET", "servers"), ("GET", "summary"), ("POST", f"servers/{LEARNER}/stop"),
    ("POST", "servers/stop-idle?minutes=1"), ("GET", "environments"), ("POST", "environments"),
    ("GET", "jobs/abc"), ("POST", "environments/python3/default"), ("POST", "environments/python3/rollback"),
    ("DELETE", "environments/python3"), ("GET", "launch-links"), ("POST", "launch-links"),
    ("GET", "usage"), ("GET", "audit"),
]


class Caller:
    """A script calling the API with a hub API token (or with none)."""

    def __init__(self, hub, token=None):
        self.base = hub.url.rstrip("/") + "/" + API
        self.headers = {"Authorization": f"token {token}"} if token else {}

    def __call__(self, method, path, **kwargs):
        return requests.request(method, self.base + path, headers=self.headers, timeout=120,
                                allow_redirects=False, **kwargs)


def login(hub, name, password):
    user = HubUser(hub.url)
    user.login(name, password)
    user.create_token("h12")
    return user


@pytest.fixture(scope="module")
def people(installed_hub):
    """An admin, an instructor (not an admin) and a learner, logged in, with tokens."""
    hub = installed_hub
    passwords = {ADMIN: hubstead(hub, "user", "add", ADMIN, "--admin").stdout.strip(),
                 TEACHER: hubstead(hub, "user", "add", TEACHER).stdout.strip(),
                 LEARNER: hubstead(hub, "user", "add", LEARNER).stdout.strip()}
    hubstead(hub, "group", "add-user", "instructors", TEACHER)
    users = {name: login(hub, name, password) for name, password in passwords.items()}
    yield {"users": users, "passwords": passwords, "admin": Caller(hub, users[ADMIN].token),
           "teacher": Caller(hub, users[TEACHER].token), "learner": Caller(hub, users[LEARNER].token),
           "anonymous": Caller(hub)}
    for name in (ADMIN, TEACHER, LEARNER):
        hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)


@pytest.fixture
def removed_after(installed_hub):
    names = []
    yield names.append
    for name in names:
        hubstead(installed_hub, "user", "remove", name, "--purge", "--yes", check=False)


def accounts(hub):
    return {item["name"]: item for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}


def logs_in(hub, name, password):
    try:
        HubUser(hub.url).login(name, password)
    except Exception:
        return False
    return True


def test_a_learner_and_anonymous_are_refused_on_every_route_and_nothing_changes(installed_hub, people):
    before = accounts(installed_hub)
    for who in ("learner", "anonymous"):
        for method, path in ROUTES:
            answer = people[who](method, path, json={})
            assert answer.status_code == 403, (who, method, path, answer.status_code, answer.text[:200])
            assert answer.json()["error"], (who, method, path)
    assert accounts(installed_hub).keys() == before.keys()
    assert accounts(installed_hub)[LEARNER]["state"] == before[LEARNER]["state"] == "approved"
    message = people["learner"]("GET", "me").json()["error"]
    assert "admins" in message and "instructors" in message


def test_me_says_who_asks(people):
    assert people["teacher"]("GET", "me").json() | {"xsrf": ""} == {
        "name": TEACHER, "admin": False, "instructor": True, "xsrf": ""}
    assert people["admin"]("GET", "me").json()["admin"] is True


def test_a_cookie_post_needs_the_xsrf_token(installed_hub, people):
    teacher = people["users"][TEACHER]
    # Opening the page logs in to the service (the hub's OAuth) and sets the _xsrf cookie.
    assert teacher.http.get(teacher.url("services/hubstead/"), timeout=30).status_code == 200
    page = teacher.http.get(teacher.url(API + "me"), timeout=30)
    assert page.status_code == 200, page.text
    url = teacher.url(API + "users/approve-all")
    refused = teacher.http.post(url, headers={"Sec-Fetch-Mode": "cors"}, timeout=30)
    assert refused.status_code == 403
    xsrf = page.json()["xsrf"]
    allowed = teacher.http.post(url, headers={"Sec-Fetch-Mode": "cors", "X-XSRFToken": xsrf}, timeout=30)
    assert allowed.status_code == 200, allowed.text
    assert "approved" in allowed.json()


def test_users_lists_states_admin_and_instructor(installed_hub, people):
    hub, teacher = installed_hub, people["teacher"]
    assert HubUser(hub.url).signup("h12pending", "Pending-Pass-1234").outcome == "pending"
    try:
        listed = {item["name"]: item for item in teacher("GET", "users").json()}
        assert listed["h12pending"]["state"] == "pending"
        assert listed[ADMIN]["admin"] and not listed[ADMIN]["instructor"]
        assert listed[TEACHER]["instructor"] and "instructors" in listed[TEACHER]["groups"]
        assert listed[LEARNER]["state"] == "approved" and not listed[LEARNER]["admin"]
        assert teacher("GET", "summary").json()["pending_signups"] >= 1
    finally:
        hubstead(hub, "user", "reject", "h12pending", check=False)


def test_approve_reject_and_approve_all(installed_hub, people, removed_after):
    hub, teacher = installed_hub, people["teacher"]
    for name in ("h12app", "h12rej", "h12all"):
        removed_after(name)
        assert HubUser(hub.url).signup(name, f"{name}-Pass-1234").outcome == "pending"
    assert teacher("POST", "users/h12app/approve").json() == {"name": "h12app", "state": "approved"}
    assert logs_in(hub, "h12app", "h12app-Pass-1234")
    assert teacher("POST", "users/h12rej/reject").status_code == 200
    assert "h12rej" not in accounts(hub)
    assert "h12all" in teacher("POST", "users/approve-all").json()["approved"]
    assert logs_in(hub, "h12all", "h12all-Pass-1234")
    again = teacher("POST", "users/h12app/reject")
    assert again.status_code == 400 and "already approved" in again.json()["error"]
    missing = teacher("POST", "users/h12nobody/approve")
    assert missing.status_code == 400 and "h12nobody" in missing.json()["error"]


def test_add_user_shows_the_password_once_and_refuses_bad_names(installed_hub, people, removed_after):
    hub, teacher = installed_hub, people["teacher"]
    removed_after("h12new")
    made = teacher("POST", "users", json={"name": "h12new"})
    assert made.status_code == 201, made.text
    assert logs_in(hub, "h12new", made.json()["password"])
    bad = teacher("POST", "users", json={"name": "Bad Name!"})
    assert bad.status_code == 400 and "Bad Name!" in bad.json()["error"]
    assert "Bad Name!" not in accounts(hub) and "bad name!" not in accounts(hub)
    admin = teacher("POST", "users", json={"name": "h12newadmin", "admin": True})
    assert admin.status_code == 403 and "only an admin" in admin.json()["error"]
    assert "h12newadmin" not in accounts(hub)
    assert teacher("POST", "users", data="not json").status_code == 400


def test_an_instructor_cannot_touch_an_admin(installed_hub, people):
    hub, teacher = installed_hub, people["teacher"]
    for method, path in (("POST", f"users/{ADMIN}/reset-password"), ("POST", f"users/{ADMIN}/lock"),
                         ("DELETE", f"users/{ADMIN}"), ("POST", f"users/{LEARNER}/admin")):
        answer = teacher(method, path, json={"admin": True})
        assert answer.status_code == 403, (path, answer.text)
        assert "only an admin" in answer.json()["error"]
    assert logs_in(hub, ADMIN, people["passwords"][ADMIN])
    listed = accounts(hub)
    assert listed[ADMIN]["state"] == "approved" and not listed[LEARNER]["admin"]


def test_reset_password_lock_unlock_a_learner(installed_hub, people, removed_after):
    hub, teacher = installed_hub, people["teacher"]
    removed_after("h12pw")
    old = hubstead(hub, "user", "add", "h12pw").stdout.strip()
    new = teacher("POST", "users/h12pw/reset-password").json()["password"]
    assert new != old and logs_in(hub, "h12pw", new) and not logs_in(hub, "h12pw", old)
    assert teacher("POST", "users/h12pw/lock", json={"reason": "h12"}).json()["state"] == "locked"
    assert not logs_in(hub, "h12pw", new)
    assert teacher("POST", "users/h12pw/unlock").status_code == 200
    assert logs_in(hub, "h12pw", new)
    assert teacher("POST", "users/h12nobody/lock").status_code == 400


def test_group_membership_and_removal(installed_hub, people, removed_after):
    hub, teacher = installed_hub, people["teacher"]
    removed_after("h12member")
    hubstead(hub, "user", "add", "h12member")
    try:
        joined = teacher("POST", "users/h12member/groups/h12group")
        assert joined.status_code == 200 and "h12group" in joined.json()["groups"]
        assert "h12group" in accounts(hub)["h12member"]["groups"]
        assert teacher("DELETE", "users/h12member/groups/h12group").json()["groups"] == []
        bad = teacher("POST", "users/h12member/groups/Bad%20Group")
        assert bad.status_code == 400 and "group names" in bad.json()["error"]
        removed = teacher("DELETE", "users/h12member?purge=1")
        assert removed.status_code == 200 and removed.json()["name"] == "h12member"
        assert "h12member" not in accounts(hub)
    finally:
        hubstead(hub, "group", "remove", "h12group", "--yes", check=False)


def test_roster_preview_errors_create_and_the_owners_sheet(installed_hub, people, removed_after):
    hub, teacher, admin = installed_hub, people["teacher"], people["admin"]
    bad = "username,email\nh12ws1,a@example.org\nBad Name,b@example.org\n"
    refused = teacher("POST", "roster", files={"roster": ("r.csv", bad)})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["line"] == 3 and "bad name" in refused.json()["errors"][0]["message"]
    assert [row["username"] for row in refused.json()["rows"]] == ["h12ws1"]
    assert "h12ws1" not in accounts(hub)
    good = "username,email\nh12ws1,a@example.org\nh12ws2,b@example.org\n"
    preview = teacher("POST", "roster?dry_run=1", files={"roster": ("r.csv", good)})
    assert [row["username"] for row in preview.json()["rows"]] == ["h12ws1", "h12ws2"]
    assert "h12ws1" not in accounts(hub)
    removed_after("h12ws1"), removed_after("h12ws2")
    made = teacher("POST", "roster", files={"roster": ("r.csv", good)}).json()
    assert made["created"] == ["h12ws1", "h12ws2"]
    path = made["sheet"].split("/api/", 1)[1]
    sheet = list(csv.reader(io.StringIO(teacher("GET", path).text)))
    assert sheet[0] == ["username", "password"] and sheet[1][0] == "h12ws1"
    assert logs_in(hub, "h12ws1", sheet[1][1])
    printable = teacher("GET", made["sheet_html"].split("/api/", 1)[1])
    assert printable.headers["Content-Type"].startswith("text/html") and "h12ws2" in printable.text
    assert admin("GET", path).status_code == 200  # admins may read every sheet
    sheet_id = path.split("/")[1].split(".")[0]
    listed = {item["id"]: item for item in teacher("GET", "sheets").json()}
    assert listed[sheet_id]["count"] == 2 and listed[sheet_id]["owner"] == TEACHER
    assert teacher("DELETE", f"sheets/{sheet_id}").status_code == 200
    assert teacher("GET", path).status_code == 404
    too_big = teacher("POST", "roster", files={"roster": ("r.csv", "username\n" + "x" * (1 << 20))})
    assert too_big.status_code == 413 and "at most 1 MiB" in too_big.json()["error"]
    assert teacher("POST", "roster").status_code == 400


def test_another_instructor_cannot_read_a_sheet(installed_hub, people, removed_after):
    hub, teacher = installed_hub, people["teacher"]
    removed_after("h12other"), removed_after("h12ws9")
    password = hubstead(hub, "user", "add", "h12other").stdout.strip()
    hubstead(hub, "group", "add-user", "instructors", "h12other")
    other = Caller(hub, login(hub, "h12other", password).token)
    made = teacher("POST", "roster", files={"roster": ("r.csv", "username\nh12ws9\n")}).json()
    path = made["sheet"].split("/api/", 1)[1]
    assert other("GET", path).status_code == 404
    assert teacher("GET", path).status_code == 200


def test_servers_show_a_running_server_and_stop_it(installed_hub, people):
    hub, teacher, learner = installed_hub, people["teacher"], people["users"][LEARNER]
    learner.start_server(timeout=180)
    try:
        running = {item["user"]: item for item in teacher("GET", "servers").json()}
        default = json.loads(hubstead(hub, "config", "get", "user_environment.default_env", "--json").stdout)
        assert running[LEARNER]["environment"] == default and running[LEARNER]["started"]
        # Memory and CPU as `hubstead status` (root, the same systemd) sees them: known to both or to neither.
        status = next(item for item in json.loads(hubstead(hub, "status", "--json", check=False).stdout)["servers"]
                      if item["user"] == LEARNER)
        assert (running[LEARNER]["memory_bytes"] is None) == (status["memory_bytes"] is None), (running, status)
        assert (running[LEARNER]["cpu_seconds"] is None) == (status["cpu_seconds"] is None)
        assert teacher("GET", "summary").json()["running_servers"] >= 1
        bad = teacher("POST", "servers/stop-idle?minutes=soon")
        assert bad.status_code == 400 and "minutes" in bad.json()["error"]
        assert LEARNER not in teacher("POST", "servers/stop-idle?minutes=10080").json()["stopped"]
        assert teacher("POST", "servers/h12nobody/stop").status_code == 404
        stopped = teacher("POST", f"servers/{LEARNER}/stop")
        assert stopped.json() == {"user": LEARNER, "stopped": True}
        assert not learner.server_status().exists
    finally:
        if learner.server_status().exists:
            learner.stop_server()


def test_environment_from_an_uploaded_file_with_its_log(installed_hub, people):
    hub, teacher = installed_hub, people["teacher"]
    bad = teacher("POST", "environments", data={"name": "Bad Name"}, files={"spec": ("requirements.txt", "six\n")})
    assert bad.status_code == 400 and "Bad Name" in bad.json()["error"]
    wrong = teacher("POST", "environments", data={"name": "h12env"}, files={"spec": ("notes.doc", "six\n")})
    assert wrong.status_code == 400 and "requirements.txt" in wrong.json()["error"]
    big = teacher("POST", "environments", data={"name": "h12env"},
                  files={"spec": ("requirements.txt", "#" * (2 << 20))})
    assert big.status_code == 413
    assert "h12env" not in [item["name"] for item in teacher("GET", "environments").json()]
    started = teacher("POST", "environments", data={"name": "h12env", "description": "<b>h12</b>"},
                      files={"spec": ("requirements.txt", "pyfiglet\n")})
    assert started.status_code == 202, started.text
    try:
        job, log, offset = started.json()["job"], "", 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            state = teacher("GET", f"jobs/{job}?offset={offset}").json()
            log, offset = log + state["log"], state["next_offset"]
            if state["state"] != "running":
                break
            time.sleep(2)
        assert state["state"] == "succeeded", log
        assert "installing" in log
        listed = {item["name"]: item for item in teacher("GET", "environments").json()}
        assert listed["h12env"]["description"] == "<b>h12</b>" and listed["h12env"]["current"]
        assert teacher("POST", "environments/h12env/rollback").status_code == 400  # only one build
        assert teacher("POST", "environments/h12nope/default").status_code == 400
        default = next(name for name, item in listed.items() if item["default"])
        refused = teacher("DELETE", f"environments/{default}")
        assert refused.status_code == 400 and "default" in refused.json()["error"]
        assert teacher("DELETE", "environments/h12env").json() == {"deleted": "h12env"}
    finally:
        hubstead(hub, "env", "remove", "h12env", "--yes", check=False)


def test_launch_links_usage_and_audit(installed_hub, people):
    hub, teacher = installed_hub, people["teacher"]
    assert isinstance(teacher("GET", "launch-links").json(), list)
    bad = teacher("POST", "launch-links", json={"repo": "nowhere/at/all"})
    assert bad.status_code == 400 and bad.json()["error"]
    assert teacher("POST", "launch-links", json={}).status_code == 400
    assert teacher("GET", "usage?days=0").status_code == 400
    usage = teacher("GET", "usage?days=3").json()
    assert usage["days"] == 3 and len(usage["peaks"]) == 3 and isinstance(usage["rows"], list)
    as_csv = teacher("GET", "usage?days=3&format=csv")
    assert as_csv.text.splitlines()[0] == "date,user,sessions,server_hours"
    try:
        assert teacher("POST", f"users/{LEARNER}/groups/h12audit").status_code == 200
        hubstead(hub, "group", "remove-user", "h12audit", LEARNER)
        entries = teacher("GET", "audit?limit=20").json()
    finally:
        hubstead(hub, "group", "remove", "h12audit", "--yes", check=False)
    assert {"who": "root", "via": "cli", "action": "group.remove-member", "target": LEARNER}.items() \
        <= entries[0].items()
    assert {"who": TEACHER, "via": "web", "action": "group.add-member", "target": LEARNER,
            "detail": "h12audit"}.items() <= entries[1].items()
    assert teacher("GET", "audit?limit=x").status_code == 400
