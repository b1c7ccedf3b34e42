#!/usr/bin/env python3
"""Limits benchmark (issue 13): what per-group limits and disk quotas cost.

    sudo .venv/bin/python benchmarks/limits.py [--part spawn|quota|all] [--rounds 3] [--users 200]

spawn: on a container hub (installed as the e2e fixtures do), the time from asking for
  a server to its being ready, with limits off (the defaults) and on (limits.memory,
  .cpu, .tasks, .memory_guarantee and a group's limits over them, its members spawning),
  alternating off/on for ROUNDS rounds in the same run. Goal: "on" under 10% slower.
  Disk quotas: the containers' filesystem keeps none, so `limits.disk` is tried and the
  refusal is printed and recorded instead of a number (the host's kernel here has no
  quota support at all: CONFIG_QUOTA is off, so an ext4 loop image cannot be used either).
quota: in the test VM (tests/harness/vm.py: its own kernel, / is ext4 with quotas),
  the time to set the disk quota of USERS accounts with hubstead's own code
  (hubstead.limits.quota.apply: one `setquota -b` batch), and, for comparison, one
  setquota per account. Under software emulation: a real machine is several times faster.
Prints a table and writes JSON (default benchmarks/results/limits.json).
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "installer")]

from tests.harness.container import Container  # noqa: E402
from tests.harness.hub import install_hub, wait_for_http  # noqa: E402
from tests.harness.hubcli import hubstead, new_user  # noqa: E402

GOAL = 1.10
LIMITS_ON = {"limits.memory": "1G", "limits.cpu": "1", "limits.tasks": "512",
             "limits.memory_guarantee": "256M", "limits.groups.benchlim.memory": "2G",
             "limits.groups.benchlim.cpu": "2"}
SPAWNERS = ("benchlim1", "benchlim2")


def set_limits(hub, on):
    for key, value in LIMITS_ON.items():
        if on:
            hubstead(hub, "config", "set", key, value)
        else:
            hubstead(hub, "config", "unset", key, check=False)
    hubstead(hub, "config", "reload", "hub")
    # The proxy answers 503 for the hub's API until the restarted hub is up again.
    wait_for_http(f"{hub.url}/hub/api", 180)


def spawn_times(users):
    times = []
    for user in users:
        times.append(user.start_server(timeout=300))
        user.stop_server(timeout=120)
    return times


def spawn_part(rounds):
    """Spawn latency with limits off and on, alternating, on one container hub."""
    with Container() as container:
        hub = install_hub(container, echo=False)
        hubstead(hub, "group", "add", "benchlim")
        users = [new_user(hub, name) for name in SPAWNERS]
        for name in SPAWNERS:
            hubstead(hub, "group", "add-user", "benchlim", name)
        spawn_times(users)  # warm-up: first spawns compile and fill caches
        samples = {"off": [], "on": []}
        for _ in range(rounds):
            for mode in ("off", "on"):
                set_limits(hub, mode == "on")
                samples[mode] += spawn_times(users)
        refused = hubstead(hub, "config", "set", "limits.disk", "1G", check=False)
        if refused.returncode == 0:
            hubstead(hub, "config", "reload", "hub", check=False)
            disk = {"applied": True, "note": refused.stdout.strip()}
        else:
            disk = {"applied": False, "refusal": (refused.stderr or refused.stdout).strip()}
    median = {mode: statistics.median(values) for mode, values in samples.items()}
    return {"samples_s": samples, "median_s": median, "ratio": median["on"] / median["off"],
            "goal_ratio": GOAL, "disk_quota": disk}


QUOTA_SCRIPT = """
import sys, time
from hubstead.limits import quota
found = quota.support()
if found.refusal:
    sys.exit(f"no quotas here: {found.refusal}")
accounts = {f"benchq{n:03d}": "1G" for n in range(int(sys.argv[1]))}
started = time.monotonic()
quota.apply(found, accounts)
batch = time.monotonic() - started
started = time.monotonic()
for account in accounts:
    quota.run(["setquota", "-u", account, "1048576", "1048576", "0", "0", found.mountpoint])
print(batch, time.monotonic() - started)
"""


def quota_part(users):
    """Time to apply USERS disk quotas in the VM, batch and one by one."""
    from tests.harness.vm import VM
    from tests.harness.vmimage import ensure_vm_image

    with VM(ensure_vm_image()) as vm:
        # One useradd each: newusers asks PAM for every empty password, which Debian 12 refuses.
        names = "".join(f"benchq{n:03d}\n" for n in range(users))
        vm.run(["xargs", "-n", "1", "useradd", "-M", "-N", "-s", "/usr/sbin/nologin"], input=names, timeout=1800)
        vm.run(["sh", "-c", "quotaon -p / | grep -q 'user quota on / .* is on' || quotaon -u /"])
        out = vm.run(["/opt/hubstead/hub/bin/python", "-c", QUOTA_SCRIPT, str(users)], timeout=1800)
        batch, one_by_one = (float(value) for value in out.stdout.split())
    return {"users": users, "batch_s": round(batch, 2), "one_by_one_s": round(one_by_one, 2),
            "where": "test VM under QEMU software emulation"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("spawn", "quota", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/limits.json")
    options = parser.parse_args()
    results = {}
    options.output.parent.mkdir(parents=True, exist_ok=True)
    if options.part in ("spawn", "all"):
        results["spawn"] = spawn_part(options.rounds)
        options.output.write_text(json.dumps(results, indent=2) + "\n")  # kept if the next part fails
    if options.part in ("quota", "all"):
        results["quota"] = quota_part(options.users)
    print(f"{'measure':<52}{'value':>12}")
    if "spawn" in results:
        spawn = results["spawn"]
        print(f"{'spawn, limits off (median of ' + str(len(spawn['samples_s']['off'])) + ')':<52}"
              f"{spawn['median_s']['off']:>10.2f} s")
        print(f"{'spawn, limits on (median)':<52}{spawn['median_s']['on']:>10.2f} s")
        verdict = "meets" if spawn["ratio"] < GOAL else "MISSES"
        print(f"{'on / off (goal < ' + str(GOAL) + ', ' + verdict + ')':<52}{spawn['ratio']:>12.3f}")
        disk = spawn["disk_quota"]
        print("disk quotas on the container hub: " + ("applied" if disk["applied"] else
                                                     f"not possible here: {disk['refusal']}"))
    if "quota" in results:
        quota = results["quota"]
        print(f"{'quotas for ' + str(quota['users']) + ' users, one batch (VM, emulated)':<52}"
              f"{quota['batch_s']:>10.2f} s")
        print(f"{'quotas for ' + str(quota['users']) + ' users, one setquota each':<52}{quota['one_by_one_s']:>10.2f} s")
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {options.output}")


if __name__ == "__main__":
    main()
