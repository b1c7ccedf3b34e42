"""The instructors' API for launch links (a BinderHub-like form); GET api/qr (web/pages.py) draws their QR codes."""

from __future__ import annotations

from ..builder import link_registry
from .base import InstructorAPIHandler


class LaunchLinks(InstructorAPIHandler):
    async def get(self):
        await self.respond(link_registry.listing)

    async def post(self):
        body = self.body_json()
        landing = {key: str(body.get(key) or "") for key in ("urlpath", "labpath", "filepath")}
        service_url = self.request.full_url().split("/api/")[0]
        await self.respond(link_registry.make, str(body.get("repo") or ""), str(body.get("ref") or ""), landing,
                           self.username, service_url)


def routes(base_url):
    api = f"{base_url}api/"
    return [(rf"{api}launch-links", LaunchLinks)]
