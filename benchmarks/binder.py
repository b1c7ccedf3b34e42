#!/usr/bin/env python3
"""Binder benchmarks: cold build of each fixture repository, and cached relaunch.

    sudo .venv/bin/python benchmarks/binder.py [--relaunches 5] [--output FILE]

Boots a fresh Debian machine (systemd-nspawn, tests/harness), installs Hubstead the
README's way, serves the fixture repositories from this machine (git smart HTTP on
127.0.0.1; the hub's `gh` provider points at it) and measures:

- cold build, per fixture: `hubstead build gh/owner/NAME/main` wall time on a machine
  whose builder has never downloaded anything (its uv and conda caches are new; only
  the install's own caches come from the host). The shared fixtures are
  ../shared/data/binder-repos/{requirements,apt_install,conda}; `conda` needs
  conda-forge, which this network cannot reach, so its row records the refusal, and
  `conda-local` stands in: an environment.yml against a channel built in the machine;
  `runtime-start` is a repository with only runtime.txt and a start script (issue 11:
  it builds an environment of the server packages on that Python).
- cached relaunch: a logged-in user opens the launch link of a built repository, with
  the user's server stopped before each run (a student who comes back the next day),
  until JupyterLab answers on the notebook: measured twice, over HTTP (the launch
  page's own calls, the content's pull, the landing page answering 200) and in
  Chromium (headless, Debian's: navigation to the notebook's panel showing).

Goals (issue 6): cached relaunch < 5 s; cold build of the requirements fixture < 90 s.
Prints the numbers and writes them to JSON (default benchmarks/results/binder.json).
"""

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.container import Container, ensure_base_rootfs  # noqa: E402
from tests.harness.gitserver import BINDER_FIXTURES, GitHTTPServer, copy_tree, make_repo, publish  # noqa: E402
from tests.harness.hub import install_hub  # noqa: E402
from tests.harness.hubclient import HubUser  # noqa: E402

GOALS = {"cached_relaunch_p50_s": 5, "cold_build_requirements_s": 90}
FIXTURES = ("requirements", "apt_install", "conda")
LOCAL_CONDA = {"environment.yml": "channels: [conda-forge]\ndependencies:\n  - python=3.11\n"
                                  "  - hubstead-test-hello\n  - pip:\n    - pyfiglet==1.0.2\n",
               "index.ipynb": (BINDER_FIXTURES / "requirements" / "index.ipynb").read_text()}
RUNTIME_START = {"runtime.txt": "python-3\n", "start": "#!/bin/bash\nexport COURSE=1\nexec \"$@\"\n",
                 "index.ipynb": LOCAL_CONDA["index.ipynb"]}
MADE = {"conda-local": LOCAL_CONDA, "runtime-start": RUNTIME_START}


def serve_fixtures(root, work):
    for name in FIXTURES:
        copy_tree(BINDER_FIXTURES / name, work / name)
        make_repo(work / name, {})
        publish(work / name, root, f"owner/{name}")
    for name, files in MADE.items():
        make_repo(work / name, files)
        publish(work / name, root, f"owner/{name}")
    return GitHTTPServer(root).start()


def hubstead(container, *args, check=True, timeout=1800):
    return container.run(["hubstead", *args], check=check, timeout=timeout)


def cold_build(container, name):
    started = time.perf_counter()
    done = hubstead(container, "build", f"gh/owner/{name}/main", check=False)
    seconds = time.perf_counter() - started
    records = json.loads(hubstead(container, "build", "list", "--json").stdout)
    record = next(item for item in records if item["repo"].endswith(f"/owner/{name}"))
    row = {"fixture": name, "seconds": round(seconds, 1), "state": record["state"], "message": record["message"],
           "env": record["env"], "exit_code": done.returncode}
    print(f"cold build {name:14s} {seconds:6.1f} s  {record['state']}: {record['message'][:100]}", flush=True)
    return row


def prepare_local_channel(container):
    container.run(["python3", "/src/tests/harness/conda_channel.py", "/srv/conda/conda-forge",
                   "--python", "/usr/bin/python3", "--indexer", "stdlib"], timeout=600)


LINK = "v2/gh/owner/requirements/main?urlpath=lab/tree/index.ipynb"


def relaunch_over_http(hub, user, count):
    """Seconds from opening the link to the landing page answering, as the page's calls."""
    from tests.harness.launchclient import LaunchSession

    session, times = LaunchSession(user), []
    for _ in range(count):
        user.stop_server()
        started = time.perf_counter()
        launched = session.launch(session.open(LINK))
        session.pull(launched.redirect)
        landed = session.land(launched.redirect)
        times.append(time.perf_counter() - started)
        assert landed.status_code == 200 and "JupyterLab" in landed.text, landed.url
    return times


def relaunch_in_browser(hub, user, password, count):
    """Seconds from navigating to the link to the notebook's panel showing, in Chromium."""
    from tests.harness.browserlaunch import time_launches

    user.stop_server()
    return time_launches(hub.url, user.username, password, LINK, "index.ipynb", runs=count,
                         before_each=user.stop_server)


def report(name, times):
    print(f"cached relaunch ({name}): p50 {statistics.median(times):.2f} s, min {min(times):.2f}, "
          f"max {max(times):.2f} ({len(times)} runs)", flush=True)
    return {f"cached_relaunch_{name}_s": [round(value, 2) for value in times],
            f"cached_relaunch_{name}_p50_s": round(statistics.median(times), 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relaunches", type=int, default=5)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "binder.json")
    options = parser.parse_args()
    results = {"machine": {"cpus": len(__import__("os").sched_getaffinity(0)), "python": platform.python_version()},
               "goals": GOALS}
    rootfs = ensure_base_rootfs("bookworm")
    with tempfile.TemporaryDirectory(prefix="hubstead-bench-binder-") as scratch:
        server = serve_fixtures(Path(scratch) / "served", Path(scratch) / "work")
        try:
            with Container(rootfs) as container:
                hub = install_hub(container, echo=False)
                hubstead(container, "config", "set", "binder.providers.gh.url", server.url)
                prepare_local_channel(container)
                # The local channel stands in for conda-forge only for conda-local: the conda
                # fixture's row records what a hub without conda-forge says.
                results["cold_builds"] = [cold_build(container, name) for name in FIXTURES]
                hubstead(container, "config", "set", "envs.channel_alias", "file:///srv/conda/")
                results["cold_builds"] += [cold_build(container, name) for name in MADE]
                password = hubstead(container, "user", "add", "student").stdout.strip()
                user = HubUser(hub.url)
                user.login("student", password)
                user.create_token("benchmark")
                results.update(report("http", relaunch_over_http(hub, user, options.relaunches)))
                results.update(report("browser", relaunch_in_browser(hub, user, password, options.relaunches)))
                results["cached_relaunch_p50_s"] = max(results["cached_relaunch_http_p50_s"],
                                                       results["cached_relaunch_browser_p50_s"])
        finally:
            server.stop()
    requirements = next(row for row in results["cold_builds"] if row["fixture"] == "requirements")
    results["cold_build_requirements_s"] = requirements["seconds"]
    results["meets_goals"] = {key: results.get(key) is not None and results[key] < goal
                              for key, goal in GOALS.items()}
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {options.output}")


if __name__ == "__main__":
    main()
