"""The hub restarted in the middle of a class logging in at once (issue 14): some learners
have servers, others still wait for theirs (their units starting: cleanup_servers is False,
so units outlive the hub). No running server is lost, and every learner ends with a server
or a clear message. No timings here: benchmarks/workshop.py has them.
"""


import pytest
import requests

from tests.harness import rush
from tests.harness.rush import admin, servers, wait_for
from tests.harness.hubcli import hubstead, new_user
from tests.harness.hubclient import HubUser, SpawnFailed

pytestmark = pytest.mark.e2e

CLASS_SIZE = 8
SLOW_STARTERS = 2  # whose servers take SLOW_START s to answer, so some still start while others run
SLOW_START = 40
SECOND_ENV = "wsr-second"


@pytest.fixture
def roster(installed_hub):
    """{name: password} of CLASS_SIZE roster accounts, the last SLOW_STARTERS with a
    server config that sleeps SLOW_START s (as a heavy extension would), and a second
    environment, so that Start shows the hub's options form as on a hub with several;
    all removed after."""
    hub = installed_hub
    names = [f"wsrestart{index:02d}" for index in range(CLASS_SIZE)]
    passwords = rush.import_roster(hub.container, names)
    try:
        hub.container.write_file("/root/wsr-second.txt", "six\n")
        hubstead(hub, "env", "create", SECOND_ENV, "--file", "/root/wsr-second.txt", "--description", "not chosen")
        for name in names[-SLOW_STARTERS:]:
            first = HubUser(hub.url)
            first.login(name, passwords[name])
            make_slow_to_answer(hub, first, SLOW_START)
        yield passwords
    finally:
        rush.remove_users(hub.container, names)
        hubstead(hub, "env", "remove", SECOND_ENV, "--yes", check=False)




def main_pid(hub, name):
    shown = hub.container.run(["systemctl", "show", "-p", "MainPID", "--value", f"jupyter-{name}-singleuser"],
                              check=False).stdout.strip()
    return int(shown or 0)



def test_a_hub_restart_in_the_rush_loses_no_server_and_leaves_no_learner_stranded(installed_hub, roster):
    """The hub restarts while some of the class have servers and others' units are still
    starting. Every server running before keeps running (same process); every learner
    either gets a server in the rush (the hub adopts the unit that outlived it) or, cut
    off, is told why and gets one by pressing Start again, as a learner reloading does."""
    hub = installed_hub
    running_before = {}

    def restart_the_hub():
        def some_ready_some_waiting():
            held = servers(hub, roster)
            ready = [name for name, server in held.items() if server.get("ready")]
            pending = [name for name, server in held.items() if server.get("pending") == "spawn"]
            return ready if ready and pending else None

        for name in wait_for("some servers ready while others start", some_ready_some_waiting, timeout=240,
                             state=lambda: rush.class_state(hub, roster)):
            running_before[name] = main_pid(hub, name)
        hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=120)

    outcomes = rush.rush(hub.url, roster, timeout=400, during=restart_the_hub)
    cut_off = {o.name: o for o in outcomes if o.failure}  # by the hub's own downtime
    assert all(o.detail for o in cut_off.values()), "a learner cut off is told something"
    wait_for("the hub answering again", lambda: admin(hub).api("GET", "", check=False).status_code == 200, 120)
    for name in cut_off:  # the learner reloads: logs in again and presses Start
        again = rush.run_learner(hub.url, name, roster[name], timeout=300)
        assert again.failure is None, f"{name} after the restart: {again.failure}: {again.detail}"
        outcomes.append(again)
    assert running_before, "the restart came while servers were running"
    held = servers(hub, roster)
    for name, pid in running_before.items():
        assert held.get(name, {}).get("ready"), f"{name}'s server was lost in the restart"
        assert main_pid(hub, name) == pid, f"{name}'s server was restarted, not kept"
    rush.stop_all(outcomes)


def make_slow_to_answer(hub, user, seconds):
    """From now on the logged-in `user`'s server takes SECONDS to answer (a server config
    that sleeps, as a heavy extension would). Returns user."""
    name = user.username
    user.start_server(timeout=300)  # the first start makes the unix account and its home
    user.stop_server(timeout=120)
    folder = f"/home/jupyter-{name}/.jupyter"
    hub.container.run(["install", "-d", "-o", f"jupyter-{name}", "-g", f"jupyter-{name}", folder])
    hub.container.run(["install", "-o", f"jupyter-{name}", "-g", f"jupyter-{name}", "/dev/stdin",
                       f"{folder}/jupyter_server_config.py"], input=f"import time\ntime.sleep({seconds})\n")
    return user


def test_a_server_found_up_after_a_hub_restart_is_reachable_while_slower_ones_are_checked(installed_hub):
    """A restarted hub checks the servers it had in the background, each until it answers.
    One whose check has passed is ready: its learner's pages must reach it then, not only
    once the slowest server has answered too (CI saw a learner told "Server ready" whose
    page went round between proxy and hub to the hub's 500 "Redirect loop detected")."""
    hub = installed_hub
    quick, slow = "wsrcheckquick", "wsrcheckslow"
    try:
        users = {name: make_slow_to_answer(hub, new_user(hub, name), seconds)
                 for name, seconds in ((quick, 30), (slow, 75))}
        for name, user in users.items():
            user.api("POST", f"users/{name}/server", json={})
        wait_for("both servers starting, their units up", lambda: all(
            server.get("pending") == "spawn" for server in servers(hub, users).values()) and len(
            servers(hub, users)) == 2 and all(main_pid(hub, name) for name in users), timeout=60)
        hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=120)
        wait_for("the hub answering again", lambda: admin(hub).api("GET", "", check=False).status_code == 200, 120)

        def first_to_answer():
            answer = requests.get(f"{hub.url}/user/{quick}/api", allow_redirects=False, timeout=30)
            # Read after the request: while the slow check is pending, no route the hub
            # gives only after every check can have served the quick server's answer.
            if servers(hub, [slow]).get(slow, {}).get("ready"):
                return f"the slow server's check (the quick one's page answered {answer.status_code})"
            if answer.status_code == 200 and "json" in answer.headers.get("content-type", "") \
                    and "version" in answer.json():
                return "the quick server, through the proxy"
            return None

        first = wait_for(f"{quick}'s server or {slow}'s check", first_to_answer, timeout=300)
        assert first == "the quick server, through the proxy"
        wait_for(f"{slow}'s server ready", lambda: servers(hub, [slow]).get(slow, {}).get("ready"), timeout=300)
    finally:
        rush.remove_users(hub.container, [quick, slow])


def test_a_server_that_exits_at_start_fails_at_once_with_a_clear_message(installed_hub):
    """The spawn timeouts are long so that a class on a small machine gets in; a server
    that cannot start must not wait for them: its learner is told at once what to do."""
    hub = installed_hub
    user = new_user(hub, "wsbroken")
    config = "/home/jupyter-wsbroken/.jupyter/jupyter_server_config.py"
    try:
        user.start_server(timeout=200)  # the first start makes the unix account
        user.stop_server(timeout=60)
        hub.container.run(["install", "-d", "-o", "jupyter-wsbroken", "/home/jupyter-wsbroken/.jupyter"])
        hub.container.write_file(config, "raise SystemExit(3)\n")
        with pytest.raises(SpawnFailed) as failed:
            user.start_server(timeout=200)
        assert "stopped before it answered" in str(failed.value), str(failed.value)
        assert "journalctl -u jupyter-wsbroken-singleuser" in str(failed.value)
    finally:
        user.stop_server(timeout=60)
        hubstead(hub, "user", "remove", "wsbroken", "--purge", "--yes", check=False)
