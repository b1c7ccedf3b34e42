#!/usr/bin/env python3
"""Workshop rush benchmark: N roster learners log in and run a cell at the same moment.

    sudo .venv/bin/python benchmarks/workshop.py [--sizes 25,50,100] [--starts default,1000] [--output FILE]

Boots a fresh Debian machine (systemd-nspawn, tests/harness), installs Hubstead the
README's way, and for each N: imports a roster of N (`hubstead user import`), then
releases N learners at once (tests/harness/rush.py, one thread each, traffic to
127.0.0.1 only): each logs in with the sheet's password, starts a server in the
default environment as the Start button does (GET /hub/spawn, then the spawn-pending
page's progress stream; a "wait" page is obeyed), loads JupyterLab, starts a kernel
and runs a cell. Reports, as a table and JSON:

- p50 / p95 / max seconds from login to the cell's result; failures by kind;
  the hub's answers by status (429 = told to wait, 5xx);
- the hub's and the proxy's CPU seconds during the rush and their peak RSS;
- CPU seconds one spawn costs: the whole machine's (every cgroup of the container)
  CPU during one learner's flow alone, minus the idle rate, measured in the same run;
- the floor = N x CPU-s per spawn / cores, and p95 / floor (goal <= 1.5);
- memory per idle learner: their servers' RSS and PSS once idle (goal <= 120 MB).

--starts compares values of limits.concurrent_starts at each size in the same run
(the hub reloaded between them): 1000 lets every learner start at once, as before the
start queue (hubstead.hub.startqueue).

The machine is shared (other people's tests may run on the same cores), so the load
average is recorded and the floor is measured in the same run as the rush.
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness import rush  # noqa: E402
from tests.harness.container import Container, ensure_base_rootfs  # noqa: E402
from tests.harness.hub import install_hub, wait_for_http  # noqa: E402
from tests.harness.hubclient import _run_in_kernel  # noqa: E402

import requests  # noqa: E402
import websocket  # noqa: E402  (websocket-client)

GOALS = {"failures": 0, "p95_over_floor": 1.5, "idle_learner_pss_mb": 120}
# Runs inside the machine: CPU and memory of its cgroups and of the hub's processes.
PROBE = r"""
import glob, json, os, subprocess, sys
# cgroup v2's CPU accounting: the whole tree on a unified host, its unified part on a hybrid one
ROOT = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
def usec(path):
    try:
        for line in open(os.path.join(path, "cpu.stat")):
            if line.startswith("usage_usec"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0
def unit(name):
    out = subprocess.run(["systemctl", "show", "-p", "ControlGroup,MainPID", name], capture_output=True, text=True).stdout
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return ROOT + props.get("ControlGroup", ""), int(props.get("MainPID") or 0)
def status(pid, key):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
def pss(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
result = {"machine_cpu_us": usec(ROOT),  # the machine's (container's) own cgroup: all of its CPU
          "loadavg": open("/proc/loadavg").read().split()[:3]}
for key, name in (("hub", "jupyterhub"), ("proxy", "configurable-http-proxy")):
    path, pid = unit(name)
    if "reset" in sys.argv and pid:
        open(f"/proc/{pid}/clear_refs", "w").write("5")  # peak RSS starts again from now
    result[key] = {"cpu_us": usec(path), "rss": status(pid, "VmRSS"), "peak_rss": status(pid, "VmHWM")}
servers = []
for path in glob.glob(ROOT + "/**/jupyter-*-singleuser.service", recursive=True):
    pids = [int(p) for p in open(path + "/cgroup.procs").read().split()]
    servers.append({"unit": os.path.basename(path), "rss": sum(status(p, "VmRSS") for p in pids),
                    "pss": sum(pss(p) for p in pids),
                    "cpu_us": usec(path)})
result["servers"] = servers
print(json.dumps(result))
"""


def probe(container, reset=False):
    done = container.run(["python3", "-c", PROBE, *(["reset"] if reset else [])], timeout=120)
    return json.loads(done.stdout)


def idle_cpu_rate(container, seconds=5.0):
    """Machine CPU seconds per second with nothing happening (services' timers, the culler)."""
    before, started = probe(container), time.monotonic()
    time.sleep(seconds)
    after = probe(container)
    return (after["machine_cpu_us"] - before["machine_cpu_us"]) / 1e6 / (time.monotonic() - started)


def cpu_per_spawn(container, url, passwords):
    """Machine CPU seconds of one learner's whole flow with the machine otherwise idle."""
    rate, costs, alone = idle_cpu_rate(container), [], []
    for name, secret in passwords.items():  # one after the other: each alone on the machine
        before, started = probe(container), time.monotonic()
        outcomes = rush.rush(url, {name: secret}, timeout=300)
        after, elapsed = probe(container), time.monotonic() - started
        rush.stop_all(outcomes)
        if outcomes[0].failure:
            raise SystemExit(f"the isolated spawn failed: {outcomes[0].failure}: {outcomes[0].detail}")
        costs.append((after["machine_cpu_us"] - before["machine_cpu_us"]) / 1e6 - rate * elapsed)
        alone.append(outcomes[0].seconds)
    return statistics.mean(costs), statistics.mean(alone)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else None


def set_concurrent_starts(hub, value):
    """limits.concurrent_starts for the next rush ("default": unset), and the hub reloaded."""
    if value == "default":
        hub.container.run(["hubstead", "config", "unset", "limits.concurrent_starts"], check=False)
    else:
        hub.container.run(["hubstead", "config", "set", "limits.concurrent_starts", value])
    hub.container.run(["hubstead", "config", "reload", "hub"], timeout=600)
    wait_for_http(f"{hub.url}/hub/api", 180)


def one_size(container, url, size, cores):
    """One rush of `size` learners, with its own floor measured just before."""
    floor_names = [f"wsfloor{size}-{index}" for index in range(2)]
    spawn_cpu, alone = cpu_per_spawn(container, url, rush.import_roster(container, floor_names))
    names = [f"ws{size}-{index:03d}" for index in range(size)]
    passwords = rush.import_roster(container, names)
    before = probe(container, reset=True)
    client_before, started = os.times(), time.monotonic()
    outcomes = rush.rush(url, passwords, timeout=600)
    wall = time.monotonic() - started
    client = sum(os.times()[:2]) - sum(client_before[:2])
    after = probe(container)
    time.sleep(20)  # idle: kernels shut down, JupyterLab's page loaded and nothing more
    idle = probe(container)
    busy = busy_learners(container, [o for o in outcomes if o.failure is None][:BUSY_SAMPLE])
    rush.stop_all(outcomes)
    rush.remove_users(container, names + floor_names)
    row = summarise(size, cores, outcomes, wall, spawn_cpu, alone, before, after, idle, client)
    row["busy_learner_pss_mb"] = busy
    row["failure_journal"] = rush.journal_about(container, [o.name for o in outcomes if o.failure], wall)
    return row


BUSY_SAMPLE = 5
BUSY_CELL = "data = list(range(10**6)); sum(data)"  # a learner's kernel holding some data


def busy_learners(container, outcomes):
    """Mean PSS (MB) of servers whose learner has a kernel open that ran BUSY_CELL."""
    opened = [open_kernel(outcome.user, BUSY_CELL) for outcome in outcomes]
    time.sleep(5)
    units = {f"jupyter-{outcome.name}-singleuser.service" for outcome in outcomes}
    pss = [server["pss"] for server in probe(container)["servers"] if server["unit"] in units]
    for kernel_url, headers in opened:
        requests.delete(kernel_url, headers=headers, timeout=60)
    return _round(statistics.mean(pss) / 2**20) if pss else None


def open_kernel(user, code):
    """Start a kernel on the user's server and run `code` in it; the kernel stays, holding
    its data, as an open notebook's does. Returns (kernel URL, headers) to delete it."""
    headers = {"Authorization": f"token {user.token}"}
    started = requests.post(user.server_url("api/kernels"), json={}, headers=headers, timeout=60).json()
    kernel_url = user.server_url(f"api/kernels/{started['id']}")
    session = uuid.uuid4().hex
    channels = websocket.create_connection(re.sub(r"^http", "ws", kernel_url) + f"/channels?session_id={session}",
                                           header=[f"Authorization: {headers['Authorization']}"], timeout=60)
    try:
        _run_in_kernel(channels, session, code, time.monotonic() + 120, 120)
    finally:
        channels.close()
    return kernel_url, headers


def summarise(size, cores, outcomes, wall, spawn_cpu, alone, before, after, idle, client_cpu):
    times = [o.seconds for o in outcomes if o.failure is None]
    statuses = Counter()
    for outcome in outcomes:
        statuses.update(outcome.statuses)
    floor = size * spawn_cpu / cores
    servers = idle["servers"]
    row = {"n": size, "ok": len(times), "failures": dict(Counter(o.failure for o in outcomes if o.failure)),
           "failure_examples": [o.detail for o in outcomes if o.failure][:3],
           "p50_s": _round(statistics.median(times) if times else None), "p95_s": _round(percentile(times, 0.95)),
           "max_s": _round(max(times) if times else None), "wall_s": _round(wall), "alone_s": _round(alone),
           "answers_429": statuses.get(429, 0), "answers_5xx": sum(v for k, v in statuses.items() if k >= 500),
           "waited_pages": sum(o.waited_pages for o in outcomes),
           "told_their_place": sum(any("ahead of you" in m for m in o.messages) for o in outcomes),
           "cpu_s_per_spawn": _round(spawn_cpu), "floor_s": _round(floor),
           "p95_over_floor": _round(percentile(times, 0.95) / floor if times and floor > 0 else None),
           "loadavg_after": after["loadavg"], "client_cpu_s": _round(client_cpu)}
    for key in ("hub", "proxy"):
        row[f"{key}_cpu_s"] = _round((after[key]["cpu_us"] - before[key]["cpu_us"]) / 1e6)
        row[f"{key}_peak_rss_mb"] = _round(after[key]["peak_rss"] / 2**20)
    row["servers_idle"] = len(servers)
    row["idle_learner_rss_mb"] = _round(statistics.mean(s["rss"] for s in servers) / 2**20 if servers else None)
    row["idle_learner_pss_mb"] = _round(statistics.mean(s["pss"] for s in servers) / 2**20 if servers else None)
    return row


def _round(value):
    return None if value is None else round(value, 2)


COLUMNS = ("n", "concurrent_starts", "ok", "p50_s", "p95_s", "max_s", "wall_s", "floor_s", "p95_over_floor", "cpu_s_per_spawn",
           "answers_429", "answers_5xx", "hub_cpu_s", "hub_peak_rss_mb", "proxy_cpu_s", "proxy_peak_rss_mb",
           "idle_learner_pss_mb", "idle_learner_rss_mb", "busy_learner_pss_mb", "told_their_place")


def print_table(rows):
    print(" ".join(f"{name:>10.10s}" for name in COLUMNS))
    for row in rows:
        print(" ".join(f"{str(row.get(name)):>10.10s}" for name in COLUMNS))
        if row["failures"]:
            print(f"   failures: {row['failures']}; e.g. {row['failure_examples'][:1]}")
            for line in row.get("failure_journal", [])[-5:]:
                print(f"   journal: {line[:200]}")
        print(f"   load average after: {' '.join(row['loadavg_after'])}; client CPU {row['client_cpu_s']} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,50,100", help="comma-separated numbers of learners")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "workshop.json")
    parser.add_argument("--starts", default="default", help="comma-separated limits.concurrent_starts to compare "
                        "at each size, e.g. default,1000 (1000: every learner starts at once, as before the queue)")
    parser.add_argument("--label", default="", help="a note kept in the JSON (what this run measures)")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    cores = len(os.sched_getaffinity(0))
    results = {"machine": {"cpus": cores, "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf(
        "SC_PAGE_SIZE") / 2**30, 1), "python": platform.python_version(), "loadavg_start": os.getloadavg()},
        "label": options.label, "goals": GOALS, "rows": []}
    with Container(ensure_base_rootfs("bookworm")) as container:
        hub = install_hub(container, echo=False)
        options.output.parent.mkdir(parents=True, exist_ok=True)
        current = "default"  # what the fresh install has
        for size in sizes:
            for starts in options.starts.split(","):
                if starts != current:
                    set_concurrent_starts(hub, starts)
                    current = starts
                results["rows"].append({"concurrent_starts": starts, **one_size(container, hub.url, size, cores)})
                print_table(results["rows"][-1:])
                # After each rush: a long run keeps its rows.
                options.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results["rows"])
    print(f"written to {options.output}")


if __name__ == "__main__":
    main()
