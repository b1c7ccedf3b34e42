"""The instructors' API for usage (from activity samples) and recent actions (the audit log)."""

from __future__ import annotations

from .. import activity, audit
from .api_workshop import iso
from .base import InstructorAPIHandler


class Usage(InstructorAPIHandler):
    async def get(self):
        days = self.int_argument("days", 7, 1, 366)
        if self.get_argument("format", "json") == "csv":
            report = await self.blocking(activity.usage_since, days)
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.set_header("Content-Disposition", f'attachment; filename="usage-{days}d.csv"')
            self.finish(activity.usage_csv(report))
            return
        await self.respond(activity.usage_since, days)


class Audit(InstructorAPIHandler):
    async def get(self):
        limit = self.int_argument("limit", 100, 1, audit.MAX_LIMIT)
        await self.respond(lambda: [{**entry, "time": iso(entry["time"])} for entry in audit.recent(limit)])


def routes(base_url):
    api = f"{base_url}api/"
    return [(rf"{api}usage", Usage), (rf"{api}audit", Audit)]
