"""Limits per group on the shared hub (issue 13): the units of two learners' servers
carry their effective limits (a learner in two groups gets the largest of each),
`hubstead quota show` names where each comes from, limits.max_servers refuses one
server more with its message on the learner's page and in the API, and every bad
input is one or two lines with the config file unchanged.

The container does not enforce cgroup limits (tests/vm proves them on a real kernel):
here the unit's properties are what is checked. It has no GPU either: the module
makes a character device /dev/nvidia0 with NVIDIA's major number (195) so that a
group's `gpus all` can be set and shows in DeviceAllow; it is removed after. The
config file is put back and applied at the end; the users and groups are removed.
"""

import json

import pytest

from tests.harness.hubcli import hubstead, new_user
from tests.harness.hubclient import HubAPIError, HubUser

pytestmark = pytest.mark.e2e

CONFIG = "/etc/hubstead/config.yaml"
GEO, BIO, GPU = "limgeo", "limbio", "limgpu"
BOTH, PLAIN, EXTRA = "limana", "limben", "limcat"  # in geo+bio+gpu, in none, the one too many
GiB = 2**30
SETTINGS = [("limits.memory", "1G"), ("limits.tasks", "500"), ("limits.memory_guarantee", "256M"),
            (f"limits.groups.{GEO}.memory", "2G"), (f"limits.groups.{GEO}.cpu", "2"),
            (f"limits.groups.{BIO}.memory", "3G"), (f"limits.groups.{BIO}.cpu", "0.5"),
            (f"limits.groups.{GPU}.gpus", "all")]


def admin_token(hub):
    return hub.container.read_file("/var/lib/hubstead/hubstead-api-token").strip()


def running_servers(hub):
    users = HubUser(hub.url, token=admin_token(hub)).api("GET", "users", params={"state": "active"}).json()
    return sum(len(user.get("servers") or {}) for user in users)


@pytest.fixture(scope="module")
def limited(installed_hub):
    """Groups with limits, a fake GPU node, limits.max_servers at the servers running
    now plus the two this module starts; both learners' servers running."""
    hub = installed_hub
    original = hub.container.read_file(CONFIG)
    learners = {}
    try:
        hub.container.run(["mknod", "-m", "0666", "/dev/nvidia0", "c", "195", "0"])
        for group in (GEO, BIO, GPU):
            hubstead(hub, "group", "add", group)
        for name in (BOTH, PLAIN, EXTRA):
            learners[name] = new_user(hub, name)
        for group in (GEO, BIO, GPU):
            hubstead(hub, "group", "add-user", group, BOTH)
        for key, value in SETTINGS + [("limits.max_servers", str(running_servers(hub) + 2))]:
            hubstead(hub, "config", "set", key, value)
        hubstead(hub, "config", "reload", "hub")
        for name in (BOTH, PLAIN):
            learners[name].start_server(timeout=180)
        yield hub, learners
    finally:
        hub.container.write_file(CONFIG, original, mode=0o644)
        reloaded = hubstead(hub, "config", "reload", "hub", check=False)
        for name in (BOTH, PLAIN, EXTRA):
            hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)
        for group in (GEO, BIO, GPU):
            hubstead(hub, "group", "remove", group, "--yes", check=False)
        hub.container.run(["rm", "-f", "/dev/nvidia0"], check=False)
        # Loud, not quiet: a hub left with this module's settings breaks the modules after it.
        assert reloaded.returncode == 0, f"putting the config back failed: {reloaded.stdout[-300:]} {reloaded.stderr[-500:]}"


def unit_properties(hub, user):
    shown = hub.container.run(["systemctl", "show", "-p", "MemoryMax,CPUQuotaPerSecUSec,TasksMax,MemoryLow,"
                               "DeviceAllow,PrivateDevices,DevicePolicy", f"jupyter-{user}-singleuser"]).stdout
    found = {}
    for key, _, value in (line.partition("=") for line in shown.splitlines() if "=" in line):
        found[key] = f"{found[key]}\n{value}" if key in found else value  # DeviceAllow: one line each
    return found


def test_a_learner_in_several_groups_gets_the_largest_of_each_on_their_unit(limited):
    hub, _ = limited
    unit = unit_properties(hub, BOTH)
    assert unit["MemoryMax"] == str(3 * GiB), "limbio's 3G over limgeo's 2G and the global 1G"
    assert unit["CPUQuotaPerSecUSec"] == "2s", "limgeo's 2 CPUs over limbio's 0.5"
    assert unit["TasksMax"] == "500" and unit["MemoryLow"] == str(256 * 2**20)
    assert "/dev/nvidia0 rw" in unit["DeviceAllow"], unit
    assert unit["PrivateDevices"] == "no" and unit["DevicePolicy"] == "closed"


def test_a_learner_in_no_group_gets_the_global_limits_and_no_devices(limited):
    hub, _ = limited
    unit = unit_properties(hub, PLAIN)
    assert unit["MemoryMax"] == str(GiB) and unit["CPUQuotaPerSecUSec"] == "infinity"
    assert unit["TasksMax"] == "500"
    assert unit["PrivateDevices"] == "yes" and "nvidia" not in unit.get("DeviceAllow", ""), unit


def test_quota_show_names_where_each_limit_comes_from(limited):
    hub, _ = limited
    shown = json.loads(hubstead(hub, "quota", "show", BOTH, "--json").stdout)
    assert shown["groups"] == [BIO, GEO, GPU]
    assert shown["limits"]["memory"] == {"value": "3G", "source": f"group {BIO}"}
    assert shown["limits"]["cpu"] == {"value": 2, "source": f"group {GEO}"}
    assert shown["limits"]["gpus"] == {"value": "all", "source": f"group {GPU}"}
    assert shown["limits"]["disk"] == {"value": None, "source": "global"}
    text = hubstead(hub, "quota", "show", PLAIN).stdout
    assert "memory" in text and "1G" in text and "(global)" in text and "group" not in text.split("\n", 1)[1]


def test_quota_list_shows_every_users_disk_use(limited):
    hub, _ = limited
    rows = {row["user"]: row for row in json.loads(hubstead(hub, "quota", "list", "--json").stdout)}
    assert rows[BOTH]["used"] > 0 and rows[BOTH]["quota"] is None and rows[BOTH]["enforced"] is None


def test_one_server_beyond_max_servers_is_refused_with_the_message(limited):
    hub, learners = limited
    count = running_servers(hub)
    message = f"the hub is full: {count} servers running; try again later or ask your instructor"
    with pytest.raises(HubAPIError) as refused:
        learners[EXTRA].start_server(timeout=60)
    assert refused.value.status == 429 and message in str(refused.value)
    # With query options the spawn page starts the server at once, options form or not.
    page = learners[EXTRA]._page("GET", "hub/spawn?environment=default")
    assert message in page.text, "the learner's page says why"
    assert not learners[EXTRA].server_status().exists


def refused(hub, *args):
    """Run a hubstead command that must be refused; its error, once the config file
    is seen unchanged."""
    before = hub.container.read_file(CONFIG)
    done = hubstead(hub, *args, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert 1 <= len(done.stderr.strip().splitlines()) <= 2, done.stderr
    assert hub.container.read_file(CONFIG) == before, "nothing changed"
    return done.stderr.strip()


@pytest.mark.parametrize("args, message", [
    (("config", "set", "limits.memory", "64M"),
     "error: limits.memory: 64M is too little for a server to start; give at least 128M"),
    (("config", "set", f"limits.groups.{GEO}.memory", "-1G"),
     f"error: limits.groups.{GEO}.memory: '-1G' is not a size"),
    (("config", "set", "limits.cpu", "-2"), "error: limits.cpu: -2 is less than or equal to the minimum of 0"),
    (("config", "set", "limits.groups.limnone.memory", "4G"),
     "error: limits.groups.limnone.memory: there is no group 'limnone'; create it first"),
    (("config", "set", "limits.disk", "10G"), "error: limits.disk: /home is on "),
    (("config", "set", f"limits.groups.{GEO}.disk", "1G"), f"error: limits.groups.{GEO}.disk: /home is on "),
    (("quota", "set", BOTH, "1G"), "error: cannot set a disk quota: /home is on "),
    (("quota", "set", BOTH, "5 MB"), f"error: quota for {BOTH}: '5 MB' is not a size"),
    (("quota", "set", BOTH, "-5M"), f"error: quota for {BOTH}: '-5M' is not a size"),
    (("quota", "set", "limnobody", "1G"), "error: no hub user named 'limnobody'"),
])
def test_bad_limits_are_refused_in_a_line_and_change_nothing(limited, args, message):
    hub, _ = limited
    assert refused(hub, *args).startswith(message)


def test_a_quota_refusal_says_what_to_do(limited):
    hub, _ = limited
    error = refused(hub, "quota", "set", BOTH, "1G")
    assert "ext4 mounted with usrquota, or XFS with uquota" in error


def test_gpus_on_a_machine_without_gpus_are_refused(limited):
    hub, _ = limited
    hub.container.run(["mv", "/dev/nvidia0", "/dev/nvidia0.away"])
    try:
        error = refused(hub, "config", "set", f"limits.groups.{BIO}.gpus", "all")
    finally:
        hub.container.run(["mv", "/dev/nvidia0.away", "/dev/nvidia0"])
    assert error == (f"error: limits.groups.{BIO}.gpus: this machine has no NVIDIA GPU (/dev/nvidia0 does not "
                     "exist); install the NVIDIA driver first, or leave gpus unset")
