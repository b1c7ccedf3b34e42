"""GET /services/hubstead/metrics: hubstead's gauges in Prometheus' text format.

A scraper sends a hub API token that holds the `read:metrics` scope (the same token
reads the hub's own /hub/metrics; docs/admin.md says how to make one). Without one: 403.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from tornado import web
from tornado.ioloop import IOLoop

from .. import gauges

SCOPE = "read:metrics"


class MetricsHandler(web.RequestHandler):
    """Token-authenticated: no login page, no cookie (a scraper has neither)."""

    async def get(self):
        hub_auth = self.settings["hub_auth"]
        token = hub_auth.get_token(self, in_cookie=False)
        model = await hub_auth.user_for_token(token, sync=False) if token else None
        if not model or not hub_auth.check_scopes({SCOPE}, model):
            raise web.HTTPError(403, f"send a hub API token with the {SCOPE} scope")
        hub = self.settings["hubstead_hub"]
        # SQLite and the hub's API: off the event loop, so launch pages are not held up
        values = await IOLoop.current().run_in_executor(None, lambda: gauges.collect(hub, _default_env()))
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(registry(values)))

    def write_error(self, status_code, **kwargs):
        error = kwargs.get("exc_info", (None, None))[1]
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}: {getattr(error, 'log_message', None) or self._reason}\n")


def _default_env():
    from ..envs.manage import default_name

    return default_name()


def registry(values):
    """A fresh registry holding this scrape's values (nothing kept between scrapes)."""
    found = CollectorRegistry()
    servers = Gauge("hubstead_running_servers", "Servers running or starting, by environment.",
                    ["environment"], registry=found)
    for environment, count in sorted(values["servers"].items()):
        servers.labels(environment=environment).set(count)
    builds = Gauge("hubstead_builds", "Builds in the builder's records, by state.", ["state"], registry=found)
    for state, count in sorted(values["builds"].items()):
        builds.labels(state=state).set(count)
    free = Gauge("hubstead_disk_free_bytes", "Free bytes of the disk holding the path.", ["path"], registry=found)
    total = Gauge("hubstead_disk_total_bytes", "Size of the disk holding the path.", ["path"], registry=found)
    for path, free_bytes, total_bytes in values["disks"]:
        free.labels(path=path).set(free_bytes)
        total.labels(path=path).set(total_bytes)
    return found


def routes(base_url):
    return [(rf"{base_url}metrics", MetricsHandler)]
