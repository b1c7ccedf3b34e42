"""Binder-style launch links: /v2/PROVIDER/SPEC?urlpath=... on the hub.

The proxy sends /v2/... to this service (Proxy.extra_routes), which redirects it under
its own prefix, where the hub's login applies: a visitor who is not logged in goes to
the hub's login page and comes back to the link. The launch page then drives three JSON
calls: begin (build or cache hit), poll the build's log, start the server and go.
"""

from __future__ import annotations

from tornado import web

from ..builder import BuilderError, launch_flow, links, pipeline
from .base import APIHandler, BaseHandler


class OutsidePrefixRedirect(web.RequestHandler):
    """/v2/... (routed here by the proxy) -> /services/hubstead/v2/..., query kept."""

    def get(self, spec):
        query = f"?{self.request.query}" if self.request.query else ""
        self.redirect(f"{self.settings['base_url']}v2/{spec}{query}")


class LaunchPage(BaseHandler):
    @web.authenticated
    def get(self, spec):
        try:
            parsed = links.parse_launch(spec, self.request.query, pipeline.settings_now()["binder"])
        except BuilderError as error:
            self.set_status(400)
            parsed, problem = None, str(error)
        else:
            problem = ""
        self.render_page("launch.html", spec=spec, query=self.request.query, parsed=parsed, problem=problem)


class BeginLaunch(APIHandler):
    """POST {path, query}: the build that serves the link (a new one if needed)."""

    @web.authenticated
    async def post(self):
        body = self.body_json()
        user = await self.user_model()
        await self.respond(self._begin, str(body.get("path", "")), str(body.get("query", "")), user)

    @staticmethod
    def _begin(path, query, user):
        begun = launch_flow.begin(path, query, user)
        return {"build": begun.record.as_dict(), "landing": begun.landing}


class BuildProgress(APIHandler):
    """GET ?offset=N: the build's state and its log from byte N on."""

    @web.authenticated
    async def get(self, build_id):
        try:
            offset = max(0, int(self.get_argument("offset", "0")))
        except ValueError:
            raise web.HTTPError(400, "offset must be a whole number") from None
        await self.respond(launch_flow.progress, int(build_id), offset)


class StartServer(APIHandler):
    """POST {path, query, restart}: start the user's server in the build; answers
    {"redirect": URL} (nbgitpuller, then the landing path) or 409 when another
    environment runs and restart is false."""

    @web.authenticated
    async def post(self, build_id):
        body = self.body_json()
        await self.respond(self._start, int(build_id), str(body.get("path", "")),
                           str(body.get("query", "")), bool(body.get("restart")))

    def _start(self, build_id, path, query, restart):
        settings = pipeline.settings_now()
        landing = links.landing_url(links.parse_launch(path, query, settings["binder"]),
                                     default=launch_flow.default_app(settings))
        url = launch_flow.start(self.hub, build_id, self.username, landing=landing, restart=restart)
        return {"redirect": url}


def routes(base_url):
    return [
        (r"/v2/(.*)", OutsidePrefixRedirect),
        (rf"{base_url}v2/(.*)", LaunchPage),
        (rf"{base_url}api/launch", BeginLaunch),
        (rf"{base_url}api/builds/(\d+)", BuildProgress),
        (rf"{base_url}api/builds/(\d+)/start", StartServer),
    ]
