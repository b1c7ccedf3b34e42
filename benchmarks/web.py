#!/usr/bin/env python3
"""The instructors' page with a class: `GET api/servers` and the page's HTML under load.

    sudo .venv/bin/python benchmarks/web.py [--users 200] [--servers 50] [--runs 50] [--output FILE]

Boots a fresh Debian container (tests/harness), installs Hubstead, imports a roster of
USERS accounts, starts SERVERS of them as real SystemdSpawner servers (through the hub's
REST API, in batches), then times RUNS requests each of

- `GET /services/hubstead/api/servers` with an admin's API token (as a script calls it),
- `GET /services/hubstead/` (the instructors' page) with an admin's login cookie,

from the host over the loopback network (so each time is the server's time plus a
loopback round trip). Reports p50, p95 and max in ms. Goal: p95 < 300 ms each. Prints a
table and writes JSON (default benchmarks/results/web.json); exits 1 when a goal is missed.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
GOAL_MS = 300
BATCH = 10
SPAWN_TIMEOUT = 600


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(timings):
    return {"p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1),
            "max_ms": round(max(timings), 1), "runs": len(timings)}


def timed_gets(get, runs):
    get()  # warm-up: caches, the first OAuth round
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = get()
        timings.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"GET {answer.url} answered {answer.status_code}: {answer.text[:300]}")
    return timings


def ready_servers(api, headers):
    """Names of the users whose default server is ready (one listing; a slow hub is asked again)."""
    try:
        listing = requests.get(api, headers=headers, timeout=120)
    except requests.RequestException:
        return None
    return {user["name"] for user in listing.json() if (user.get("servers") or {}).get("", {}).get("ready")}


def start_servers(hub_url, token, names):
    """Start the servers of NAMES (BATCH at a time) and wait until all are ready."""
    headers = {"Authorization": f"token {token}"}
    api = hub_url.rstrip("/") + "/hub/api/users"
    for first in range(0, len(names), BATCH):
        batch = names[first:first + BATCH]
        for name in batch:
            answer = requests.post(f"{api}/{name}/server", headers=headers, timeout=120)
            if answer.status_code not in (201, 202):
                raise SystemExit(f"starting {name}'s server answered {answer.status_code}: {answer.text[:200]}")
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while not set(batch) <= (ready_servers(api, headers) or set()):
            if time.monotonic() > deadline:
                raise SystemExit(f"servers of {batch} not all ready after {SPAWN_TIMEOUT} s")
            time.sleep(3)
        print(f"  {first + len(batch)} servers running", flush=True)


def run(options):
    sys.path.insert(0, str(REPO))
    from tests.harness.container import Container
    from tests.harness.hub import install_hub
    from tests.harness.hubclient import HubUser

    with Container() as container:
        url = install_hub(container, echo=False).url
        roster = "username\n" + "".join(f"bench{n:03d}\n" for n in range(options.users))
        container.write_file("/root/roster.csv", roster)
        container.run(["hubstead", "user", "import", "/root/roster.csv", "--sheet", "/root/sheet.csv"])
        password = container.run(["hubstead", "user", "add", "benchadmin", "--admin"]).stdout.strip()
        admin = HubUser(url)
        admin.login("benchadmin", password)
        token = admin.create_token("benchmark")
        names = [f"bench{n:03d}" for n in range(options.servers)]
        started = time.perf_counter()
        start_servers(url, token, names)
        spawn_seconds = time.perf_counter() - started
        service = url.rstrip("/") + "/services/hubstead/"
        servers = requests.get(service + "api/servers", headers={"Authorization": f"token {token}"}, timeout=60)
        listed = len(servers.json())
        if listed < options.servers:
            raise SystemExit(f"api/servers lists {listed} servers, not {options.servers}")
        api_times = timed_gets(lambda: requests.get(service + "api/servers", timeout=60,
                                                    headers={"Authorization": f"token {token}"}), options.runs)
        page_times = timed_gets(lambda: admin.http.get(service, timeout=60), options.runs)
    return {"api_servers": summary(api_times), "page": summary(page_times), "servers_listed": listed,
            "spawn_seconds": round(spawn_seconds, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "web.json")
    options = parser.parse_args()
    measured = run(options)
    results = {"users": options.users, "servers": options.servers, **measured,
               "machine": {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)},
               "goals": {"p95_ms": GOAL_MS}}
    results["goal_met"] = all(results[key]["p95_ms"] < GOAL_MS for key in ("api_servers", "page"))
    print(f"{'request':<28}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for key, label in (("api_servers", "GET api/servers"), ("page", "GET /services/hubstead/")):
        row = results[key]
        print(f"{label:<28}{row['p50_ms']:>10}{row['p95_ms']:>10}{row['max_ms']:>10}")
    print(f"{options.users} users, {results['servers_listed']} running servers "
          f"(started in {results['spawn_seconds']} s); goal p95 < {GOAL_MS} ms: "
          f"{'met' if results['goal_met'] else 'MISSED'}")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    sys.exit(0 if results["goal_met"] else 1)


if __name__ == "__main__":
    main()
