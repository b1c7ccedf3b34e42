"""The instructors' API for running servers (the page's Now section)."""

from __future__ import annotations

from tornado import web

from .. import servers
from ..users import manage
from .base import InstructorAPIHandler


class Servers(InstructorAPIHandler):
    async def get(self):
        await self.respond(servers.running, self.hub)


class Summary(InstructorAPIHandler):
    async def get(self):
        await self.respond(servers.counts, self.hub)


class StopServer(InstructorAPIHandler):
    async def post(self, name):
        if await self.blocking(self.hub.user, name) is None:
            raise web.HTTPError(404, f"no hub user named {name!r}")
        await self.respond(lambda: {"user": name, "stopped": manage.stop_server(self.hub, name)})


class StopIdle(InstructorAPIHandler):
    async def post(self):
        minutes = self.int_argument("minutes", None, 1, 10080)
        if minutes is None:
            minutes = self.int_argument_from_body("minutes")
        await self.respond(lambda: {"stopped": servers.stop_idle(self.hub, minutes), "minutes": minutes})

    def int_argument_from_body(self, name):
        value = self.body_json().get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10080:
            raise web.HTTPError(400, f"{name} must be a whole number from 1 to 10080 (?{name}=N)")
        return value


def routes(base_url):
    api = f"{base_url}api/"
    return [
        (rf"{api}servers", Servers),
        (rf"{api}summary", Summary),
        (rf"{api}servers/stop-idle", StopIdle),
        (rf"{api}servers/([^/]+)/stop", StopServer),
    ]
