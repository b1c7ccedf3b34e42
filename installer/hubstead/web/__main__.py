"""`python -m hubstead.web`: the service the hub starts, and waits for.

The hub gives a managed service about ten seconds to answer HTTP at its prefix and exits
otherwise. Importing the application (JupyterHub's auth module, the core library) takes
longer than that on a loaded two-core machine or under emulation, so the port answers
first with nothing but tornado imported: the prefix says "starting" (the hub counts any
answer below 500), everything else 503 with Retry-After. The application, imported off
the event loop, then takes over the same server.
"""

import asyncio
import importlib
import logging
import os
from urllib.parse import urlsplit

from tornado import httpserver, ioloop, web

PREFIX = "/" + os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/hubstead/").strip("/") + "/"


class Starting(web.RequestHandler):
    def get(self, path):
        self.set_header("Retry-After", "2")
        self.set_header("Cache-Control", "no-store")
        if path:
            self.set_status(503)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish('<!doctype html><meta http-equiv="refresh" content="2"><title>Starting</title>'
                    "<p>Hubstead's service is starting; this page reloads in a moment.</p>")

    def post(self, path):
        self.set_header("Retry-After", "2")
        self.set_status(503)
        self.finish({"error": "hubstead's service is starting; try again in a moment"})

    put = delete = patch = post


async def take_over(server):
    """Import and build the application in a thread, then hand it the server; a failure
    ends the process, as it did before the placeholder (the hub sees the service exit)."""
    loop = asyncio.get_running_loop()
    try:
        module = await loop.run_in_executor(None, importlib.import_module, "hubstead.web.app")
        application, hub = await loop.run_in_executor(None, module.build)
    except Exception:
        logging.exception("hubstead's web service could not start")
        os._exit(1)
    server.request_callback = application
    logging.info("serving")
    module.start_sampling(hub)


def serve():
    address = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8082"))
    placeholder = web.Application([(rf"{PREFIX}(.*)", Starting), (r"/()", Starting)])
    server = httpserver.HTTPServer(placeholder, xheaders=True)
    server.listen(address.port or 80, address.hostname or "127.0.0.1")
    loop = ioloop.IOLoop.current()
    loop.add_callback(take_over, server)
    loop.start()


serve()
