"""A learner's server stops and starts again, in every order, around hub restarts and a
killed hub (issue 17, items 8 and 9).

Each test makes the state it needs (a running or stopped server, a restarted or killed
hub) and leaves the shared hub as it found it: the server stopped, the hub up.
"""

import re
import time

import pytest
import requests

from tests.harness.hub import http_status, wait_for_http
from tests.harness.hubcli import hubstead, new_user

pytestmark = pytest.mark.e2e

LEARNER = "cycler"
UNIT = f"jupyter-{LEARNER}-singleuser"
OTHER_ENV = "cycler-alt"
START_TIMEOUT = 540  # above the hub's own start_timeout (hubconfig.SPAWN_TIMEOUT, 480 s): the hub gives up first


@pytest.fixture(scope="module")
def other_env(installed_hub):
    installed_hub.container.write_file("/root/cycler-alt.txt", "six\n")
    hubstead(installed_hub, "env", "create", OTHER_ENV, "--file", "/root/cycler-alt.txt",
             "--description", "lifecycle tests", timeout=900)
    yield OTHER_ENV
    hubstead(installed_hub, "env", "remove", OTHER_ENV, "--yes", check=False)


@pytest.fixture(scope="module")
def learner(installed_hub):
    user = new_user(installed_hub, LEARNER)
    yield user
    user.stop_server()
    hubstead(installed_hub, "user", "remove", LEARNER, "--purge", "--yes", check=False)


@pytest.fixture
def stopped(installed_hub, learner):
    """The learner with no server, before and after the test."""
    learner.stop_server()
    yield learner
    wait_for_http(f"{installed_hub.url}/hub/api", timeout=90)
    learner.stop_server()


def prefix_of_server(user) -> str:
    return user.run_code("import sys; print(sys.prefix)").strip()


def start_and_run_a_cell(user, options=None) -> str:
    """Start the server, run a cell in it, return the environment it runs from."""
    user.start_server(options, timeout=START_TIMEOUT)
    return prefix_of_server(user)


def unit_property(container, unit, name):
    return container.run(["systemctl", "show", "--property", name, "--value", unit]).stdout.strip()


def hub_main_pid(hub) -> str:
    return unit_property(hub.container, "jupyterhub", "MainPID")


def restart_hub(hub):
    hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=180)
    wait_for_http(f"{hub.url}/hub/api", timeout=90)


def kill_hub(hub) -> str:
    """kill -9 the hub's main process; wait for systemd's restart and /hub/api. Returns
    when the new hub answers; the journal cursor before the kill is returned."""
    cursor = hub.container.run(["journalctl", "--show-cursor", "-n", "0", "--no-pager"]).stdout
    cursor = cursor.strip().rsplit("cursor: ", 1)[-1]
    old = hub_main_pid(hub)
    hub.container.run(["kill", "-9", old])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = hub_main_pid(hub)
        if now not in ("0", old) and http_status(f"{hub.url}/hub/api") == 200:
            return cursor
        time.sleep(0.5)
    pytest.fail(f"the hub did not come back within 120 s after kill -9 of {old}:\n"
                + hub.container.journal("jupyterhub", lines=60))


def test_stop_and_start_again_repeatedly(installed_hub, other_env, stopped):
    for round_ in range(4):
        options = {"environment": OTHER_ENV} if round_ % 2 else None
        expected = OTHER_ENV if round_ % 2 else "default"
        prefix = start_and_run_a_cell(stopped, options)
        assert f"/envs/{expected}/" in prefix, (round_, prefix)
        stopped.stop_server()
        state = installed_hub.container.run(["systemctl", "is-active", UNIT], check=False).stdout.strip()
        assert state in ("inactive", "unknown"), f"round {round_}: the stopped server's unit is {state}"


def test_start_in_another_environment_right_after_a_cell_ran(installed_hub, other_env, stopped):
    """The check the issue describes: run a cell, stop, start in another environment."""
    for _ in range(3):
        assert "/envs/default/" in start_and_run_a_cell(stopped)
        stopped.stop_server()
        assert f"/envs/{OTHER_ENV}/" in start_and_run_a_cell(stopped, {"environment": OTHER_ENV})
        stopped.stop_server()


def test_stop_then_hub_restart_then_start(installed_hub, stopped):
    start_and_run_a_cell(stopped)
    stopped.stop_server()
    restart_hub(installed_hub)
    assert "/envs/default/" in start_and_run_a_cell(stopped)


def test_start_then_hub_restart_then_stop_and_start(installed_hub, other_env, stopped):
    start_and_run_a_cell(stopped)
    restart_hub(installed_hub)
    assert stopped.server_status().ready, "the hub restart kept the server"
    stopped.stop_server()
    assert f"/envs/{OTHER_ENV}/" in start_and_run_a_cell(stopped, {"environment": OTHER_ENV})
    stopped.stop_server()
    assert "/envs/default/" in start_and_run_a_cell(stopped)


def test_killed_hub_then_stop_and_start(installed_hub, stopped):
    start_and_run_a_cell(stopped)
    kill_hub(installed_hub)
    assert stopped.server_status().ready, "a killed hub finds the running server again"
    stopped.stop_server()
    assert "/envs/default/" in start_and_run_a_cell(stopped)
    stopped.stop_server()
    kill_hub(installed_hub)
    assert "/envs/default/" in start_and_run_a_cell(stopped)


# A learner's process that ignores SIGTERM (in its own session, so it outlives the
# server's own exit): systemd's stop waits TimeoutStopSec (90 s) for it by default.
STUBBORN = ("import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(10000)'], start_new_session=True)\n"
            "print('started')")


def stubborn_processes(hub) -> str:
    return hub.container.run(["pgrep", "-u", f"jupyter-{LEARNER}", "-f", "SIG_IGN"], check=False).stdout.strip()


def begin_stop(user):
    """Ask for the stop without waiting (the hub itself answers 202 after 10 s)."""
    try:
        user.api("DELETE", f"users/{user.username}/server", timeout=2, check=False)
    except requests.Timeout:
        pass


def wait_for_unit(hub, active_state, timeout=15):
    deadline = time.monotonic() + timeout
    while (state := unit_property(hub.container, UNIT, "ActiveState")) != active_state:
        assert time.monotonic() < deadline, f"{UNIT} is {state}, not {active_state}"
        time.sleep(0.2)


def test_a_process_that_ignores_sigterm_does_not_hold_up_the_stop(installed_hub, stopped):
    start_and_run_a_cell(stopped)
    assert stopped.run_code(STUBBORN).strip() == "started"
    took = stopped.stop_server(timeout=60)
    assert took < 30, f"the stop took {took:.0f} s"
    assert not stubborn_processes(installed_hub)
    assert "/envs/default/" in start_and_run_a_cell(stopped)


@pytest.mark.parametrize("hub_goes", ["restart", "kill -9"])
def test_a_server_stopping_when_the_hub_goes_starts_again(installed_hub, stopped, hub_goes):
    """The hub restarted (or killed) while a server is still stopping: the new hub takes
    the server for gone, and the next start must not find its unit in the way."""
    hub = installed_hub
    start_and_run_a_cell(stopped)
    assert stopped.run_code(STUBBORN).strip() == "started"
    begin_stop(stopped)
    wait_for_unit(hub, "deactivating")
    restart_hub(hub) if hub_goes == "restart" else kill_hub(hub)
    stopped.stop_server(timeout=60)  # whatever the new hub still holds
    started = time.monotonic()
    assert "/envs/default/" in start_and_run_a_cell(stopped)
    assert time.monotonic() - started < 60
    assert not stubborn_processes(hub), "the new server runs without the old one's leftovers"


def web_service_pids(hub) -> set[str]:
    listed = hub.container.run(["pgrep", "-f", "-x", r".*python3? -m hubstead\.web"], check=False)
    return set(listed.stdout.split())


def web_service_answers(hub) -> bool:
    """The launch page sends a visitor who is not logged in to the hub's OAuth (the
    proxy answers 503 while the service is down)."""
    try:
        answer = requests.get(f"{hub.url}/services/hubstead/v2/", allow_redirects=False, timeout=10,
                              proxies={"http": None, "https": None})
    except requests.RequestException:
        return False
    return answer.status_code == 302 and "/hub/api/oauth2/authorize?client_id=service-hubstead" in \
        answer.headers.get("Location", "")


def wait_for_web_service(hub, timeout):
    deadline = time.monotonic() + timeout
    while not web_service_answers(hub):
        if time.monotonic() > deadline:
            pytest.fail(f"the web service did not answer within {timeout} s:\n"
                        + hub.container.journal("jupyterhub", lines=40))
        time.sleep(0.5)


def test_web_service_comes_back_fresh_after_the_hub_is_killed(installed_hub):
    hub = installed_hub
    wait_for_web_service(hub, 60)
    before = web_service_pids(hub)
    assert before, "the hub runs its web service"
    cursor = kill_hub(hub)
    wait_for_web_service(hub, 90)
    # Long enough for the new hub's first restart of a service that could not bind (30 s polls).
    time.sleep(35)
    after = web_service_pids(hub)
    assert len(after) == 1 and not after & before, f"web services before the kill {before}, after {after}"
    assert web_service_answers(hub)
    journal = hub.container.run(["journalctl", "--no-pager", "--after-cursor", cursor,
                                 "-u", "jupyterhub"]).stdout
    assert not re.search(r"Address already in use", journal), journal[-3000:]
