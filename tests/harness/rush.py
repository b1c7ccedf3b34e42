"""A class logging in at once: roster learners who each log in, start a server, open
JupyterLab and run a cell, all at the same moment, as browsers do it.

Shared by benchmarks/workshop.py (timings) and tests/e2e/test_workshop*.py (outcomes).
Traffic goes to the hub's 127.0.0.1 URL only; every loop is bounded in count and time.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

from .hubclient import HubError, HubTimeout, HubUser, KernelError, LoginFailed

CELL = "print(6 * 7)"
CELL_OUTPUT = "42"
MAX_SPAWN_TRIES = 150  # a learner told to wait (429, not starting) tries again at most this often
RELOAD_PAUSE = 3  # seconds a learner waits before reloading a page that says "not starting"


@dataclass
class Outcome:
    """What one learner saw: `failure` is None when the cell printed its result."""

    name: str
    seconds: float | None = None  # login to the cell's result
    failure: str | None = None  # kind: login, http-STATUS, timeout, spawn-error, lab, kernel
    detail: str = ""
    statuses: dict = field(default_factory=dict)  # HTTP status -> count, of the hub's answers
    waited_pages: int = 0  # spawn pages that said "wait" (429)
    messages: list = field(default_factory=list)  # what the spawn-pending page showed
    user: HubUser | None = field(default=None, repr=False)


def import_roster(container, names, sheet="/root/rush-sheet.csv"):
    """`hubstead user import` of `names`; returns {name: password} from the sheet."""
    roster = "/root/rush-roster.csv"
    container.write_file(roster, "username\n" + "".join(f"{name}\n" for name in names))
    container.run(["hubstead", "user", "import", roster, "--sheet", sheet], timeout=600)
    rows = csv.DictReader(io.StringIO(container.read_file(sheet)))
    passwords = {row["username"]: row["password"] for row in rows}
    container.run(["rm", "-f", sheet, sheet.removesuffix(".csv") + ".html"], check=False)
    return {name: passwords[name] for name in names}


def _count(outcome, answer):
    outcome.statuses[answer.status_code] = outcome.statuses.get(answer.status_code, 0) + 1


def _start_as_browser(user, outcome, deadline):
    """GET /hub/spawn as the home page's Start button does (with several environments:
    submit the form's default), then follow the spawn-pending page's progress stream
    until the server is ready.
    A 429 page ("too many users") is obeyed as its Retry-After says, as a browser
    told to wait would. A page that says the server is not starting (as during the
    check a restarted hub makes of a server still starting) is reloaded every
    RELOAD_PAUSE s, as a learner would. Both within MAX_SPAWN_TRIES and the deadline."""
    for _ in range(MAX_SPAWN_TRIES):
        if time.monotonic() >= deadline:
            break
        answer = user._page("GET", "hub/spawn", allow_redirects=False, timeout=max(1, deadline - time.monotonic()))
        _count(outcome, answer)
        if answer.status_code == 429 or "http-equiv=\"refresh\"" in answer.text:
            outcome.waited_pages += 1
            wait = float(answer.headers.get("Retry-After") or 5)
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
            continue
        if answer.status_code >= 400:
            raise HubError("the spawn page answered an error", status=answer.status_code,
                           page=answer.text[:200])
        if answer.status_code == 200 and 'name="environment"' in answer.text:
            _submit_choice(user, outcome, answer.text, deadline)
        if _follow_progress(user, outcome, deadline):
            return
        outcome.waited_pages += 1
        time.sleep(RELOAD_PAUSE)  # the page said "not running" with its Start button: pressed again
    raise HubTimeout(f"still told to wait after {outcome.waited_pages} pages")


def _submit_choice(user, outcome, page, deadline):
    """The hub has several environments, so the spawn page is the options form: submit
    it with the choice it shows checked (the default environment), as a learner who just
    presses Start does: a multipart POST to the form's action (its URL holds the _xsrf)."""
    checked = re.search(r'name="environment" value="([^"]*)" checked', page)
    action = re.search(r'<form[^>]*id="spawn_form"[^>]*action="([^"]*)"', page, re.S)
    if not checked or not action:
        raise HubError("the spawn page's form has no checked environment or no action", page=page[:200])
    answer = user.http.request(
        "POST", urljoin(user.url("hub/spawn"), html.unescape(action.group(1))), allow_redirects=False,
        files={"environment": (None, html.unescape(checked.group(1)))}, verify=user.verify,
        timeout=max(1, deadline - time.monotonic()))
    _count(outcome, answer)
    if answer.status_code >= 400:
        raise HubError("submitting the spawn form answered an error", status=answer.status_code,
                       page=answer.text[:200])


def _follow_progress(user, outcome, deadline):
    """The spawn-pending page's EventSource: /hub/api/users/NAME/server/progress. True once
    the server is ready; False when the hub says it is not starting (400: a start that
    ended before the page asked, as when the hub restarted), where the page offers Start."""
    path = f"users/{user._name()}/server/progress"
    with user.api("GET", path, check=False, stream=True, headers={"Accept": "text/event-stream"},
                  timeout=(10, max(1, deadline - time.monotonic()))) as stream:
        _count(outcome, stream)
        if stream.status_code == 400:
            return False
        if stream.status_code >= 400:
            raise HubError("the progress stream answered an error", status=stream.status_code)
        for line in stream.iter_lines(decode_unicode=True):
            if not line or not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("message"):
                outcome.messages.append(event["message"])
            if event.get("ready"):
                return True
            if event.get("failed"):
                raise SpawnError(event.get("message", "spawn failed"))
            if time.monotonic() > deadline:
                break
    status = user.server_status()  # the stream ends at once when the server is already up
    if not status.ready:
        raise HubTimeout("the progress stream ended before the server was ready", last_state=status)
    return True


class SpawnError(HubError):
    """The hub reported that the server failed to start."""


def run_learner(url, name, password, timeout=300.0, start_barrier=None) -> Outcome:
    """One learner's first minutes; never raises: what went wrong is in the Outcome."""
    outcome = Outcome(name)
    user = outcome.user = HubUser(url, request_timeout=60)
    if start_barrier is not None:
        start_barrier.wait(timeout=60)
    started = time.monotonic()
    deadline = started + timeout
    try:
        user.login(name, password)
        _start_as_browser(user, outcome, deadline)
        problem = user.lab_problem()
        if problem:
            raise HubError(f"JupyterLab's page did not load: {problem}")
        printed = user.run_code(CELL, timeout=max(5, deadline - time.monotonic())).strip()
        if printed != CELL_OUTPUT:
            raise KernelError(f"the cell printed {printed!r}")
        outcome.seconds = time.monotonic() - started
    except Exception as error:  # noqa: BLE001 -- every kind is counted, none may stop the rush
        outcome.failure, outcome.detail = _failure_kind(error), str(error)[:300]
    return outcome


def _failure_kind(error):
    if isinstance(error, LoginFailed):
        return "login"
    if isinstance(error, SpawnError):
        return "spawn-error"
    if isinstance(error, (HubTimeout, requests.Timeout)):
        return "timeout"
    if isinstance(error, KernelError) or "kernel" in str(error):
        return "kernel"
    if getattr(error, "status", None):
        return f"http-{error.status}"
    return type(error).__name__


def rush(url, passwords, timeout=300.0, during=None) -> list[Outcome]:
    """Every learner of `passwords` at the same moment (one thread each, released by one
    barrier). `during()`, if given, runs in this thread while they go (a fault to inject)."""
    barrier = threading.Barrier(len(passwords))
    with ThreadPoolExecutor(max_workers=len(passwords)) as pool:
        futures = [pool.submit(run_learner, url, name, secret, timeout, barrier)
                   for name, secret in passwords.items()]
        if during is not None:
            during()
        return [future.result(timeout=timeout + 120) for future in futures]


def stop_all(outcomes):
    """Stop every learner's server through their own session (bounded, in parallel)."""
    with ThreadPoolExecutor(max_workers=min(20, max(1, len(outcomes)))) as pool:
        list(pool.map(lambda outcome: _quiet_stop(outcome.user), outcomes))


def _quiet_stop(user):
    try:
        user.stop_server(timeout=120)
    except (HubError, requests.RequestException):
        pass


def remove_users(container, names):
    """`hubstead user remove NAME --purge --yes` for each name (servers stopped first)."""
    for name in names:
        container.run(["hubstead", "user", "remove", name, "--purge", "--yes"], check=False, timeout=300)


SERVICE_TOKEN = "/var/lib/hubstead/hubstead-api-token"


def admin(hub):
    """A client with hubstead's own service token (reads every user's servers)."""
    return HubUser(hub.url, token=hub.container.read_file(SERVICE_TOKEN).strip())


def servers(hub, names):
    """{name: server model} of those of `names` whose default server the hub holds."""
    models = {model["name"]: model for model in admin(hub).api("GET", "users").json()}
    return {name: models[name]["servers"][""] for name in names if "" in (models.get(name, {}).get("servers") or {})}


def wait_for(what, condition, timeout=180, state=None):
    """condition()'s first true answer, polled each second; an assertion after timeout s,
    whose message ends with state() when given (what was seen instead)."""
    started = time.monotonic()
    while not (found := condition()):
        if time.monotonic() - started >= timeout:
            seen = f"; seen instead: {state()}" if state else ""
            raise AssertionError(f"{what}: not within {timeout} s{seen}")
        time.sleep(1)
    return found


def class_state(hub, names):
    """One line for a failure message: the class's servers by state, the hub's limits
    and the servers running, so a wait that never ends says why."""
    held = servers(hub, names)
    counts = {}
    for server in held.values():
        key = "ready" if server.get("ready") else (server.get("pending") or "stopped")
        counts[key] = counts.get(key, 0) + 1
    config = hub.container.run(["cat", "/etc/hubstead/config.yaml"], check=False).stdout
    limits = " ".join(line.strip() for line in config.split("limits:", 1)[-1].splitlines()[:8]) \
        if "limits:" in config else "none set"
    running = hub.container.run(["sh", "-c", "systemctl list-units --no-legend --state=active 'jupyter-*' | wc -l"],
                                check=False).stdout.strip()
    return f"class servers {counts or 'none'} of {len(names)}; {running} server units active; limits: {limits[:300]!r}"


def journal_about(container, names, seconds):
    """The hub's and the kernel's lines about these learners' servers over the last
    SECONDS (why a spawn failed: a timeout, a unit that stopped, the OOM killer), at most
    20, then what the first three servers themselves said last: for a failure message."""
    if not names:
        return []
    since = int(time.time() - seconds - 120)  # the container shares the host's clock
    wanted = "|".join(names + ["oom", "Out of memory", "Killed process"])
    shown = container.run(["sh", "-c", f"journalctl --no-pager -q --since=@{since} | grep -E -i '{wanted}' "
                                       "| grep -E -i 'error|fail|timeout|kill|oom|stopped' | tail -n 20"], check=False)
    # What the failed servers themselves said last (the reason their process exited).
    own = []
    for name in names[:3]:
        own += container.run(["journalctl", "--no-pager", "-q", f"--since=@{since}", "-n", "12",
                              "-u", f"jupyter-{name}-singleuser"], check=False).stdout.splitlines()
    return shown.stdout.splitlines() + own
