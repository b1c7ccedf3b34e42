"""A repository's code attacks the builder, on an installed hub (issue 17, items 1-3, 5).

Each repository here is what an attacker would publish: its postBuild plants links, hard
links and fifos for root to follow, poisons the download caches for the next build,
probes the hub's ports and the cloud metadata address, and leaves files in /dev/shm.
The repositories are served by git's smart HTTP on 127.0.0.1 (tests/harness/gitserver).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.harness.gitserver import GitHTTPServer, make_repo, publish
from tests.harness.hubcli import hubstead

pytestmark = pytest.mark.e2e

TINY = "pyfiglet==1.0.2\n"
TOKEN_FILE = "/var/lib/hubstead/hubstead-api-token"
SHARED_FILE = "/srv/hubstead-test-world-writable"

STEAL_SPEC = f"""#!/bin/bash
# The kept spec and the linked directory: root copies requirements.txt after the build.
ln -sf {TOKEN_FILE} requirements.txt
ln -s /var/lib/hubstead "$VIRTUAL_ENV/share/hub-state"
ln {SHARED_FILE} "$VIRTUAL_ENV/stolen" 2>/dev/null || echo "hard link across mounts refused"
echo planted
"""
PLANT_MARKER = """#!/bin/bash
ln -s /etc/hubstead-planted "$VIRTUAL_ENV/.hubstead-build-complete"
"""
PLANT_FIFO = """#!/bin/bash
mkfifo "$VIRTUAL_ENV/lib/pipe"
"""
LINK_LOCK = """#!/bin/bash
rm "$VIRTUAL_ENV/requirements.lock.txt"
ln -s ../../default/current/requirements.lock.txt "$VIRTUAL_ENV/requirements.lock.txt"
"""
POISON = """#!/bin/bash
# Append to every six.py this build can write outside its own environment.
count=0
while IFS= read -r file; do
    case "$file" in "$VIRTUAL_ENV"/*) continue;; esac
    echo 'print("POISONED by an earlier build")' >> "$file" && count=$((count + 1))
done < <(find / -xdev -name six.py -writable 2>/dev/null)
echo "poisoned $count files"
"""
PROBE = """#!/bin/bash
echo private > /dev/shm/hubstead-build-was-here
touch /run/lock/hubstead-build-was-here 2>/dev/null && echo "WROTE INTO /run/lock"
python - <<'PY'
import socket, urllib.error, urllib.request
for url in {urls!r}:
    try:
        answer = urllib.request.urlopen(url, timeout=5)
        print("REACHED", url, answer.status)
    except urllib.error.HTTPError as error:
        print("REFUSED" if error.code == 403 else "REACHED", url, error.code)
    except Exception as error:
        print("REFUSED", url, type(error).__name__)
for host, port in {direct!r}:
    sock = socket.socket()
    sock.settimeout(3)
    try:
        sock.connect((host, port))
        print("REACHED direct", host, port)
    except OSError as error:
        print("REFUSED direct", host, port, error)
# The same through the build's proxy on purpose (no_proxy would send it to its own loopback).
import os
os.environ.pop("no_proxy", None), os.environ.pop("NO_PROXY", None)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({{"http": os.environ["http_proxy"]}}))
try:
    print("REACHED via proxy", opener.open({via_proxy!r}, timeout=5).status)
except urllib.error.HTTPError as error:
    print("REFUSED via proxy" if error.code == 403 else "REACHED via proxy", error.code)
except Exception as error:
    print("FAILED via proxy", type(error).__name__, error)
print("PYPI", urllib.request.urlopen("https://pypi.org/simple/six/", timeout=30).status)
PY
"""
SLOW = "#!/bin/bash\necho sleeping\nsleep 300\n"


@pytest.fixture(scope="module")
def hub(installed_hub, tmp_path_factory):
    hub = installed_hub
    ip = hub.container.run("hostname -I").stdout.split()[0]
    urls = [f"http://127.0.0.1:{hub.hub_port}/hub/api/users", f"http://127.0.0.1:{hub.proxy_api_port}/api/routes",
            f"http://127.0.0.1:{hub.web_port}/services/hubstead/", f"http://127.0.0.1:{hub.port}/hub/api",
            f"http://localhost:{hub.hub_port}/hub/api", f"http://{ip}:{hub.port}/hub/api",
            "http://169.254.169.254/latest/meta-data/"]
    direct = [("127.0.0.1", hub.hub_port), ("127.0.0.1", hub.proxy_api_port), (ip, hub.port),
              ("169.254.169.254", 80)]
    repos = {
        "steal-spec": {"requirements.txt": TINY, "postBuild": STEAL_SPEC},
        "plant-marker": {"requirements.txt": TINY, "postBuild": PLANT_MARKER},
        "plant-fifo": {"requirements.txt": TINY, "postBuild": PLANT_FIFO},
        "link-lock": {"requirements.txt": TINY, "postBuild": LINK_LOCK},
        "poison": {"requirements.txt": "six==1.17.0\n", "postBuild": POISON},
        "victim": {"requirements.txt": "six==1.17.0\n" + TINY},
        "probe": {"requirements.txt": TINY, "postBuild": PROBE.format(
            urls=urls, direct=direct, via_proxy=f"http://127.0.0.1:{hub.hub_port}/hub/api/users")},
        "slow-a": {"requirements.txt": TINY, "postBuild": SLOW},
        "slow-b": {"requirements.txt": TINY, "postBuild": SLOW.replace("sleeping", "sleeping too")},
    }
    root = tmp_path_factory.mktemp("served")
    work = tmp_path_factory.mktemp("work")
    for name, files in repos.items():
        make_repo(work / name, files)
        publish(work / name, root, f"attacker/{name}")
    hub.container.run(f"echo shared > {SHARED_FILE} && chmod 0666 {SHARED_FILE}")
    before = envs(hub)
    with GitHTTPServer(root) as server:
        hubstead(hub, "config", "set", "binder.providers.gh.url", server.url)
        yield hub
    for name in sorted(envs(hub) - before):
        hubstead(hub, "env", "remove", name, "--yes")
    hub.container.run(f"rm -f {SHARED_FILE} /opt/hubstead/envs/.binder/* -r")


def envs(hub):
    return {item["name"] for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)}


def build(hub, name, *args, check=False):
    return hubstead(hub, "build", f"gh/attacker/{name}/main", *args, check=check, timeout=900)


def record_of(hub, name):
    listed = json.loads(hubstead(hub, "build", "list", "--json").stdout)
    return next(item for item in listed if item["repo"].endswith(f"/attacker/{name}"))


def log_of(hub, record):
    return hubstead(hub, "build", "logs", str(record["id"])).stdout


def test_a_linked_spec_keeps_the_repository_s_own_file_and_never_the_hub_token(hub):
    done = build(hub, "steal-spec")
    record = record_of(hub, "steal-spec")
    assert record["state"] == "succeeded", done.stdout + done.stderr
    prefix = f"/opt/hubstead/envs/{record['env']}/{record['build']}"
    assert hub.container.read_file(f"{prefix}/hubstead-spec-requirements.txt") == TINY
    token = hub.container.read_file(TOKEN_FILE).strip()
    found = hub.container.run(["grep", "-rlF", "--", token, "/opt/hubstead/envs"], check=False).stdout
    assert found == "", f"the hub's token was copied into: {found}"
    # Nothing outside the build changed hands or mode through the links it left.
    assert hub.container.run(["stat", "-c", "%U %a", "/var/lib/hubstead", SHARED_FILE]).stdout.split() == \
        ["root", "700", "root", "666"]
    assert hub.container.run(["find", prefix, "-not", "-user", "root", "-print", "-quit"]).stdout == ""


def test_a_planted_completion_marker_fails_the_build_and_root_writes_nothing_outside(hub):
    done = build(hub, "plant-marker")
    assert done.returncode == 1
    assert "a name Hubstead keeps for itself" in done.stderr
    assert not hub.container.path_exists("/etc/hubstead-planted")
    record = record_of(hub, "plant-marker")
    assert record["state"] == "failed" and record["env"] not in envs(hub)


@pytest.mark.parametrize("name, message", [("plant-fifo", "left a fifo at ./lib/pipe"),
                                           ("link-lock", "requirements.lock.txt is not a plain file")])
def test_fifos_and_linked_locks_fail_the_build_clearly(hub, name, message):
    done = build(hub, name)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert record_of(hub, name)["env"] not in envs(hub)


def test_a_build_cannot_poison_what_a_later_build_installs(hub):
    poisoned = build(hub, "poison")
    record = record_of(hub, "poison")
    assert record["state"] == "succeeded", poisoned.stderr
    log = log_of(hub, record)
    count = int(log.split("poisoned ", 1)[1].split()[0])
    assert count >= 1, "the attack found no cache to poison, so this test would prove nothing"
    victim = build(hub, "victim")
    victim_record = record_of(hub, "victim")
    assert victim_record["state"] == "succeeded", victim.stderr
    python = f"/opt/hubstead/envs/{victim_record['env']}/{victim_record['build']}/bin/python"
    imported = hub.container.run(["runuser", "-u", "nobody", "--", python, "-c", "import six; print(six.__version__)"])
    assert imported.stdout.strip() == "1.17.0"


def test_builds_reach_package_indexes_but_not_the_hub_the_machine_or_the_cloud(hub):
    build(hub, "probe")
    record = record_of(hub, "probe")
    log = log_of(hub, record)
    assert record["state"] == "succeeded", log
    assert "PYPI 200" in log
    reached = [line for line in log.splitlines() if line.startswith("REACHED")]
    assert reached == []
    assert log.count("REFUSED") == 12
    # What went to the egress proxy (the rest met the sandbox's own empty loopback) is
    # refused there, and the log says so.
    assert f"network: refused {hub.container.run('hostname -I').stdout.split()[0]}:{hub.port} is this machine" in log
    assert "network: refused 169.254.169.254:80 is a link-local address" in log
    assert f"network: refused 127.0.0.1:{hub.hub_port} is this machine" in log
    assert "network: refused the request" not in log
    # The build's /dev/shm was its own.
    assert not hub.container.path_exists("/dev/shm/hubstead-build-was-here")
    assert "WROTE INTO /run/lock" not in log and not hub.container.path_exists("/run/lock/hubstead-build-was-here")


def test_builds_beyond_max_concurrent_builds_wait_in_a_queue(hub):
    hubstead(hub, "config", "set", "binder.max_concurrent_builds", "1")
    try:
        build(hub, "slow-a", "--detach", check=True)
        first = record_of(hub, "slow-a")
        build(hub, "slow-b", "--detach", check=True)
        second = record_of(hub, "slow-b")
        listed = json.loads(hubstead(hub, "build", "list", "--json").stdout)
        waiting = next(item for item in listed if item["id"] == second["id"])
        assert waiting["state"] == "queued" and waiting["queue_position"] == 1
        assert "number 1 in the queue" in hubstead(hub, "build", "list").stdout
        assert "waiting for a build slot" in log_of(hub, second)
        time.sleep(5)
        assert record_of(hub, "slow-b")["state"] == "queued"  # still waiting while slow-a runs
        hubstead(hub, "build", "cancel", str(first["id"]))
        deadline = time.monotonic() + 60
        while record_of(hub, "slow-b")["state"] == "queued" and time.monotonic() < deadline:
            time.sleep(1)
        assert record_of(hub, "slow-b")["state"] == "running"
    finally:
        for item in json.loads(hubstead(hub, "build", "list", "--json").stdout):
            if item["state"] in ("queued", "running"):
                hubstead(hub, "build", "cancel", str(item["id"]), check=False)
        hubstead(hub, "config", "unset", "binder.max_concurrent_builds")
