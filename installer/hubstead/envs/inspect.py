"""What is inside environments: packages, sizes, and which builds servers run from."""

import json
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from ..usernames import ACCOUNT_COMMENT as HUB_USER_COMMENT, UNIX_PREFIX
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


METADATA_LIMIT = 1 << 20  # bytes of one record read; more is no package's metadata


def _own_text(prefix, path):
    """The text of a regular file that is really inside prefix, or None. A Binder build's
    tree is made by a repository's code: a METADATA may be a link to /etc/shadow or
    /dev/zero, and root must not read either."""
    try:
        if path.is_symlink() or not path.resolve().is_relative_to(Path(prefix).resolve()) or not path.is_file():
            return None
        with path.open("rb") as handle:
            return handle.read(METADATA_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return None


def packages(prefix):
    """Installed packages: conda's records, then Python distributions."""
    found = {}
    for record in sorted(Path(prefix, "conda-meta").glob("*.json")):
        try:
            data = json.loads(_own_text(prefix, record) or "")
            found[data["name"]] = {"name": data["name"], "version": data["version"], "source": "conda"}
        except (ValueError, KeyError, TypeError):
            continue
    for metadata in Path(prefix).glob("lib/python3*/site-packages/*.dist-info/METADATA"):
        name = version = None
        for line in (_own_text(prefix, metadata) or "").splitlines():
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
    """Build ids that running servers were started from."""
    return set(servers_using(name))


def servers_using(name):
    """{build id: [users whose running server started from it]}, from their units' command lines."""
    directory = str(store.env_dir(name))
    listing = subprocess.run(["systemctl", "list-units", "--type=service", "--state=active", "--plain",
                              "--no-legend", "jupyter-*-singleuser.service"], capture_output=True, text=True)
    units = [line.split()[0] for line in listing.stdout.splitlines() if line.strip()]
    if not units:
        return {}
    result = subprocess.run(["systemctl", "show", "--property=Id,ExecStart", *units], capture_output=True, text=True)
    return builds_in_show(result.stdout, directory)


def builds_in_show(text, directory):
    """`systemctl show -p Id,ExecStart` of server units -> {build id under DIRECTORY: [users]}."""
    used = {}
    for block in text.split("\n\n"):
        unit = next((line[3:] for line in block.splitlines() if line.startswith("Id=")), "")
        # ExecStart reads "{ path=PREFIX/bin/... ; argv[]=PREFIX/bin/... ARGS ; ... }".
        for build_id in dict.fromkeys(re.findall(re.escape(str(directory)) + r"/([^/\s;]+)/", block)):
            used.setdefault(build_id, []).append(user_of_unit(unit))
    return used


def user_of_unit(unit):
    """ACCOUNT-singleuser.service -> the hub user whose server it is: the name its unix
    account's comment records (an account derived from a long or e-mail-like name,
    usernames.unix_name), else NAME of jupyter-NAME (hubconfig's unit_name_template)."""
    import pwd

    account = unit.removesuffix(".service").removesuffix("-singleuser")
    try:
        comment = pwd.getpwnam(account).pw_gecos
    except KeyError:
        comment = ""
    if comment.startswith(HUB_USER_COMMENT):
        return comment[len(HUB_USER_COMMENT):]
    return account.removeprefix(UNIX_PREFIX)
