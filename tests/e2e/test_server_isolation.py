"""What a learner's server can reach, and what an admin's can do (issue 17, items 5 and 6).

Two learners and an admin, each with a server started through the hub. Everything is
checked from inside the servers, through a kernel or a terminal (so inside each server's
systemd unit, as its user), and from the machine as root.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser
from tests.harness.terminal import run_in_terminal

pytestmark = pytest.mark.e2e

LEARNER, OTHER, ADMIN = "isolearner", "isoother", "isoadmin"


def unit(name):
    return f"jupyter-{name}-singleuser"


@pytest.fixture(scope="module")
def people(installed_hub):
    hub = installed_hub
    everyone = {}
    try:
        for name, extra in ((LEARNER, ()), (OTHER, ()), (ADMIN, ("--admin",))):
            password = hubstead(hub, "user", "add", name, *extra).stdout.strip()
            everyone[name] = HubUser(hub.url)
            everyone[name].login(name, password)
            everyone[name].create_token("e2e")
            everyone[name].start_server()
        yield everyone
    finally:
        for user in everyone.values():
            user.stop_server()
        hubstead(hub, "user", "admin", "revoke", ADMIN, check=False)
        for name in (LEARNER, OTHER, ADMIN):
            hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)


def run_json(user, code):
    """Run `code` (which prints one JSON document last) in a kernel of `user`'s server."""
    return json.loads(user.run_code(code).strip().splitlines()[-1])


def listing(user, directory):
    return run_json(user, f"import json, os; print(json.dumps(sorted(os.listdir({directory!r}))))")


# ---- item 5: /dev/shm and IPC ---------------------------------------------------------------


def test_each_server_has_its_own_dev_shm_and_ipc(installed_hub, people):
    machine = installed_hub.container
    machine.write_file("/dev/shm/iso-machine-file", "the machine's\n", mode=0o644)
    try:
        made = run_json(people[LEARNER], """
import json, os, subprocess
open("/dev/shm/iso-learner-file", "w").write("a learner's shared memory\\n")
segment = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True).stdout.split()[-1]
print(json.dumps({"shm": sorted(os.listdir("/dev/shm")), "segment": segment}))
""")
        assert made["shm"] == ["iso-learner-file"], f"the learner's /dev/shm is not its own: {made['shm']}"
        for name in (OTHER, ADMIN):
            seen = run_json(people[name], """
import json, os, subprocess
print(json.dumps({"shm": sorted(os.listdir("/dev/shm")), "mqueue": sorted(os.listdir("/dev/mqueue")),
                  "ipcs": subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout}))
""")
            assert seen["shm"] == [], f"{name} sees another /dev/shm: {seen['shm']}"
            assert made["segment"] not in seen["ipcs"].split(), f"{name} sees the learner's SysV segment"
        assert "iso-learner-file" not in machine.run(["ls", "-A", "/dev/shm"]).stdout
    finally:
        machine.run(["rm", "-f", "/dev/shm/iso-machine-file", "/dev/shm/iso-learner-file"])


# ---- item 6: a learner's hardening ------------------------------------------------------------

WRITABLE_OUTSIDE = """
import json, os, stat
# Its own: home, private /tmp and /var/tmp, /dev/shm and /dev/mqueue (item 5's test
# checks they are private), the unit's RuntimeDirectory (0700, holds its environment).
allowed = (os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/jupyter-{name}-singleuser")
found = []
for root, dirs, files in os.walk("/"):
    if root in ("/proc", "/sys") or root.startswith(allowed):
        dirs[:] = []
        continue
    for path in [root] + [os.path.join(root, name) for name in files]:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue
        if (stat.S_ISDIR(mode) or stat.S_ISREG(mode)) and os.access(path, os.W_OK):
            found.append(path)
print(json.dumps(found[:40]))
"""


def test_a_learner_can_write_only_home_and_private_tmp(people):
    learner = people[LEARNER]
    writable = run_json(learner, WRITABLE_OUTSIDE.replace("{name}", LEARNER))
    assert writable == [], f"a learner can write outside home and /tmp: {writable}"
    wrote = learner.run_code("import os\nfor d in ('~', '/tmp', '/var/tmp'):\n"
                             "    open(os.path.join(os.path.expanduser(d), 'iso-probe'), 'w').write('x')\n"
                             "print('wrote')")
    assert wrote.strip() == "wrote"


def test_a_learner_cannot_read_other_homes_the_hubs_state_or_secrets(installed_hub, people):
    machine = installed_hub.container
    people[OTHER].run_code("open('/home/jupyter-isoother/private-notes.txt', 'w').write('mine')")
    other_pid = machine.run(["systemctl", "show", "-P", "MainPID", unit(OTHER)]).stdout.strip()
    assert other_pid not in ("", "0")
    secrets = machine.run("ls -d /var/lib/hubstead*/* /var/lib/hubstead*/ /run/jupyter-isoother-singleuser/*"
                          " /run/jupyter-isoother-singleuser").stdout.split()
    assert "/var/lib/hubstead/hubstead-api-token" in secrets and "/var/lib/hubstead/proxy.env" in secrets
    targets = secrets + ["/home/jupyter-isoother", "/home/jupyter-isoother/private-notes.txt",
                         f"/proc/{other_pid}/environ", f"/proc/{other_pid}/cmdline"]
    result = run_json(people[LEARNER], f"""
import json, os
read = {{}}
for path in {targets!r}:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        read[path] = "READ"
    except OSError as error:
        read[path] = type(error).__name__
print(json.dumps({{"read": read, "pids": [p for p in os.listdir("/proc") if p.isdigit()]}}))
""")
    read = [path for path, outcome in result["read"].items() if outcome == "READ"]
    assert read == [], f"a learner read: {read}"
    # Others' processes (their servers, the hub) are not even listed.
    hub_pid = machine.run(["systemctl", "show", "-P", "MainPID", "jupyterhub"]).stdout.strip()
    assert {other_pid, hub_pid} & set(result["pids"]) == set(), "a learner sees others' processes"


def test_a_learner_cannot_see_others_tokens_or_change_the_proxys_routes(installed_hub, people):
    hub, learner, other = installed_hub, people[LEARNER], people[OTHER]
    other_token = other.create_token("iso-other")
    for path in (f"users/{OTHER}/tokens", f"users/{OTHER}", "proxy"):
        answer = learner.api("GET", path, token=learner.token, check=False)
        assert answer.status_code in (403, 404), f"GET {path}: {answer.status_code} {answer.text[:200]}"
    assert other_token not in learner.api("GET", f"users/{LEARNER}/tokens", token=learner.token).text
    proxy = f"http://127.0.0.1:{hub.proxy_api_port}/api/routes"
    tried = run_json(learner, f"""
import json, os, urllib.request, urllib.error
def status(method, url, token=None, body=None):
    request = urllib.request.Request(url, method=method, data=body)
    if token:
        request.add_header("Authorization", "token " + token)
    try:
        return urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code
own = os.environ["JUPYTERHUB_API_TOKEN"]
print(json.dumps({{
    "list": status("GET", "{proxy}"),
    "add": status("POST", "{proxy}/iso-evil", body=b'{{"target": "http://127.0.0.1:1"}}'),
    "add_with_own_token": status("POST", "{proxy}/iso-evil", own, b'{{"target": "http://127.0.0.1:1"}}'),
    "hub_proxy_api": status("GET", os.environ["JUPYTERHUB_API_URL"] + "/proxy", own),
}}))
""")
    assert tried == {"list": 403, "add": 403, "add_with_own_token": 403, "hub_proxy_api": 403}
    token = hub.container.read_file("/var/lib/hubstead/proxy.env").strip().split("=", 1)[1]
    routes = requests.get(proxy, headers={"Authorization": f"token {token}"}, timeout=10,
                          proxies={"http": None, "https": None}).json()
    assert "/iso-evil" not in routes and f"/user/{LEARNER}" in routes, sorted(routes)


def test_a_learner_cannot_sudo(people):
    status, shown = run_in_terminal(people[LEARNER], "sudo -n true")
    assert status != 0, shown


def test_an_admin_can_sudo_in_a_terminal_of_their_server(people):
    status, shown = run_in_terminal(people[ADMIN], "sudo -n true && sudo -n id -u")
    assert status == 0, f"sudo failed in the admin's terminal: {shown}"
    assert shown.strip().splitlines()[-1].strip() == "0"


def test_the_units_carry_the_hardening_of_each_role(installed_hub, people):
    machine = installed_hub.container
    names = ["ProtectSystem", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
             "ProtectControlGroups", "RestrictSUIDSGID", "PrivateTmp", "PrivateDevices", "PrivateIPC",
             "NoNewPrivileges", "TasksMax"]

    def shown(name):
        output = machine.run(["systemctl", "show", unit(name), *(f"--property={p}" for p in names)]).stdout
        return dict(line.split("=", 1) for line in output.splitlines())

    learner, admin = shown(LEARNER), shown(ADMIN)
    assert learner == {"ProtectSystem": "strict", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
                       "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "PrivateIPC": "yes",
                       "NoNewPrivileges": "yes", "TasksMax": "2048"}, learner
    assert admin["NoNewPrivileges"] == "no" and admin["PrivateDevices"] == "no"
    assert admin["PrivateTmp"] == admin["PrivateIPC"] == "yes" and admin["TasksMax"] == "2048"



def test_admin_granted_or_revoked_takes_effect_at_the_next_start(installed_hub):
    hub, name = installed_hub, "isopromoted"
    password = hubstead(hub, "user", "add", name).stdout.strip()
    user = HubUser(hub.url)
    user.login(name, password)
    user.create_token("e2e")
    try:
        hubstead(hub, "user", "admin", "grant", name)
        user.start_server()
        status, shown = run_in_terminal(user, "sudo -n true")
        assert status == 0, f"no sudo after `user admin grant` and a new start: {shown}"
        user.stop_server()
        hubstead(hub, "user", "admin", "revoke", name)
        user.start_server()
        assert run_in_terminal(user, "sudo -n true")[0] != 0
        assert run_json(user, WRITABLE_OUTSIDE.replace("{name}", name)) == []
    finally:
        user.stop_server()
        hubstead(hub, "user", "admin", "revoke", name, check=False)
        hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)
