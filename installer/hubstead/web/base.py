"""What every handler of the web service shares."""

from __future__ import annotations

import json

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web
from tornado.ioloop import IOLoop

from .. import access, audit
from ..errors import HubsteadError
from ..hubapi import HubAPIError, HubUnavailable


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """A handler for logged-in hub users; the hub's own login page does the login."""

    @property
    def hub_auth(self):
        return self.settings["hub_auth"]

    @property
    def hub(self):
        """hubstead's REST API session with the hub (the service's own token)."""
        return self.settings["hubstead_hub"]

    @property
    def username(self):
        return self.current_user["name"]

    async def blocking(self, function, *args, **kwargs):
        """Run a core call (SQLite, git, the hub's API) without stalling other requests."""
        return await IOLoop.current().run_in_executor(None, lambda: function(*args, **kwargs))

    async def user_model(self):
        """The user as the hub knows them now (admin, groups, servers)."""
        return await self.blocking(self.hub.user, self.username) or dict(self.current_user)

    def render_page(self, template, **values):
        self.render(template, base_url=self.settings["base_url"], hub_url=self.settings["hub_prefix"],
                    xsrf=self.xsrf_token.decode() if isinstance(self.xsrf_token, bytes) else self.xsrf_token,
                    username=self.username, **values)


class APIHandler(BaseHandler):
    """JSON in, JSON out; expected failures answer {"error": one line} (also under
    "message", which the launch page reads) with a status."""

    def check_referer(self):
        return True

    def get_login_url(self):
        # An API call without a login answers 403, not a redirect to the login page.
        raise web.HTTPError(403, "log in to the hub first")

    def body_json(self):
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body

    def answer(self, data, status=200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))

    def fail(self, status, message, **extra):
        self.answer({"error": message, "message": message, **extra}, status=status)

    async def respond(self, function, *args, status=200, **kwargs):
        """Answer what function returns (run off the event loop) as JSON; its expected
        failures answer {"message": one line} with a fitting status."""
        try:
            data = await self.blocking(function, *args, **kwargs)
        except HubUnavailable as error:
            self.fail(503, str(error))
        except HubAPIError as error:
            self.fail(502 if error.status >= 500 else error.status, f"the hub says: {error}")
        except HubsteadError as error:  # a user's, a config's, a build's... failure: one line
            self.fail(getattr(error, "status", 400), str(error), **_extra(error))
        else:
            self.answer(data, status=status)

    def write_error(self, status_code, **kwargs):
        error = kwargs.get("exc_info", (None, None))[1]
        message = getattr(error, "log_message", None) or self._reason
        self.fail(status_code, message)


class InstructorAPIHandler(APIHandler):
    """A route of the instructors' API (docs/reference/web-api.md): hub admins and members
    of the instructors group only (hubstead.access); a POST or DELETE counts only with a
    token header or the XSRF token. The core calls it makes are recorded as the hub user's."""

    async def prepare(self):
        # HubOAuth accepts a login cookie on a POST only with a valid XSRF token (else the
        # request is anonymous); a token header needs none. Checked here once more, so that
        # no route depends on how the cookie was read.
        if self.current_user is None:
            raise web.HTTPError(403, "log in to the hub first, or send a hub API token (Authorization: token ...)")
        if self.request.method not in ("GET", "HEAD", "OPTIONS") and not getattr(self, "_token_authenticated", False):
            self.hub_auth.check_xsrf_cookie(self)
        self.actor = await super().blocking(self.hub.user, self.username) or {}
        try:
            access.require_instructor(self.actor)
        except access.NotAllowed as error:
            raise web.HTTPError(403, str(error)) from None

    async def blocking(self, function, *args, **kwargs):
        who = self.username

        def as_the_user():
            with audit.acting_as(who, "web"):
                return function(*args, **kwargs)

        return await IOLoop.current().run_in_executor(None, as_the_user)

    def require_power_over(self, target_model, action):
        """403 for an instructor (not an admin) acting on an admin, or granting admin."""
        try:
            access.require_power_over(self.actor, target_model, action)
        except access.NotAllowed as error:
            raise web.HTTPError(403, str(error)) from None

    def int_argument(self, name, default, low, high):
        """A whole-number query argument in [low, high], else 400."""
        value = self.get_argument(name, None)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise web.HTTPError(400, f"{name} must be a whole number from {low} to {high}, not {value[:40]!r}")
        return number

    def upload(self, field, limit, what):
        """The bytes of a multipart file field (at most LIMIT bytes), else 400/413."""
        files = self.request.files.get(field) or []
        if not files:
            raise web.HTTPError(400, f"send the {what} as the multipart/form-data file field {field!r}")
        body = files[0]["body"]
        if len(body) > limit:
            raise web.HTTPError(413, f"the {what} is {len(body) / 2**20:.1f} MiB; at most {limit // 2**20} MiB")
        return files[0]["filename"], body


def _extra(error):
    extra = {}
    for name in ("running_env", "running_users"):
        if getattr(error, name, None) is not None:
            extra[name] = getattr(error, name)
    problems = getattr(error, "problems", None)
    if problems:
        extra["errors"] = [{"line": line, "message": message} for line, message in problems]
        extra["rows"] = [vars(row) for row in getattr(error, "rows", [])]
    return extra
