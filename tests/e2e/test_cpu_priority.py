"""The hub, the proxy and the users' servers share the CPU so that a class starting its
servers at once cannot starve the hub that answers its logins (docs/sizing.md, issue 14).

Where systemd runs the CPU controller, the servers' units are in one slice whose weight
is a tenth of the hub's and of the proxy's. Where the kernel shares CPU between sessions
instead (autogroups: cgroup v1, and these test containers, whose cgroup hierarchies are
read-only), the hub's and the proxy's sessions run at nice -20 and a learner cannot
raise her own. How much faster the hub answers under load is measured by
benchmarks/workshop.py, not asserted here.
"""

import pytest

from tests.harness.hubcli import hubstead, new_user

pytestmark = pytest.mark.e2e

LEARNER = "cpulearner"
SERVICES = ("jupyterhub", "configurable-http-proxy")


def shown(machine, unit, prop):
    return machine.run(["systemctl", "show", "-P", prop, unit]).stdout.strip()


@pytest.fixture(scope="module")
def learner(installed_hub):
    user = new_user(installed_hub, LEARNER)
    try:
        user.start_server()
        yield user
    finally:
        user.stop_server()
        hubstead(installed_hub, "user", "remove", LEARNER, "--purge", "--yes", check=False)


def test_servers_run_in_their_slice_weighing_a_tenth_of_the_hub_and_the_proxy(installed_hub, learner):
    machine = installed_hub.container
    assert shown(machine, f"jupyter-{LEARNER}-singleuser", "Slice") == "system-hubstead.slice"
    assert shown(machine, "system-hubstead.slice", "CPUWeight") == "100"
    # Beside the hub and the proxy in system.slice, so the weights compare with theirs.
    assert shown(machine, "system-hubstead.slice", "Slice") == "system.slice"
    for service in SERVICES:
        assert shown(machine, service, "Slice") == "system.slice", service
    for service in SERVICES:
        assert shown(machine, service, "CPUWeight") == "1000", service


def test_the_hub_and_the_proxy_sessions_are_first_and_a_learner_cannot_put_hers_ahead(installed_hub, learner):
    machine = installed_hub.container
    if machine.run(["test", "-e", "/proc/sys/kernel/sched_autogroup_enabled"], check=False).returncode != 0:
        pytest.fail("this kernel has no autogroups (CONFIG_SCHED_AUTOGROUP): run the suite on one that has")
    for service in SERVICES:
        pid = shown(machine, service, "MainPID")
        assert machine.read_file(f"/proc/{pid}/autogroup").split()[-2:] == ["nice", "-20"], service
    said = learner.run_code(
        "print(open('/proc/self/autogroup').read().split()[-1])\n"
        "try:\n"
        "    with open('/proc/self/autogroup', 'w') as ours:\n"
        "        ours.write('-20')\n"
        "except PermissionError:\n"
        "    print('refused')\n"
        "else:\n"
        "    print(open('/proc/self/autogroup').read().split()[-1])\n")
    assert said.split() == ["0", "refused"], said
