"""The web service's tornado application, and `main`, which the hub starts.

The hub runs `python -m hubstead.web` as its managed service `hubstead` and passes
JUPYTERHUB_SERVICE_URL (where to listen), JUPYTERHUB_SERVICE_PREFIX (/services/hubstead/),
the service's API token and the OAuth client's settings in the environment.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado import ioloop, web

from .. import hubapi, paths
from . import api_envs, api_links, api_people, api_servers, api_usage, api_workshop, launch_handlers, metrics, pages

HERE = Path(__file__).parent
COOKIE_SECRET_FILE = "web_cookie_secret"


class OAuthCallback(HubOAuthCallbackHandler):
    @property
    def hub_auth(self):
        return self.settings["hub_auth"]


def make_app(hub, hub_auth, base_url="/services/hubstead/", hub_prefix="/hub/", cookie_secret=None):
    """The application: the instructors' page, its API and launch links."""
    base_url = "/" + base_url.strip("/") + "/"
    handlers = [(rf"{base_url}oauth_callback", OAuthCallback), *pages.routes(base_url), *launch_handlers.routes(base_url)]
    for api in (api_people, api_workshop, api_servers, api_envs, api_links, api_usage):
        handlers += api.routes(base_url)
    handlers += metrics.routes(base_url)
    return web.Application(
        handlers,
        base_url=base_url,
        hub_prefix=hub_prefix,
        hub_auth=hub_auth,
        hubstead_hub=hub,
        cookie_secret=cookie_secret or secrets.token_bytes(32),
        login_url=hub_auth.login_url,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        static_url_prefix=f"{base_url}static/",
        xsrf_cookies=False,  # the hub's own XSRF check applies (HubOAuth patches handlers)
    )


def cookie_secret(state_dir=None):
    """A secret kept across restarts, so a restart of the hub does not log everyone out."""
    path = Path(state_dir or paths.STATE_DIR) / COOKIE_SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        value = secrets.token_bytes(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value.hex() + "\n")
        return value


def start_sampling(hub):
    """Record an activity sample of the running servers every activity.SAMPLE_SECONDS (Usage)."""
    from .. import activity, servers

    async def sample():
        try:
            await ioloop.IOLoop.current().run_in_executor(None, servers.sample_now, hub)
        except Exception:  # the page's other sections must not die with the sampler
            logging.exception("activity sample failed")

    ioloop.PeriodicCallback(sample, activity.SAMPLE_SECONDS * 1000).start()
    ioloop.IOLoop.current().add_callback(sample)


def build():
    """The application from the hub's environment, and the hub session it uses; the
    caller serves it (see __main__: the port answers before this import is done)."""
    logging.basicConfig(level=logging.INFO, format="[hubstead-web %(levelname)s] %(message)s")
    hub = hubapi.Hub.from_config()
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if token:
        hub.token = token
    hub_auth = HubOAuth(cache_max_age=60)
    app = make_app(hub, hub_auth, base_url=os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/hubstead/"),
                   hub_prefix=hub_auth.hub_prefix, cookie_secret=cookie_secret())
    return app, hub


def main():
    """Serve the application at once (tests and tools; the hub runs __main__)."""
    app, hub = build()
    address = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8082"))
    app.listen(address.port or 80, address.hostname or "127.0.0.1", xheaders=True)
    logging.info("listening on %s", address.geturl())
    start_sampling(hub)
    ioloop.IOLoop.current().start()
