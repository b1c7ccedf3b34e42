"""ONE extra install with the flags TLJH's docs and cloud-init recipes use, shared by the
ports of TLJH's installer, plugin and bootstrap tests (the `tljh_flags_hub` fixture):

    bootstrap.py --show-progress-page --admin test-admin-username:test-admin-password
                 --plugin /root/tljh-plugin --user-requirements-txt-url http://127.0.0.1:PORT/...

The plugin is tests/fixtures/tljh-plugin (every hook of TLJH's test plugin), copied to a
writable place first (building it writes beside its sources). The requirements file is
served from this machine (the containers share its network). While the install runs,
the HTTP port is polled and every progress page seen is kept.
"""

from __future__ import annotations

import http.server
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .container import Container, free_tcp_ports
from .hub import InstalledHub, install_hub

ADMIN = "test-admin-username"
ADMIN_PASSWORD = "test-admin-password"
# Not in the default environment's lock: the URL's requirements add it.
URL_REQUIREMENT = "humanize"
PLUGIN_DIR = "/root/tljh-plugin"
INSTALL_DIR = "/root"  # the install's working directory: the plugin writes its files here


@dataclass
class FlagsHub:
    hub: InstalledHub
    # ("HTTP/1.0 200 OK", body) of each progress page answer seen during the install.
    progress_pages: list = field(default_factory=list)


def _serve(directory):
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=directory)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_tcp_ports(1)[0]), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _look_at_progress_page(port, seen):
    if len(seen) >= 20:
        return
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/index.html", timeout=2) as answer:
            body = answer.read().decode(errors="replace")
            status = f"HTTP/{answer.version / 10:.1f} {answer.status} {answer.reason}"
    except (urllib.error.URLError, OSError, ValueError):
        return
    if "being installed" in body:
        seen.append((status, body))


def install_with_tljh_flags(container: Container) -> FlagsHub:
    container.run(["cp", "-r", "/src/tests/fixtures/tljh-plugin", PLUGIN_DIR])
    with tempfile.TemporaryDirectory(prefix="hubstead-reqs-") as served:
        Path(served, "requirements.txt").write_text(f"# served by the test\n{URL_REQUIREMENT}\n")
        server = _serve(served)
        seen = []
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/requirements.txt"
            hub = install_hub(container, cwd=INSTALL_DIR,
                              extra_args=["--show-progress-page", "--admin", f"{ADMIN}:{ADMIN_PASSWORD}",
                                          "--plugin", PLUGIN_DIR, "--user-requirements-txt-url", url],
                              while_installing=lambda port: _look_at_progress_page(port, seen))
        finally:
            server.shutdown()
            server.server_close()
    return FlagsHub(hub=hub, progress_pages=seen)
