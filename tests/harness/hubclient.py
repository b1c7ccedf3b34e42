"""Drive a JupyterHub (5.5.x + NativeAuthenticator 1.3.0) from outside, over HTTP.

One `HubUser` is one person with one browser: it keeps cookies like a browser does,
fills in the same forms, and uses the same REST and websocket endpoints that
JupyterLab and user scripts use. Tests and benchmark scripts share it, so it imports
nothing from pytest and raises plain exceptions that carry what the user would see.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote, urljoin, urlsplit

import requests
import websocket  # websocket-client

POLL_INTERVAL = 0.2  # seconds; short, because benchmarks report request-to-ready times


class HubError(Exception):
    """Base class. `message` is what the hub said or showed; extra keyword details
    (status, url, last_state, ...) become attributes and are part of str(error)."""

    def __init__(self, message: str, **details):
        shown = "".join(f"\n  {name}: {value}" for name, value in details.items())
        super().__init__(message + shown)
        self.message = message
        self.__dict__.update(details)


class LoginFailed(HubError):
    """The login form was refused (details: status); message = the page's error text."""


class HubAPIError(HubError):
    """A REST call answered >= 400 (details: method, url, status)."""


class SpawnFailed(HubError):
    """The hub gave up starting the server (details: last_state); message = its reason."""


class HubTimeout(HubError):
    """A deadline passed (details: last_state, the last thing seen before giving up)."""


class KernelError(HubError):
    """Code run in a kernel raised (details: ename, evalue, traceback without colours)."""


@dataclass
class SignupResult:
    """What the sign-up page said. `outcome` is 'created' (may log in now), 'pending'
    (an admin must authorize first) or 'refused' (no account: name taken, passwords
    differ, bad name); `message` is the alert text the person sees."""

    outcome: str
    message: str
    status_code: int


@dataclass
class ServerStatus:
    """The default server as the hub's REST API describes it."""

    exists: bool  # the hub holds a server (starting, running or stopping)
    ready: bool  # the hub routes requests to it
    pending: str | None  # 'spawn', 'stop' or None
    url: str | None  # e.g. '/user/bob/'
    model: dict = field(default_factory=dict, repr=False)  # the raw server model


@dataclass
class ExecutionResult:
    """What one execute_request produced, by output kind."""

    stdout: str = ""
    stderr: str = ""
    result: str = ""  # text/plain of execute_result, like the Out[n] a notebook shows


# NativeAuthenticator shows the outcome as a bootstrap alert class (handlers.py,
# SignUpHandler.get_result_message): success = account usable, info = waiting for an
# admin (or for the self-approval e-mail), danger = nothing was created.
_ALERT_OUTCOMES = {"alert-success": "created", "alert-info": "pending", "alert-danger": "refused"}
_ANSI_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def visible_text(fragment: str) -> str:
    """The text a person sees in an HTML fragment: tags dropped, whitespace collapsed."""
    without_scripts = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", fragment)
    return " ".join(html.unescape(re.sub(r"(?s)<[^>]+>", " ", without_scripts)).split())


def _hub_message(answer: requests.Response) -> str:
    """The hub's JSON error `message`, or the visible text of an HTML answer."""
    try:
        body = answer.json()
    except ValueError:
        return visible_text(answer.text)[:300]
    return str(body.get("message", body)) if isinstance(body, dict) else answer.text[:300]


class HubUser:
    """One user's browser-like session with the hub at `base_url` (the public URL)."""

    def __init__(self, base_url: str, username: str | None = None, *, token: str | None = None,
                 verify: bool | str = True, request_timeout: float = 30):
        self.base_url = base_url.rstrip("/") + "/"
        self.username = username
        self.token = token  # set by create_token(); used for the user's own server
        self.verify = verify  # False or a CA file for a hub behind `tls internal`
        self.request_timeout = request_timeout
        self.http = requests.Session()  # its cookie jar is this user's browser cookies
        self.http.verify = verify
        # Fetch-metadata headers as a browser sends them: page loads are navigations
        # and api() calls are same-origin fetches, so the hub checks the XSRF token on
        # every cookie-authenticated API call, reads included, as it does for JupyterLab.
        self.http.headers.update({"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin"})

    def __repr__(self) -> str:
        return f"HubUser({self.base_url!r}, {self.username!r})"

    # ---- plumbing -------------------------------------------------------------------

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def _page(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.request_timeout)
        # Per request: requests lets REQUESTS_CA_BUNDLE override a session's own verify.
        kwargs.setdefault("verify", self.verify)
        return self.http.request(method, self.url(path), **kwargs)

    def _fetch_headers(self, path: str) -> dict:
        """Headers of a same-origin fetch() from a hub page, XSRF token included. The
        token is the `_xsrf` cookie a browser would send to `path`: the most specific,
        since the hub (/hub/) and each single-user server (/user/NAME/) set their own."""
        request_path = urlsplit(self.url(path)).path
        cookies = [c for c in self.http.cookies
                   if c.name == "_xsrf" and request_path.startswith(c.path)]
        xsrf = max(cookies, key=lambda c: len(c.path)).value if cookies else ""
        return {"Sec-Fetch-Mode": "cors", "X-XSRFToken": xsrf}

    def _form_xsrf(self, path: str) -> str:
        """GET a form page: the hub sets the `_xsrf` cookie and puts the same value in
        the form's hidden field, which the POST must echo."""
        page = self._page("GET", path)
        in_form = re.search(r'name="_xsrf" value="([^"]*)"', page.text)
        if page.status_code != 200 or not in_form:
            raise HubError(f"GET {path} gave no form", status=page.status_code,
                           page=visible_text(page.text)[:300])
        return html.unescape(in_form.group(1))

    def _name(self) -> str:
        if not self.username:
            raise HubError("this HubUser has no username yet: sign up or log in first")
        return quote(self.username, safe="")

    # ---- sign-up, login, admin approval (NativeAuthenticator pages) -------------------

    def signup(self, username: str, password: str, *, email: str | None = None,
               password_confirmation: str | None = None) -> SignupResult:
        """Fill in /hub/signup (NativeAuthenticator 1.3.0's signup.html field names).
        `email` only matters when the hub asks for it."""
        self.username = username
        confirmation = password if password_confirmation is None else password_confirmation
        form = {"_xsrf": self._form_xsrf("hub/signup"), "username": username, "email": email,
                "signup_password": password, "signup_password_confirmation": confirmation}
        page = self._page("POST", "hub/signup", data=form)  # requests drops None fields
        alert = re.search(r'(?s)<div class="alert (alert-\w+)"[^>]*>(.*?)</div>', page.text)
        if page.status_code != 200 or not alert:
            return SignupResult("refused", visible_text(page.text)[:500], page.status_code)
        return SignupResult(_ALERT_OUTCOMES.get(alert.group(1), "refused"),
                            visible_text(alert.group(2)), page.status_code)

    def login(self, username: str, password: str, *, otp: str | None = None) -> str:
        """POST the login form; returns where the hub redirects to. The redirect is not
        followed: it goes to /hub/spawn, whose GET would start the server and spoil
        start-time measurements. Raises LoginFailed with the page's error text."""
        self.username = username
        form = {"_xsrf": self._form_xsrf("hub/login"), "username": username,
                "password": password, "2fa": otp}
        answer = self._page("POST", "hub/login", data=form, allow_redirects=False)
        if answer.status_code in (301, 302, 303) and self._has_hub_cookies():
            return answer.headers.get("Location", "")
        shown = re.search(r'(?s)class="login_error"[^>]*>(.*?)</', answer.text)
        raise LoginFailed(visible_text(shown.group(1) if shown else answer.text)[:300],
                          status=answer.status_code)

    def _has_hub_cookies(self) -> bool:
        names = {c.name for c in self.http.cookies}
        return {"jupyterhub-hub-login", "jupyterhub-session-id"} <= names

    def is_logged_in(self) -> bool:
        """Whether the hub recognises this browser's cookies as `username`."""
        if not self._has_hub_cookies():
            return False
        answer = self.api("GET", "user", check=False)
        return answer.status_code == 200 and answer.json().get("name") == self.username

    def logout(self) -> None:
        self._page("GET", "hub/logout")

    def authorization_table(self) -> dict[str, bool]:
        """/hub/authorize as an admin sees it: {username: is_authorized}."""
        page = self._page("GET", "hub/authorize", allow_redirects=False)
        if page.status_code != 200:
            raise HubError("/hub/authorize needs an admin's logged-in session",
                           status=page.status_code, page=visible_text(page.text)[:300])
        body = page.text.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
        table = {}
        for row in re.findall(r"(?s)<tr\b.*?</tr>", body):
            first_cell = re.search(r"(?s)<td>(.*?)</td>", row)
            if first_cell:  # approved rows offer "Unauthorize", pending ones "Authorize"
                table[html.unescape(first_cell.group(1).strip())] = ">Unauthorize</a>" in row
        return table

    def pending_users(self) -> list[str]:
        """Users who signed up and wait for an admin's approval."""
        return sorted(name for name, ok in self.authorization_table().items() if not ok)

    def authorize(self, username: str) -> bool:
        """Approve `username` as this (admin) user. Idempotent: GET /hub/authorize/NAME
        TOGGLES approval, so it is only visited while the user is still pending.
        Returns True if this call approved the user, False if already approved."""
        return self._set_authorized(username, True)

    def unauthorize(self, username: str) -> bool:
        """Withdraw approval (same toggle page). Returns True if this call changed it."""
        return self._set_authorized(username, False)

    def _set_authorized(self, username: str, wanted: bool) -> bool:
        before = self.authorization_table()
        if username not in before:
            raise HubError(f"{username!r} has not signed up", listed=sorted(before))
        if before[username] == wanted:
            return False
        # an API token gets 403 here: the page needs the admin's browser cookies
        toggled = self._page("GET", "hub/authorize/" + quote(username, safe=""),
                             allow_redirects=False)
        if self.authorization_table().get(username) != wanted:
            raise HubError(f"toggling {username!r} did not make authorized={wanted}",
                           status=toggled.status_code)
        return True

    # ---- REST API ---------------------------------------------------------------------

    def api(self, method: str, path: str, *, token: str | None = None, check: bool = True,
            **kwargs) -> requests.Response:
        """Call /hub/api/<path>. Logged in and without `token`, it goes as the browser
        does: cookies plus the X-XSRFToken header that JupyterHub 4+ demands of
        cookie-authenticated calls. With `token` (or, not logged in, with self.token) it
        goes as a script does: `Authorization: token ...`, no cookies.
        Raises HubAPIError on HTTP >= 400 unless check=False."""
        path = "hub/api/" + path.lstrip("/").removeprefix("hub/api/")
        token = token or (None if self._has_hub_cookies() else self.token)
        kwargs.setdefault("timeout", self.request_timeout)
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"token {token}"
            answer = requests.request(method, self.url(path), headers=headers,
                                      verify=self.verify, **kwargs)
        else:
            headers.update(self._fetch_headers(path))
            answer = self._page(method, path, headers=headers, **kwargs)
        if check and answer.status_code >= 400:
            raise HubAPIError(_hub_message(answer), method=method, url=answer.url,
                              status=answer.status_code)
        return answer

    def user_model(self) -> dict:
        return self.api("GET", f"users/{self._name()}").json()

    def create_token(self, note: str = "hubclient", *, expires_in: int | None = None,
                     scopes: list[str] | None = None) -> str:
        """New API token for this user, made from the logged-in session. Kept in
        `self.token` (run_code uses it) and returned."""
        body = {"note": note, "expires_in": expires_in, "scopes": scopes}
        body = {key: value for key, value in body.items() if value is not None}
        self.token = self.api("POST", f"users/{self._name()}/tokens", json=body).json()["token"]
        return self.token

    # ---- the user's server ------------------------------------------------------------

    def server_status(self) -> ServerStatus:
        server = self.user_model().get("servers", {}).get("")
        if not server:
            return ServerStatus(False, False, None, None, {})
        return ServerStatus(True, bool(server.get("ready")), server.get("pending"),
                            server.get("url"), server)

    def start_server(self, options: dict | None = None, timeout: float = 120) -> float:
        """Ask for the default server (JSON body = user options) and wait until the hub
        says it is ready. Returns seconds from the request to ready. Raises SpawnFailed
        with the hub's reason as soon as the hub gives up, HubTimeout at the deadline,
        HubAPIError on a 4xx (already running, bad options)."""
        started = time.monotonic()
        answer = self.api("POST", f"users/{self._name()}/server", json=options or {},
                          check=False, timeout=max(timeout, self.request_timeout))
        if 400 <= answer.status_code < 500:
            raise HubAPIError(_hub_message(answer), method="POST", url=answer.url,
                              status=answer.status_code)
        # A 500 is not the end: JupyterHub 5.5 answers 500 (InvalidStateError) when the
        # server process dies while the hub still waits for it, and the spawn stays
        # pending until http_timeout. So the hub's state, not the POST, decides.
        post_said = f"POST answered {answer.status_code}: {_hub_message(answer)}"
        while True:
            status = self.server_status()
            if status.ready:
                return time.monotonic() - started
            if status.pending is None:  # neither starting nor ready: the hub gave up
                raise SpawnFailed(self._spawn_failure_message() or post_said, last_state=status)
            self._sleep_or_timeout(started, timeout, f"starting {self.username}'s server", status)

    def stop_server(self, timeout: float = 60) -> float:
        """Stop the default server and wait until the hub no longer holds it. Returns
        the seconds it took; 0.0 if nothing was running (so teardown can always call it)."""
        if not self.server_status().exists:
            return 0.0
        started = time.monotonic()
        self.api("DELETE", f"users/{self._name()}/server",
                 timeout=max(timeout, self.request_timeout))
        while True:
            status = self.server_status()
            if not status.exists:
                return time.monotonic() - started
            self._sleep_or_timeout(started, timeout, f"stopping {self.username}'s server", status)

    @staticmethod
    def _sleep_or_timeout(started: float, timeout: float, what: str, last_state) -> None:
        if time.monotonic() - started > timeout:
            raise HubTimeout(f"{what}: not done after {timeout:.0f} s", last_state=last_state)
        time.sleep(POLL_INTERVAL)

    def _spawn_failure_message(self) -> str:
        """The reason in the progress API's failure event. Once the hub has given up,
        GET .../server/progress answers one `data: {"failed": true, ...}` event and
        ends, so a plain GET with a timeout reads it (while pending it would stream)."""
        try:
            stream = self.api("GET", f"users/{self._name()}/server/progress", check=False,
                              headers={"Accept": "text/event-stream"}, timeout=10)
        except requests.RequestException as error:
            return f"(progress API unreadable: {error})"
        events = [json.loads(line[5:]) for line in stream.text.splitlines()
                  if line.startswith("data:")]
        return next((e["message"] for e in reversed(events) if e.get("failed")), "")

    # ---- inside the server: JupyterLab and kernels ------------------------------------

    def server_url(self, path: str = "") -> str:
        return self.url(f"user/{self._name()}/{path.lstrip('/')}")

    def lab_answers(self) -> bool:
        """Whether GET /user/NAME/lab ends in 200 with JupyterLab's page."""
        return self.lab_problem() is None

    def lab_problem(self) -> str | None:
        """None when GET /user/NAME/lab ends in 200 with JupyterLab's page, else what it
        ended in. Goes as the browser does: the hub cookie buys the server's own cookie
        through the OAuth redirects (hub authorize -> /user/NAME/oauth_callback)."""
        page = self.http.get(self.server_url("lab"), timeout=self.request_timeout,
                             verify=self.verify)
        if page.status_code == 200 and "JupyterLab" in page.text and "/lab" in page.url:
            return None
        hops = " -> ".join(f"{hop.status_code}" for hop in page.history)
        return f"{hops + ' -> ' if hops else ''}{page.status_code} at {page.url}: {visible_text(page.text)[:160]}"

    def run_code(self, code: str, timeout: float = 60, kernel: str | None = None) -> str:
        """Run `code` in a fresh kernel (the server's default, or the kernelspec named
        `kernel`) on the user's server; return what it printed to stdout plus the
        displayed result. Raises KernelError on an exception."""
        result = self.execute(code, timeout, kernel=kernel)
        return result.stdout + result.result

    def execute(self, code: str, timeout: float = 60, kernel: str | None = None) -> ExecutionResult:
        """Start a kernel (token auth; a token is created if this user has none), send one
        execute_request over its websocket (Jupyter messaging protocol 5.3), collect the
        outputs until the kernel goes idle, shut the kernel down."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"token {self.token or self.create_token('hubclient')}"}
        answer = requests.post(self.server_url("api/kernels"), json={"name": kernel} if kernel else {}, headers=headers,
                               verify=self.verify, timeout=self.request_timeout)
        if answer.status_code != 201:
            raise HubError("starting a kernel failed", status=answer.status_code,
                           answer=answer.text[:300])
        kernel_url = self.server_url(f"api/kernels/{answer.json()['id']}")
        session = uuid.uuid4().hex  # JupyterLab names its session in the URL too
        sslopt = {} if self.verify is True else (
            {"cert_reqs": 0} if self.verify is False else {"ca_certs": self.verify})
        try:
            channels = websocket.create_connection(
                re.sub(r"^http", "ws", kernel_url) + f"/channels?session_id={session}",
                header=[f"{k}: {v}" for k, v in headers.items()],
                timeout=max(1.0, deadline - time.monotonic()), sslopt=sslopt)
            try:
                return _run_in_kernel(channels, session, code, deadline, timeout)
            finally:
                channels.close()
        finally:
            requests.delete(kernel_url, headers=headers, verify=self.verify,
                            timeout=self.request_timeout)


def receive_text(channel: websocket.WebSocket, deadline: float) -> str | None:
    """The next text frame of `channel`, or None once `deadline` (time.monotonic()) passes.

    websocket-client's recv() answers the server's pings itself and waits on with the
    socket's timeout afresh after each: a server pinging every 30 s (jupyter-server's
    websocket_ping_interval) kept recv() waiting for ever on a kernel that had died and
    would never reply. Control frames come back here, so the deadline holds."""
    while (remaining := deadline - time.monotonic()) > 0:
        channel.settimeout(remaining)
        try:
            opcode, data = channel.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise websocket.WebSocketConnectionClosedException("the server closed the websocket")
        if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            return data.decode("utf-8") if isinstance(data, bytes) else data
    return None


def _run_in_kernel(channels: websocket.WebSocket, session: str, code: str, deadline: float,
                   timeout: float) -> ExecutionResult:
    """One execute_request on an open kernel websocket (JSON frames, the protocol a
    server speaks when no binary subprotocol is asked for)."""

    def send(msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": session,
                  "username": "hubclient", "version": "5.3",
                  "date": datetime.now(timezone.utc).isoformat()}
        channels.send(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                  "content": content, "buffers": [], "channel": "shell"}))
        return msg_id

    def receive_until(done, last_state=None) -> None:
        last_seen = None
        while (text := receive_text(channels, deadline)) is not None:
            message = json.loads(text)
            last_seen = {"msg_type": message["header"]["msg_type"], "content": message["content"]}
            if done(message):
                return
        raise HubTimeout(f"waiting for the kernel: not done after {timeout:.0f} s",
                         last_state=last_state or last_seen)

    # kernel_info first, as JupyterLab does: its reply proves the kernel listens, so
    # the execute_request is not sent into a kernel that is still starting
    send("kernel_info_request", {})
    receive_until(lambda message: message["header"]["msg_type"] == "kernel_info_reply")
    request_id = send("execute_request", {
        "code": code, "silent": False, "store_history": False, "user_expressions": {},
        "allow_stdin": False, "stop_on_error": True})
    outputs, errors = ExecutionResult(), []

    def collect(message: dict) -> bool:
        if message.get("parent_header", {}).get("msg_id") != request_id:
            return False
        kind, content = message["header"]["msg_type"], message["content"]
        if kind == "stream":  # name is 'stdout' or 'stderr'
            setattr(outputs, content["name"], getattr(outputs, content["name"]) + content["text"])
        elif kind == "execute_result":
            outputs.result += content.get("data", {}).get("text/plain", "")
        elif kind == "error":
            errors.append(KernelError(
                f"{content['ename']}: {content['evalue']}", ename=content["ename"],
                evalue=content["evalue"],
                traceback=_ANSI_ESCAPES.sub("", "\n".join(content["traceback"]))))
        # iopub's idle for this request comes after all of its outputs
        return kind == "status" and content["execution_state"] == "idle"

    receive_until(collect, last_state=outputs)
    if errors:
        raise errors[0]
    return outputs
