"""What is inside environments: packages, sizes, and which builds servers run from."""

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from . import store


def details(name):
    environment = store.load(name)
    directory = store.env_dir(name)
    builds = []
    for build in environment.builds:
        item = build.as_dict()
        item["size_mb"] = round(disk_usage(directory / build.id) / 2**20, 1)
        item["created_at"] = datetime.fromtimestamp(build.created, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        builds.append(item)
    current = directory / environment.current if environment.current else None
    return {"name": name, "description": environment.description, "current": environment.current,
            "builds": builds, "packages": packages(current) if current else []}


def disk_usage(path):
    """Bytes on disk, counting a hardlinked file once (as du does)."""
    return disk_usage_many([path])


def disk_usage_many(paths):
    """Bytes on disk of several trees together: a file hardlinked between them counts once."""
    seen, total = set(), 0
    for root in paths:
        for item in Path(root).rglob("*"):
            try:
                stat = item.lstat()
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_blocks * 512
    return total


def packages(prefix):
    """Installed packages: conda's records, then Python distributions."""
    found = {}
    for record in sorted(Path(prefix, "conda-meta").glob("*.json")):
        data = json.loads(record.read_text())
        found[data["name"]] = {"name": data["name"], "version": data["version"], "source": "conda"}
    for metadata in Path(prefix).glob("lib/python3*/site-packages/*.dist-info/METADATA"):
        name = version = None
        for line in metadata.read_text(errors="replace").splitlines():
            if line.startswith("Name: "):
                name = line[6:].strip()
            elif line.startswith("Version: "):
                version = line[9:].strip()
            if name and version:
                break
        if name and name.lower() not in found:
            found[name.lower()] = {"name": name, "version": version, "source": "pypi"}
    return sorted(found.values(), key=lambda item: item["name"].lower())


def builds_in_use(name):
    """Build ids that running servers were started from (from their units' command lines)."""
    directory = str(store.env_dir(name))
    listing = subprocess.run(["systemctl", "list-units", "--type=service", "--state=active", "--plain",
                              "--no-legend", "jupyter-*-singleuser.service"], capture_output=True, text=True)
    units = [line.split()[0] for line in listing.stdout.splitlines() if line.strip()]
    if not units:
        return set()
    result = subprocess.run(["systemctl", "show", "--property=ExecStart", *units], capture_output=True, text=True)
    used = set()
    for word in result.stdout.split():
        if word.startswith(directory + "/"):
            used.add(word[len(directory) + 1:].split("/")[0])
    return used
