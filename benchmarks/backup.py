#!/usr/bin/env python3
"""Backup benchmark: `hubstead backup`'s homes path against plain `tar` on the same data.

    sudo .venv/bin/python benchmarks/backup.py [--users 50] [--mb 20] [--output FILE]

Makes USERS homes of MB megabytes each (half incompressible data files, half text and
notebooks, a few directories and links), owned by distinct uids, then times in the same
run: the archive writer and home reader that `hubstead backup create --homes` uses
(hubstead.backup.archive + create.add_home: gzip level 6, a sha256 per file, links never
followed) against `tar -czf` of the same homes, and the restore path (read_manifest with
homes.HomeStager: verify every member, stage with owners and modes, rename into place)
against `tar -xzf`. The databases, config and locks an archive also holds are small
(kilobytes to a few MB) and left out here. Goal: each hubstead time within 1.5x of tar's.
Prints a table and writes JSON (default benchmarks/results/backup.json). Needs root
(owners are restored).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "installer"))
GOAL = 1.5


def make_homes(root, users, megabytes):
    """USERS homes under ROOT/home, each about MEGABYTES (the same bytes for every run)."""
    import random

    rng = random.Random(15)
    words = [f"value{n}" for n in range(500)]
    text_line = lambda: ",".join(rng.choice(words) for _ in range(12)) + "\n"  # noqa: E731
    text = "".join(text_line() for _ in range(20000)).encode()
    binary = rng.randbytes(1 << 20)
    accounts = []
    for number in range(users):
        name = f"jupyter-bench{number:03d}"
        home = root / "home" / name
        (home / "work" / "data").mkdir(parents=True)
        half = megabytes * (1 << 20) // 2
        for index in range(max(1, half // len(binary))):
            (home / "work" / "data" / f"sample{index}.bin").write_bytes(binary[index:] + binary[:index])
        written = 0
        index = 0
        while written < half:
            chunk = text[index * 7:] + text[: index * 7]
            (home / "work" / f"notes{index}.ipynb").write_bytes(chunk)
            written += len(chunk)
            index += 1
        (home / "latest").symlink_to("work/notes0.ipynb")
        uid = 60000 + number
        for path in [home, *home.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
        home.chmod(0o700)
        accounts.append({"name": name, "home": str(home)})
    return accounts


def timed(action):
    started = time.monotonic()
    action()
    return time.monotonic() - started


def hubstead_backup(accounts, target):
    from hubstead.backup.archive import ArchiveWriter
    from hubstead.backup.create import add_home

    with ArchiveWriter(target, homes=True) as out:
        for account in accounts:
            add_home(out, account["name"], account["home"])


def hubstead_restore(accounts, archive, new_root):
    from hubstead.backup.archive import read_manifest
    from hubstead.backup.homes import HomeStager

    moved = [{**account, "home": str(new_root / Path(account["home"]).name)} for account in accounts]
    stager = HomeStager(moved)
    read_manifest(archive, stager.add)
    stager.finish()
    for account in moved:
        stager.swap_in(account["name"])
    stager.discard()


def run(users, megabytes):
    work = Path(tempfile.mkdtemp(prefix="hubstead-bench-backup-"))
    try:
        accounts = make_homes(work, users, megabytes)
        data_mb = sum(f.stat().st_size for f in (work / "home").rglob("*") if f.is_file() and not f.is_symlink()) / 1e6
        subprocess.run(["sync"], check=True)
        rows = {}
        ours, theirs = work / "hubstead.tar.gz", work / "plain.tar.gz"
        rows["backup"] = (timed(lambda: hubstead_backup(accounts, ours)),
                          timed(lambda: subprocess.run(["tar", "-czf", str(theirs), "-C", str(work), "home"],
                                                       check=True)))
        (work / "restored-ours").mkdir()
        (work / "restored-tar").mkdir()
        rows["restore"] = (timed(lambda: hubstead_restore(accounts, ours, work / "restored-ours")),
                           timed(lambda: subprocess.run(["tar", "-xzpf", str(theirs), "--numeric-owner", "-C",
                                                         str(work / "restored-tar")], check=True)))
        restored = work / "restored-ours" / accounts[0]["name"] / "work" / "notes0.ipynb"
        assert restored.read_bytes() == (Path(accounts[0]["home"]) / "work" / "notes0.ipynb").read_bytes()
        assert restored.stat().st_uid == 60000
        return {"users": users, "mb_per_home": megabytes, "data_mb": round(data_mb, 1),
                "archive_mb": {"hubstead": round(ours.stat().st_size / 1e6, 1),
                               "tar": round(theirs.stat().st_size / 1e6, 1)},
                "seconds": {step: {"hubstead": round(a, 2), "tar": round(b, 2), "ratio": round(a / b, 2)}
                            for step, (a, b) in rows.items()},
                "goal_ratio": GOAL}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "backup.json")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("benchmarks/backup.py needs root (homes keep their owners).")
    results = run(options.users, options.mb)
    print(f"{options.users} homes x {options.mb} MB ({results['data_mb']} MB of files)")
    print(f"{'step':<10}{'hubstead s':>12}{'tar s':>10}{'ratio':>8}")
    for step, row in results["seconds"].items():
        print(f"{step:<10}{row['hubstead']:>12.2f}{row['tar']:>10.2f}{row['ratio']:>8.2f}")
    sizes = results["archive_mb"]
    print(f"{'size MB':<10}{sizes['hubstead']:>12.1f}{sizes['tar']:>10.1f}")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    missed = [step for step, row in results["seconds"].items() if row["ratio"] > GOAL]
    if missed:
        print(f"goal missed ({GOAL}x tar): {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
