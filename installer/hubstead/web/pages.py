"""The instructors' page at /services/hubstead/ and its QR-code route.

The page is one HTML shell; its sections (tabs) fill themselves from the JSON API
(docs/reference/web-api.md) with the scripts in static/instructor/. Who may open it is
the API's rule (admins and members of `instructors`); anyone else gets a 403 page that
says so, and a visitor who is not logged in goes to the hub's login.
"""

from __future__ import annotations

from tornado import web

from .. import access, qrcodes
from .base import BaseHandler, InstructorAPIHandler

SECTIONS = [("now", "Now"), ("people", "People"), ("accounts", "Workshop accounts"),
            ("environments", "Environments"), ("links", "Launch links"), ("usage", "Usage"),
            ("actions", "Recent actions")]


class InstructorPage(BaseHandler):
    @web.authenticated
    async def get(self):
        user = await self.user_model()
        if not access.may_instruct(user):
            self.set_status(403)
            self.render_page("forbidden.html", group=access.INSTRUCTORS_GROUP)
            return
        self.set_header("Cache-Control", "no-store")
        self.render_page("instructor.html", sections=SECTIONS, admin=bool(user.get("admin")))


class LinkQRCode(InstructorAPIHandler):
    """GET ?url=LINK: the link's QR code as SVG (image/svg+xml)."""

    def get(self):
        try:
            svg = qrcodes.link_svg(self.get_argument("url", ""))
        except qrcodes.QRCodeError as error:
            self.fail(400, str(error))
            return
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(svg)


def routes(base_url):
    return [
        (rf"{base_url}?", InstructorPage),
        (rf"{base_url}api/qr", LinkQRCode),
    ]
