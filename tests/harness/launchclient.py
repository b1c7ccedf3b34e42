"""A launch link clicked the way the launch page's script does it, over HTTP.

    session = LaunchSession(user)                       # a logged-in HubUser
    page = session.open("/v2/gh/owner/repo/main?urlpath=lab/tree/index.ipynb")
    launched = session.launch(page)                     # begin, follow the build, start
    session.pull(launched.redirect)                     # nbgitpuller, as its page does

Each step answers what the page would show: the JSON of the hubstead service's calls,
or LaunchFailed with the one-line message the page would put in #hubstead-launch-error.
The browser tests drive the real page; these drive the same calls without a browser.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import requests

from .hubclient import HubUser

SERVICE = "services/hubstead/"


class LaunchFailed(Exception):
    def __init__(self, message: str, status: int, answer: dict | None = None):
        super().__init__(f"{message} (HTTP {status})")
        self.message, self.status, self.answer = message, status, answer or {}


@dataclass
class LaunchPage:
    url: str  # where the link ended up after the redirects
    status: int
    data: dict  # the page's data-* attributes (path, query, xsrf, api)
    error: str  # the text of #hubstead-launch-error, "" when hidden
    text: str


@dataclass
class Launched:
    build: dict
    log: str
    redirect: str
    polls: int = 0
    states: list = field(default_factory=list)


def page_attributes(text: str) -> tuple[dict, str]:
    section = re.search(r'<section id="hubstead-launch"([^>]*)>', text)
    data = {key: html.unescape(value)
            for key, value in re.findall(r'data-([a-z]+)="([^"]*)"', section.group(1))} if section else {}
    shown = re.search(r'<p id="hubstead-launch-error" role="alert"\s*>(.*?)</p>', text, re.S)
    return data, html.unescape(shown.group(1)).strip() if shown else ""


class LaunchSession:
    def __init__(self, user: HubUser, timeout: float = 900):
        self.user = user
        self.timeout = timeout

    def open(self, link: str) -> LaunchPage:
        """GET the link as a browser navigates to it, redirects followed."""
        answer = self.user.http.get(self.user.url(link), timeout=60)
        data, error = page_attributes(answer.text)
        return LaunchPage(url=answer.url, status=answer.status_code, data=data, error=error, text=answer.text)

    def call(self, page: LaunchPage, method: str, path: str, body: dict | None = None) -> dict:
        """One of the page's fetch() calls; LaunchFailed with the service's message."""
        headers = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin",
                   "X-XSRFToken": page.data.get("xsrf", ""), "Accept": "application/json"}
        answer = self.user.http.request(method, self.user.url(page.data["api"] + path), json=body,
                                        headers=headers, timeout=300, allow_redirects=False)
        try:
            data = answer.json()
        except ValueError:
            data = {"message": answer.text[:300]}
        if answer.status_code >= 400:
            raise LaunchFailed(data.get("message", ""), answer.status_code, data)
        return data

    def begin(self, page: LaunchPage) -> dict:
        return self.call(page, "POST", "launch", {"path": page.data["path"], "query": page.data["query"]})

    def follow(self, page: LaunchPage, build: dict, poll: float = 1.0) -> Launched:
        """Poll the build's progress until it ends, collecting its log."""
        log, offset, polls, states = "", 0, 0, []
        deadline = time.monotonic() + self.timeout
        while True:
            progress = self.call(page, "GET", f"builds/{build['id']}?offset={offset}")
            log, offset, build = log + progress["log"], progress["next_offset"], progress["build"]
            polls += 1
            states.append(build["state"])
            if build["state"] in ("succeeded", "failed", "cancelled"):
                return Launched(build=build, log=log, redirect="", polls=polls, states=states)
            if time.monotonic() > deadline:
                raise TimeoutError(f"build {build['id']} still {build['state']} after {self.timeout} s")
            time.sleep(poll)

    def start(self, page: LaunchPage, build: dict, restart: bool = False) -> str:
        body = {"path": page.data["path"], "query": page.data["query"], "restart": restart}
        return self.call(page, "POST", f"builds/{build['id']}/start", body)["redirect"]

    def launch(self, page: LaunchPage, restart: bool = False) -> Launched:
        """What the page's script does: begin, follow the build if one runs, start."""
        begun = self.begin(page)["build"]
        launched = self.follow(page, begun)
        if launched.build["state"] != "succeeded":
            raise LaunchFailed(f"The build {launched.build['state']}: {launched.build['message']}", 200,
                               {"log": launched.log})
        launched.redirect = self.start(page, launched.build, restart=restart)
        return launched

    def pull(self, redirect: str, timeout: float = 300) -> list[dict]:
        """Run nbgitpuller's sync as its page does (its event stream at git-pull/api);
        returns the events. Raises LaunchFailed if the pull reports an error. A redirect
        straight to the landing path (the content was pulled while the server started)
        has nothing to pull: no events."""
        if not is_pull_page(redirect):
            return []
        # The pull's own page first: it logs the browser in to the server (OAuth).
        page = self.user.http.get(self.user.url(redirect), timeout=60)
        if page.status_code != 200:
            raise LaunchFailed(f"git-pull's page answered {page.status_code}", page.status_code)
        parts = urlsplit(redirect)
        query = dict(parse_qsl(parts.query))
        query.pop("urlpath", None)
        api = self.user.url(parts.path.rstrip("/") + "/api")
        events = []
        with self.user.http.get(api, params=query, stream=True, timeout=timeout,
                                headers={"Sec-Fetch-Mode": "cors", "Accept": "text/event-stream",
                                         **self._server_xsrf(parts.path)}) as answer:
            if answer.status_code != 200:
                raise LaunchFailed(f"git-pull answered {answer.status_code}", answer.status_code)
            for line in answer.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    events.append(json.loads(line[len("data: "):]))
                    if events[-1].get("phase") in ("finished", "error"):
                        break
        if not events or events[-1].get("phase") != "finished":
            raise LaunchFailed(f"the pull did not finish: {events[-1:]}", 200)
        return events

    def _server_xsrf(self, path: str) -> dict:
        cookies = [c for c in self.user.http.cookies if c.name == "_xsrf" and path.startswith(c.path)]
        return {"X-XSRFToken": max(cookies, key=lambda c: len(c.path)).value} if cookies else {}

    def land(self, redirect: str) -> requests.Response:
        """The landing page the pull's page goes to afterwards (urlpath in the server)."""
        if not is_pull_page(redirect):
            return self.user.http.get(self.user.url(redirect), timeout=60)
        query = dict(parse_qsl(urlsplit(redirect).query))
        server = redirect.split("/git-pull", 1)[0]
        return self.user.http.get(self.user.url(f"{server}/{query.get('urlpath', '')}"), timeout=60)


def is_pull_page(redirect: str) -> bool:
    """Whether a start's redirect goes through nbgitpuller's page (/user/NAME/git-pull)."""
    return urlsplit(redirect).path.rstrip("/").endswith("/git-pull")
