"""The order in which test files go to pytest-xdist's workers: the costliest first.

With --dist=loadfile a free worker takes the next whole file. A long file handed out
last keeps one worker busy while the other has nothing left, and the suite's wall time
is the busier worker's. Handing out the longest files first leaves only short ones for
the end, so both workers finish close together.

tests/file_costs.json holds each file's seconds from a whole run. Set
HUBSTEAD_TEST_TIMES=PATH to record a run, then `python -m tests.harness.file_order PATH`
prints a new table. A file the table does not know counts as UNKNOWN_COST seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
COSTS = TESTS / "file_costs.json"
UNKNOWN_COST = 60.0


def _file_of(path):
    try:
        return Path(path).resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return str(path)


def costliest_first(items):
    """Reorder pytest items in place: files by recorded cost, most first; within a file,
    and between files of equal cost, the collection order stays."""
    try:
        costs = json.loads(COSTS.read_text())
    except (OSError, ValueError):
        return
    position = {}
    for item in items:
        position.setdefault(_file_of(item.path), len(position))
    items.sort(key=lambda item: (-float(costs.get(_file_of(item.path), UNKNOWN_COST)),
                                 position[_file_of(item.path)]))


def record(report):
    """Append one phase's seconds (setup, call, teardown) to HUBSTEAD_TEST_TIMES, if set."""
    path = os.environ.get("HUBSTEAD_TEST_TIMES")
    if not path:
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
        sys.exit("usage: python -m tests.harness.file_order RECORDED_LOG > tests/file_costs.json")
    print(json.dumps(table(sys.argv[1]), indent=1))
