#!/usr/bin/env python3
"""Install benchmarks: fresh install, no-op re-run, spawn latency.

    sudo .venv/bin/python benchmarks/install.py [--spawns 7] [--output FILE] [--warm-only]

Each run boots fresh Debian machines (systemd-nspawn, see tests/harness) and runs
the README's install in them:

- fresh install, cold: no host caches bound, every .deb and wheel downloaded,
  from `bootstrap.py` start to the hub answering /hub/api;
- fresh install, warm: apt's archive and uv's cache bound from the host, as a
  re-provisioned VM with a package mirror nearby would see it;
- no-op re-run: the same command again on the installed machine;
- spawn latency: request to ready, over several start/stop cycles (p50, min, max).

Goals (issue 3): fresh install < 180 s, no-op re-run < 20 s, spawn p50 < 3 s.
Prints the numbers and writes them to JSON (default benchmarks/results/install.json).
"""

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.container import Container, ensure_base_rootfs  # noqa: E402
from tests.harness.hub import install_command, install_hub, wait_for_http  # noqa: E402
from tests.harness.hubclient import HubUser  # noqa: E402

GOALS = {"fresh_install_s": 180, "noop_rerun_s": 20, "spawn_p50_s": 3}


def fresh_install(rootfs, cache):
    """Seconds from the install command's start to /hub/api answering."""
    with Container(rootfs, cache=cache) as container:
        started = time.monotonic()
        hub = install_hub(container, echo=False)
        wait_for_http(f"{hub.url}/hub/api", timeout=60)
        return time.monotonic() - started


def noop_and_spawns(rootfs, spawns):
    with Container(rootfs, cache=True) as container:
        hub = install_hub(container, echo=False)
        started = time.monotonic()
        rerun = container.run(install_command(hub.port, hub.hub_port, hub.proxy_api_port, hub.web_port),
                              timeout=600)
        noop = time.monotonic() - started
        if "Nothing changed" not in rerun.stderr:
            raise SystemExit(f"the re-run changed something:\n{rerun.stderr}")
        user = HubUser(hub.url)
        user.signup("alice", "Correct-Horse-42")
        user.login("alice", "Correct-Horse-42")
        user.create_token("benchmark")
        latencies = []
        for _ in range(spawns):
            latencies.append(user.start_server(timeout=180))
            user.stop_server(timeout=120)
        return noop, latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=7)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "install.json")
    parser.add_argument("--warm-only", action="store_true", help="skip the cold (uncached) install")
    options = parser.parse_args()
    rootfs = ensure_base_rootfs("bookworm")
    results = {"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
               "goals": GOALS}
    if not options.warm_only:
        results["fresh_install_cold_s"] = round(fresh_install(rootfs, cache=False), 1)
        print(f"fresh install, cold caches: {results['fresh_install_cold_s']} s", flush=True)
    results["fresh_install_warm_s"] = round(fresh_install(rootfs, cache=True), 1)
    print(f"fresh install, warm caches: {results['fresh_install_warm_s']} s", flush=True)
    noop, latencies = noop_and_spawns(rootfs, options.spawns)
    results["noop_rerun_s"] = round(noop, 1)
    results["spawn_s"] = {"p50": round(statistics.median(latencies), 2), "min": round(min(latencies), 2),
                          "max": round(max(latencies), 2), "first": round(latencies[0], 2),
                          "all": [round(value, 2) for value in latencies]}
    print(f"no-op re-run: {results['noop_rerun_s']} s")
    print(f"spawn request->ready over {len(latencies)} spawns: p50 {results['spawn_s']['p50']} s "
          f"(first {results['spawn_s']['first']} s, min {results['spawn_s']['min']} s, "
          f"max {results['spawn_s']['max']} s)")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {options.output}")


if __name__ == "__main__":
    main()
