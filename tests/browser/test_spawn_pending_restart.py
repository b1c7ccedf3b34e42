"""A learner waiting on "Your server is starting up" when the hub restarts (an upgrade,
a crash) gets to JupyterLab by herself, in a real Chromium, without reloading the page
(issue 14: "a learner who must wait ... goes on by itself, never an error").

JupyterHub's page follows the start through an EventSource that the restart ends, and,
once the hub is back, its progress API answers 400 while it checks the server that was
starting. Hubstead's spawn_pending.html makes the page wait for the hub and reload.
"""

from __future__ import annotations

import re

from tests.harness.browser import login, new_notebook, run_cell, start_from_spawn_page, wait_for_jupyterlab
from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser

NAME = "pendinglena"
SLOW_START = 30  # seconds her server's config sleeps, so it still starts when the hub goes


def unit_pid(hub):
    return hub.container.run(["systemctl", "show", "-P", "MainPID", f"jupyter-{NAME}-singleuser"]).stdout.strip()


def test_the_starting_page_goes_on_by_itself_after_a_hub_restart(installed_hub, page):
    hub = installed_hub
    password = hubstead(hub, "user", "add", NAME).stdout.strip()
    folder = f"/home/jupyter-{NAME}/.jupyter"
    try:
        first = HubUser(hub.url)  # the first start makes the unix account and its home
        first.login(NAME, password)
        first.start_server(timeout=300)
        first.stop_server(timeout=120)
        owner = ["-o", f"jupyter-{NAME}", "-g", f"jupyter-{NAME}"]
        hub.container.run(["install", "-d", *owner, folder])
        hub.container.run(["install", *owner, "/dev/stdin", f"{folder}/jupyter_server_config.py"],
                          input=f"import time\ntime.sleep({SLOW_START})\n")

        login(page, hub.url, NAME, password)
        start_from_spawn_page(page)
        page.wait_for_url(re.compile(r"/hub/spawn-pending/"), timeout=60_000)
        started_as = unit_pid(hub)
        assert started_as != "0", "her server's unit is not running"
        hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=120)

        try:
            wait_for_jupyterlab(page, timeout=300_000)  # the test never reloads the page
        except Exception as error:
            said = hub.container.run(
                "journalctl -u jupyterhub --no-pager -q | grep -v -E ' (200|302) (GET|POST) ' | tail -n 40; "
                f"echo '--- her server:'; journalctl -u jupyter-{NAME}-singleuser --no-pager -q | tail -n 40",
                check=False).stdout
            raise AssertionError(f"the page did not reach JupyterLab ({str(error)[:300]}); the logs:\n{said}") from None
        assert unit_pid(hub) == started_as, "the restart lost the server that was starting"
        new_notebook(page)
        assert run_cell(page, "print(6 * 7)") == "42"
    finally:
        hub.container.run(["rm", "-f", f"{folder}/jupyter_server_config.py"], check=False)
        hubstead(hub, "user", "remove", NAME, "--purge", "--yes", check=False)
