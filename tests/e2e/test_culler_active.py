"""The idle culler, on by default with TLJH's timings, stops an idle server and keeps an
active one (issue 13).

A short timeout (services.cull.timeout 30 s, checked every 5 s) and a drop-in that has
the hub read the proxy's activity every 5 s instead of every 5 minutes stand in for
TLJH's 10 minutes. The active learner loads JupyterLab every 2 s or so. While the
short timeout is on, the culler acts on the whole shared
hub (other idle servers are stopped too). Config and drop-in are put back at the end.
"""

import json
import time

import pytest

from tests.harness.hubcli import hubstead, new_user

pytestmark = pytest.mark.e2e

CONFIG = "/etc/hubstead/config.yaml"
DROPIN = "/etc/hubstead/jupyterhub_config.d/zz-test-culler-activity.py"
IDLE, BUSY = "culidle", "culbusy"
TIMEOUT, EVERY = 30, 5
DEADLINE = TIMEOUT + 6 * EVERY + 30


def test_the_culler_is_on_by_default_with_tljhs_timings(installed_hub):
    cull = json.loads(hubstead(installed_hub, "config", "get", "services.cull", "--json").stdout)
    assert (cull["enabled"], cull["timeout"], cull["every"]) == (True, 600, 60), "TLJH's defaults"
    culler = installed_hub.container.run(["pgrep", "-a", "-f", "jupyterhub_idle_culler"], check=False).stdout
    assert "--timeout=600" in culler and "--cull-every=60" in culler, f"the culler runs with them: {culler!r}"


@pytest.fixture
def short_culling(installed_hub):
    hub = installed_hub
    original = hub.container.read_file(CONFIG)
    learners = {}
    try:
        hub.container.write_file(DROPIN, "c.JupyterHub.last_activity_interval = 5\n", mode=0o644)
        hubstead(hub, "config", "set", "services.cull.timeout", str(TIMEOUT))
        hubstead(hub, "config", "set", "services.cull.every", str(EVERY))
        hubstead(hub, "config", "reload", "hub")
        for name in (IDLE, BUSY):
            learners[name] = new_user(hub, name)
            learners[name].start_server(timeout=180)
        yield hub, learners
    finally:
        hub.container.run(["rm", "-f", DROPIN])
        hub.container.write_file(CONFIG, original, mode=0o644)
        reloaded = hubstead(hub, "config", "reload", "hub", check=False)
        for name in (IDLE, BUSY):
            hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)
        # Loud, not quiet: a hub left with this module's settings breaks the modules after it.
        assert reloaded.returncode == 0, f"putting the config back failed: {reloaded.stdout[-300:]} {reloaded.stderr[-500:]}"


def test_an_idle_server_is_stopped_and_an_active_one_kept(short_culling):
    hub, learners = short_culling
    idle, busy = learners[IDLE], learners[BUSY]
    started = time.monotonic()
    while idle.server_status().exists:
        assert time.monotonic() - started < DEADLINE, f"the idle server still runs after {DEADLINE} s"
        assert busy.lab_answers(), "the active server answers"
        time.sleep(2)
    idle_for = time.monotonic() - started
    # Keep the busy one busy a full timeout past the idle one's end: it stays.
    while time.monotonic() - started < idle_for + TIMEOUT:
        assert busy.lab_answers(), "the active server was stopped"
        time.sleep(2)
    assert busy.server_status().ready, "the active server is kept"
    state = hub.container.run(["systemctl", "is-active", f"jupyter-{IDLE}-singleuser"], check=False).stdout.strip()
    assert state != "active", "the idle server's unit is gone"
