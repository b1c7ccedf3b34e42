#!/usr/bin/env python3
"""CLI start-up benchmark: how long `hubstead --help` takes, and what it imports.

    .venv/bin/python benchmarks/cli.py [--runs 20] [--python PATH] [--output FILE]

Runs `PYTHON -m hubstead.cli --help` RUNS times (after one discarded warm-up run that
writes the bytecode caches) and reports the wall time's p50 and max in ms. By default
it measures the checkout (PYTHONPATH=installer, the test venv's .venv/bin/python);
with --python it measures that interpreter's installed hubstead instead, e.g.
`--python /opt/hubstead/hub/bin/python` on an installed machine.

It also lists the heavy modules (HEAVY) that `--help` loaded: there should be none,
since every command module imports its dependencies inside the function that needs
them. Goal: p50 < 150 ms. Exits 1 when the goal is missed or a heavy module loads.

With --import-rows N (as root), it also boots a fresh Debian container (tests/harness),
installs Hubstead in it, and times `hubstead user import` of an N-row roster there
(default goal: 200 rows in a few seconds), plus the installed `hubstead --help`.
Prints the numbers and writes them to JSON (default benchmarks/results/cli.json).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_P50_MS = 150
HEAVY = ("rich", "requests", "urllib3", "ruamel", "jsonschema", "ansible_runner", "ansible", "yaml",
         "sqlite3", "jupyterhub", "traitlets")
# Run the CLI's --help in-process, then report which top-level packages it loaded.
PROBE = """\
import json, runpy, sys
sys.argv = ["hubstead", "--help"]
try:
    runpy.run_module("hubstead.cli", run_name="__main__")
except SystemExit:
    pass
sys.__stderr__.write(json.dumps({"modules": sorted({name.split(".")[0] for name in sys.modules}),
                                  "python": sys.version.split()[0]}))
"""


def environment(checkout):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if checkout:
        env["PYTHONPATH"] = str(REPO / "installer")
    return env


def time_help(python, env, runs):
    argv = [str(python), "-m", "hubstead.cli", "--help"]
    warm_up = subprocess.run(argv, env=env, capture_output=True, text=True)
    if warm_up.returncode != 0 or "Usage:" not in warm_up.stdout:
        raise SystemExit(f"`{' '.join(argv)}` failed:\n{warm_up.stderr}")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def probe_help(python, env):
    """(the heavy modules `--help` loaded, the measured interpreter's version)."""
    probe = subprocess.run([str(python), "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    found = json.loads(probe.stderr.strip().splitlines()[-1])
    return sorted(set(found["modules"]) & set(HEAVY)), found["python"]


def import_benchmark(rows, runs):
    """Seconds for `hubstead user import` of ROWS accounts on a freshly installed hub."""
    sys.path.insert(0, str(REPO))
    from tests.harness.container import Container
    from tests.harness.hub import install_hub

    with Container() as container:
        install_hub(container, echo=False)
        roster = "username,group\n" + "".join(f"learner{n:03d},bench\n" for n in range(rows))
        container.write_file("/root/roster.csv", roster)
        started = time.perf_counter()
        container.run(["hubstead", "user", "import", "/root/roster.csv", "--sheet", "/root/sheet.csv"])
        seconds = time.perf_counter() - started
        created = container.read_file("/root/sheet.csv").count("\n") - 1
        if created != rows:
            raise SystemExit(f"the sheet lists {created} accounts, not {rows}")
        helps = []
        for _ in range(runs):
            begun = time.perf_counter()
            container.run(["hubstead", "--help"])
            helps.append((time.perf_counter() - begun) * 1000)
    return seconds, helps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--python", type=Path,
                        help="an installed hub venv's python (default: .venv/bin/python on the checkout)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "cli.json")
    parser.add_argument("--import-rows", type=int, default=0,
                        help="also time a roster import of this many rows on an installed hub (root)")
    options = parser.parse_args()
    checkout = options.python is None
    python = REPO / ".venv" / "bin" / "python" if checkout else options.python
    if not Path(python).exists():
        raise SystemExit(f"{python} does not exist (build the test venv with scripts/test, or pass --python)")
    env = environment(checkout)

    timings = time_help(python, env, options.runs)
    heavy, python_version = probe_help(python, env)
    results = {
        "command": "python -m hubstead.cli --help",
        "measured": "checkout (PYTHONPATH=installer)" if checkout else f"installed ({python})",
        "python": {"path": str(python), "version": python_version},
        "machine": {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)},
        "runs": options.runs,
        "help_p50_ms": round(statistics.median(timings), 1),
        "help_max_ms": round(max(timings), 1),
        "heavy_modules_loaded": heavy,
        "goals": {"help_p50_ms": GOAL_P50_MS, "heavy_modules_loaded": []},
    }
    results["goal_met"] = results["help_p50_ms"] < GOAL_P50_MS and not heavy
    print(f"hubstead --help: p50 {results['help_p50_ms']} ms, max {results['help_max_ms']} ms "
          f"over {options.runs} runs (goal p50 < {GOAL_P50_MS} ms)")
    print(f"heavy modules loaded by --help: {', '.join(heavy) or 'none'}")
    if options.import_rows:
        seconds, helps = import_benchmark(options.import_rows, options.runs)
        results["import"] = {"rows": options.import_rows, "seconds": round(seconds, 2)}
        # nsenter adds ~10 ms to each of these; they are the installed console script.
        results["installed_help_p50_ms"] = round(statistics.median(helps), 1)
        print(f"user import of {options.import_rows} rows: {seconds:.2f} s")
        print(f"installed `hubstead --help` in the container (incl. nsenter): p50 "
              f"{results['installed_help_p50_ms']} ms")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {options.output}")
    return 0 if results["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
