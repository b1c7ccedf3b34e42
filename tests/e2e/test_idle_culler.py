"""The idle culler with `services.cull.users` on: an idle server is stopped, then its idle
user is removed from the hub (issue 17, item 11). Before the fix the culler was started
with a bare `--cull-users`, exited on its argument parsing and culled nothing.

While the short timeout is on, the culler acts on the whole shared hub: other idle
non-admin users are removed from the hub too (their accounts and files stay). The
config file is put back and applied at the end.
"""

import time

import pytest

from tests.harness.hubcli import hubstead, new_user
from tests.harness.hubclient import HubUser

pytestmark = pytest.mark.e2e

CONFIG = "/etc/hubstead/config.yaml"
LEARNER = "idler"
TIMEOUT = 60  # the shortest services.cull.timeout the schema accepts
EVERY = 10
DEADLINE = TIMEOUT + 4 * EVERY + 60


@pytest.fixture
def culling_users(installed_hub):
    hub = installed_hub
    original = hub.container.read_file(CONFIG)
    for key, value in (("services.cull.users", "true"), ("services.cull.timeout", str(TIMEOUT)),
                       ("services.cull.every", str(EVERY))):
        hubstead(hub, "config", "set", key, value)
    try:
        hubstead(hub, "config", "reload", "hub")  # services.* restart the hub only
        yield hub
    finally:
        hub.container.write_file(CONFIG, original, mode=0o644)
        hubstead(hub, "config", "reload", "hub")  # services.* restart the hub only
        hubstead(hub, "user", "remove", LEARNER, "--purge", "--yes", check=False)


def admin_view(hub):
    """The hub's API as an admin sees it, without touching the learner's activity."""
    token = hub.container.read_file("/var/lib/hubstead/hubstead-api-token").strip()
    return HubUser(hub.url, token=token)


def wait_until(what, condition, deadline):
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < deadline, f"{what}: not within {deadline} s"
        time.sleep(2)
    return time.monotonic() - started


def test_an_idle_server_and_then_its_idle_user_are_removed(culling_users):
    hub = culling_users
    learner = new_user(hub, LEARNER)
    learner.start_server(timeout=150)
    admin = admin_view(hub)
    assert admin.api("GET", f"users/{LEARNER}").json()["servers"], "the server runs"

    def server_gone():
        answer = admin.api("GET", f"users/{LEARNER}", check=False)
        return answer.status_code == 404 or not answer.json().get("servers")

    stopped_after = wait_until("the idle server is stopped", server_gone, DEADLINE)
    unit = f"jupyter-{LEARNER}-singleuser"
    state = hub.container.run(["systemctl", "is-active", unit], check=False).stdout.strip()
    assert state != "active", f"{unit} still runs"
    wait_until("the idle user is removed from the hub",
               lambda: admin.api("GET", f"users/{LEARNER}", check=False).status_code == 404,
               DEADLINE - stopped_after + EVERY * 3)
    # Admins are never culled: the hub's operator keeps the account.
    assert admin.api("GET", "users/alice", check=False).status_code == 200
