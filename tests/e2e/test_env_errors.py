"""Environments that went wrong, on an installed hub: a failed or killed first build
leaves no half-made environment (`env show` says it does not exist, the next `env
create` completes and leaves nothing behind), and `env remove` refuses while a running
server uses the environment, naming whose."""

import json

import pytest

from tests.harness.hubcli import hubstead, new_user

pytestmark = pytest.mark.e2e

ENVS = "/opt/hubstead/envs"
SMALL_SPEC = "six\n"


def listed(hub):
    return [item["name"] for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)]


def one_error_line(result):
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def assert_shown_as_missing(hub, name):
    line = one_error_line(hubstead(hub, "env", "show", name, check=False))
    assert f"no environment named {name!r}" in line, line
    assert name not in listed(hub)


def test_a_failed_first_build_leaves_no_environment(installed_hub):
    hub = installed_hub
    hub.container.write_file("/root/unresolvable.txt", "no-such-package-hubstead-e2e\n")
    try:
        created = hubstead(hub, "env", "create", "e2e-failed", "--file", "/root/unresolvable.txt", check=False)
        assert "cannot be resolved" in one_error_line(created)
        assert_shown_as_missing(hub, "e2e-failed")
        assert not hub.container.path_exists(f"{ENVS}/e2e-failed"), "a failed create leaves no directory"
    finally:
        hub.container.run(["rm", "-rf", f"{ENVS}/e2e-failed"])


def test_a_killed_first_build_is_completed_by_the_next_run(installed_hub):
    hub = installed_hub
    name, directory = "e2e-killed", f"{ENVS}/e2e-killed"
    hub.container.write_file("/root/small.txt", SMALL_SPEC)
    try:
        # Killed (the whole process group, uv too, as a lost SSH session or Ctrl-\ would)
        # once the new build's directory exists: uv is installing into it.
        hub.container.run(f"""
            setsid hubstead env create {name} --file /root/small.txt > /root/killed.log 2>&1 &
            group=$!
            for attempt in $(seq 1200); do
                ls -d {directory}/pypi-* > /dev/null 2>&1 && break
                sleep 0.1
            done
            /bin/kill -s KILL -- -$group
            wait $group
            sleep 1  # uv, reparented to PID 1, is reaped there""", timeout=300)
        survivors = hub.container.run("grep -ls 'e2e-kil[l]ed' /proc/[0-9]*/cmdline", check=False).stdout
        assert survivors == "", f"the killed build still runs: {survivors}"
        assert not hub.container.path_exists(f"{directory}/current"), (
            "the build finished before it could be killed:\n" + hub.container.read_file("/root/killed.log"))
        assert hub.container.run(f"ls -d {directory}/pypi-*", check=False).returncode == 0, "nothing was left to clear"
        assert_shown_as_missing(hub, name)

        again = hubstead(hub, "env", "create", name, "--file", "/root/small.txt", check=False)
        assert again.returncode == 0, again.stdout + again.stderr
        build = next(item for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)
                     if item["name"] == name)["current"]
        left = set(hub.container.run(["ls", "-A", directory]).stdout.split())
        assert left == {"current", build, "hubstead-env.json"}, left
        shown = json.loads(hubstead(hub, "env", "show", name, "--json").stdout)
        assert "six" in {package["name"].lower() for package in shown["packages"]}
    finally:
        hubstead(hub, "env", "remove", name, "--yes", check=False)
        hub.container.run(["rm", "-rf", directory])


def test_remove_refuses_an_environment_that_a_running_server_uses(installed_hub):
    hub = installed_hub
    name = "e2e-inuse"
    hub.container.write_file("/root/small.txt", SMALL_SPEC)
    hubstead(hub, "env", "create", name, "--file", "/root/small.txt")
    learner = new_user(hub, "inuser")
    try:
        learner.start_server({"environment": name}, timeout=180)
        refused = hubstead(hub, "env", "remove", name, "--yes", check=False)
        line = one_error_line(refused)
        assert "inuser" in line and "in use" in line, line
        assert name in listed(hub)
        assert learner.run_code("import six; print('still here')").strip() == "still here"
        learner.stop_server()
        hubstead(hub, "env", "remove", name, "--yes")
        assert name not in listed(hub)
    finally:
        learner.stop_server()
        hubstead(hub, "user", "remove", "inuser", "--purge", "--yes", check=False)
        hubstead(hub, "env", "remove", name, "--yes", check=False)
