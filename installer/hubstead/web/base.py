"""What every handler of the web service shares."""

from __future__ import annotations

import json

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web
from tornado.ioloop import IOLoop

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
    """JSON in, JSON out; expected failures answer {"message": one line} with a status."""

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
        self.answer({"message": message, **extra}, status=status)

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
        self.answer({"message": message}, status=status_code)


def _extra(error):
    running = getattr(error, "running_env", None)
    return {"running_env": running} if running is not None else {}
