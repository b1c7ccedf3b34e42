"""The instructors' API for workshop accounts: rosters and password sheets."""

from __future__ import annotations

from datetime import datetime, timezone

from tornado import web

from ..users import sheets, workshop
from .base import InstructorAPIHandler

ROSTER_LIMIT = 1 << 20  # bytes


def iso(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sheet_links(base_url, sheet_id):
    return {"sheet": f"{base_url}api/sheets/{sheet_id}.csv", "sheet_html": f"{base_url}api/sheets/{sheet_id}.html"}


class Roster(InstructorAPIHandler):
    """POST api/roster (multipart field roster; ?dry_run=1 previews)."""

    async def post(self):
        _, body = self.upload("roster", ROSTER_LIMIT, "roster")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise web.HTTPError(400, "the roster is not UTF-8 text; save it as CSV (UTF-8)") from None
        dry_run = self.get_argument("dry_run", "0") in ("1", "true", "yes")
        await self.respond(self._import, text, dry_run)

    def _import(self, text, dry_run):
        from ..config import current
        from ..install import public_url

        rows, sheet_id = workshop.import_roster_text(self.hub, text, self.username, public_url(current()), dry_run)
        if dry_run:
            return {"rows": [vars(row) for row in rows], "errors": []}
        answer = {"created": [row.username for row in rows], "sheet": None, "sheet_html": None, "expires": None}
        if sheet_id:
            answer.update(sheet_links(self.settings["base_url"], sheet_id))
            answer["expires"] = iso(sheets.get(sheet_id, self.username)["expires"])
        return answer


class Sheets(InstructorAPIHandler):
    async def get(self):
        await self.respond(self._listing)

    def _listing(self):
        return [{**item, "created": iso(item["created"]), "expires": iso(item["expires"]),
                 "csv": sheet_links(self.settings["base_url"], item["id"])["sheet"],
                 "html": sheet_links(self.settings["base_url"], item["id"])["sheet_html"]}
                for item in sheets.listing(self.username, admin=bool(self.actor.get("admin")))]


class Sheet(InstructorAPIHandler):
    """GET api/sheets/ID[.csv|.html]; DELETE api/sheets/ID."""

    async def get(self, sheet_id, kind):
        try:
            sheet = await self.blocking(sheets.get, sheet_id, self.username, bool(self.actor.get("admin")))
        except sheets.SheetNotFound as error:
            raise web.HTTPError(404, str(error)) from None
        self.set_header("Cache-Control", "no-store")
        if kind == ".csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.set_header("Content-Disposition", f'attachment; filename="passwords-{sheet_id}.csv"')
            self.finish(sheets.as_csv(sheet))
        elif kind == ".html":
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
            self.finish(sheets.as_html(sheet))
        else:
            login_url = sheet.pop("hub_url").rstrip("/") + "/hub/login"
            self.answer({**sheet, "created": iso(sheet["created"]), "expires": iso(sheet["expires"]),
                         "login_url": login_url})

    async def delete(self, sheet_id, kind):
        await self.respond(self._delete, sheet_id)

    def _delete(self, sheet_id):
        sheets.delete(sheet_id, self.username, bool(self.actor.get("admin")))
        return {"deleted": sheet_id}


def routes(base_url):
    api = f"{base_url}api/"
    return [
        (rf"{api}roster", Roster),
        (rf"{api}sheets", Sheets),
        (rf"{api}sheets/([A-Za-z0-9_-]+)(\.csv|\.html)?", Sheet),
    ]
