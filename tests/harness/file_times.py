"""Seconds per test file, to see where the suite's time budget goes.

With HUBSTEAD_TEST_TIMES=PATH set, every test phase (setup, call, teardown) appends a
line to PATH: its file, its seconds, its xdist worker. `python -m tests.harness.file_times
PATH` sums them per file, costliest first. A session fixture (the installed hub) counts
for the first file on each worker that uses it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _file_of(path):
    try:
        return Path(path).resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return str(path)


def record(report):
    """Append one phase's seconds (setup, call, teardown) to HUBSTEAD_TEST_TIMES, if set."""
    path = os.environ.get("HUBSTEAD_TEST_TIMES")
    if not path or hasattr(report, "node"):  # xdist's controller sees the workers' reports again
        return
    line = {"file": _file_of(report.fspath), "when": report.when, "seconds": round(report.duration, 2),
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "ended": round(time.time(), 1)}
    with open(path, "a") as log:
        log.write(json.dumps(line) + "\n")


def table(log_path):
    """{file: seconds} summed over a recorded run, costliest first."""
    totals = {}
    for line in Path(log_path).read_text().splitlines():
        entry = json.loads(line)
        totals[entry["file"]] = totals.get(entry["file"], 0.0) + entry["seconds"]
    return {name: round(seconds) for name, seconds in sorted(totals.items(), key=lambda pair: -pair[1])}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.harness.file_times RECORDED_LOG")
    print(json.dumps(table(sys.argv[1]), indent=1))
