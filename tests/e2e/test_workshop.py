"""A class logging in at once, with faults (issue 14): every learner of a roster logs in,
starts a server as the Start button does, opens JupyterLab and runs a cell, all at the
same moment (tests/harness/rush.py). No timings here: benchmarks/workshop.py has them.
"""


import time

import pytest

from tests.harness import rush
from tests.harness.rush import servers, wait_for
from tests.harness.hubcli import hubstead, new_user

pytestmark = pytest.mark.e2e

CLASS_SIZE = 10
QUEUED = "Many learners are starting at once"  # the spawn page of a learner waiting her turn


@pytest.fixture
def roster(installed_hub):
    """import(prefix, count) -> {name: password}; every account made is removed after."""
    made = []

    def make(prefix, count):
        names = [f"{prefix}{index:02d}" for index in range(count)]
        made.extend(names)
        return rush.import_roster(installed_hub.container, names)

    yield make
    rush.remove_users(installed_hub.container, made)


def assert_no_failures(hub, outcomes, seconds):
    """Every learner got through; else the failures, and what the journal says of them."""
    failed = {o.name: f"{o.failure}: {o.detail}" for o in outcomes if o.failure}
    assert failed == {}, "\n".join(rush.journal_about(hub.container, sorted(failed), seconds))


def test_a_class_at_once_runs_every_cell_though_one_server_is_killed(installed_hub, roster):
    """Ten learners at once; meanwhile another learner's server is killed (the OOM killer,
    a crash): nobody in the class notices, and its owner can start again."""
    hub = installed_hub
    passwords = roster("wsrush", CLASS_SIZE)
    victim = new_user(hub, "wsvictim")
    victim.request_timeout = 120  # a hub busy with a class answers slowly, not wrongly
    try:
        victim.start_server(timeout=300)

        def kill_the_victims_server():
            wait_for("three servers of the class ready", lambda: sum(
                bool(server.get("ready")) for server in servers(hub, passwords).values()) >= 3,
                timeout=480, state=lambda: rush.class_state(hub, passwords))  # the hub's own start_timeout: a loaded machine starts them late
            hub.container.run(["systemctl", "kill", "--signal=KILL", "jupyter-wsvictim-singleuser"])

        started = time.monotonic()
        outcomes = rush.rush(hub.url, passwords, timeout=400, during=kill_the_victims_server)
        assert_no_failures(hub, outcomes, time.monotonic() - started)
        assert sorted(o.name for o in outcomes if o.seconds) == sorted(passwords), "every learner ran the cell"
        # More learners than the hub starts at once (hub.startqueue): some waited their
        # turn and their spawn page said so (the page then went on by itself).
        places = 2 * int(hub.container.run(["nproc"]).stdout)
        assert places < CLASS_SIZE, f"the class ({CLASS_SIZE}) fits the {places} places of the start queue"
        told = [o.name for o in outcomes if any(m.startswith(QUEUED) for m in o.messages)]
        assert told, f"no learner was told to wait her turn: {[o.messages for o in outcomes]}"
        wait_for("the hub sees the killed server gone", lambda: not victim.server_status().ready, timeout=90)
        victim.stop_server(timeout=60)
        victim.start_server(timeout=300)
        assert victim.run_code("print('back')").strip() == "back"
        rush.stop_all(outcomes)
    finally:
        victim.stop_server(timeout=60)
        hubstead(hub, "user", "remove", "wsvictim", "--purge", "--yes", check=False)
