"""`hubstead status`'s core: what runs, who uses it, what is left, as one plain dict.

Whatever touches the machine comes in as a parameter (the systemd reader, the hub
client, the disk probe, the version probe, the clock), so tests pass stubs instead of
patching globals. The CLI only presents the dict; its keys are the `--json` contract
documented in docs/admin.md ("Health at a glance"): add keys, never rename or remove.
"""

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import config as hubstead_config
from . import paths, sizing
from .diskspace import fullness, mount_point, size, used_percent
from .logs import server_unit

SERVICES = ("jupyterhub", "configurable-http-proxy")
DISK_PATHS = ("/home", "/opt/hubstead", "/var/lib/hubstead")
SERVICE_PROPERTIES = ("LoadState", "ActiveState", "SubState", "ActiveEnterTimestamp", "StateChangeTimestamp")
USAGE_PROPERTIES = ("MemoryCurrent", "CPUUsageNSec")
ACTIVE_WINDOW = timedelta(hours=24)
HUB_TIMEOUT_S = 10
# systemd prints "[not set]" when it does not account a resource; older versions print
# UINT64_MAX ("infinity") instead.
NOT_SET = ("", "[not set]", "infinity", str(2**64 - 1))


class SystemdUnavailable(Exception):
    """systemctl could not be run or failed; the message says how."""


# -- systemd ---------------------------------------------------------------------------

def parse_systemctl_show(text):
    """`systemctl show` output -> one {property: value} dict per unit, in order.

    Units are separated by a blank line; a value may itself contain '='."""
    blocks, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, _, value = line.partition("=")
        current[key] = value
    if current:
        blocks.append(current)
    return blocks


def systemctl_show(units, properties):
    """The properties of each unit, one dict per unit in the order given (one systemctl call)."""
    if not units:
        return []
    argv = ["systemctl", "show", "--timestamp=unix", "-p", ",".join(properties), *units]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError) as error:
        raise SystemdUnavailable(f"cannot run systemctl: {error}") from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[0] if done.stderr.strip() else f"exit code {done.returncode}"
        raise SystemdUnavailable(f"systemctl show failed: {reason}")
    blocks = parse_systemctl_show(done.stdout)
    if len(blocks) != len(units):
        # Without one block per unit we cannot tell which is which: report nothing
        # rather than one unit's numbers under another's name.
        raise SystemdUnavailable(f"systemctl show answered {len(blocks)} blocks for {len(units)} units")
    return blocks


def parse_timestamp(value):
    """A systemd timestamp (`@SECONDS` with --timestamp=unix) as ISO 8601 UTC; None when unset.

    Any other non-empty form is returned as systemd wrote it rather than dropped."""
    value = (value or "").strip()
    if value in NOT_SET or value == "n/a":
        return None
    if value.startswith("@"):
        try:
            seconds = float(value[1:])
        except ValueError:
            return value
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")
    return value


def parse_count(value):
    """A systemd counter (bytes, nanoseconds) as an int; None when systemd does not know it."""
    value = (value or "").strip()
    if value in NOT_SET:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def service_report(unit, properties):
    active = properties.get("ActiveState") or None
    # An active unit's "since" is when it started; any other state's, when it entered
    # that state (as `systemctl status` shows it: "inactive (dead) since ...").
    since = properties.get("ActiveEnterTimestamp" if active == "active" else "StateChangeTimestamp")
    return {
        "unit": unit,
        "load": properties.get("LoadState") or None,
        "active": active,
        "sub": properties.get("SubState") or None,
        "since": parse_timestamp(since),
    }


def usage_report(properties):
    nanoseconds = parse_count(properties.get("CPUUsageNSec"))
    return {
        "memory_bytes": parse_count(properties.get("MemoryCurrent")),
        "cpu_seconds": None if nanoseconds is None else round(nanoseconds / 1e9, 3),
    }


# -- hub users -------------------------------------------------------------------------

def parse_hub_time(value):
    """JupyterHub's ISO 8601 timestamps ("...Z"; Python 3.10 cannot parse the Z)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def user_counts(models, now):
    since = now - ACTIVE_WINDOW
    recent = [model for model in models
              if (parse_hub_time(model.get("last_activity")) or datetime.min.replace(tzinfo=timezone.utc)) >= since]
    return {"total": len(models), "admins": sum(1 for model in models if model.get("admin")),
            "active_24h": len(recent)}


def active_servers(models):
    """(user, server name, server model) for every server that is running or starting."""
    found = []
    for model in sorted(models, key=lambda model: model["name"]):
        for server_name, server in sorted((model.get("servers") or {}).items()):
            # With include_stopped_servers the hub lists stopped servers too.
            if server.get("ready") or server.get("pending"):
                found.append((model["name"], server_name, server))
    return found


def server_reports(models, show):
    """The running servers with their units' memory and CPU use; problems as a list."""
    servers = active_servers(models)
    units = [server_unit(user) for user, _, _ in servers]
    problems = []
    try:
        usages = show(units, USAGE_PROPERTIES)
    except SystemdUnavailable as error:
        usages, problems = [{} for _ in units], [f"servers' memory and CPU unknown: {error}"]
    reports = []
    for (user, server_name, server), unit, usage in zip(servers, units, usages):
        reports.append({
            "user": user,
            "name": server_name,
            "unit": unit,
            "ready": bool(server.get("ready")),
            "pending": server.get("pending"),
            "started": server.get("started"),
            "last_activity": server.get("last_activity"),
            **usage_report(usage),
        })
    return reports, problems


def pending_signups(db_path):
    """How many NativeAuthenticator sign-ups wait for approval, read from the hub's DB.

    Read-only (a `mode=ro` URI: status must never create or change the hub's DB); a DB
    without NativeAuthenticator's `users_info` table has none. Raises sqlite3.Error or
    OSError when the DB cannot be read."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"{db_path} does not exist (has the hub ever started?)")
    if not os.access(db_path, os.R_OK):
        # sqlite would only say "unable to open database file".
        raise PermissionError(f"cannot read {db_path}: run hubstead as root (sudo)")
    connection = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        has_table = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users_info'").fetchone()
        if not has_table:
            return 0
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM users_info WHERE NOT COALESCE(is_authorized, 0)").fetchone()
        return count
    finally:
        connection.close()


# -- disk and versions -----------------------------------------------------------------

def disk_report(disk_paths, disk_usage):
    reports = []
    for path in disk_paths:
        mount = mount_point(path)
        usage = disk_usage(mount)
        reports.append({"path": str(path), "mount": mount, "free_bytes": usage.free, "total_bytes": usage.total,
                        "used_percent": used_percent(usage)})
    return reports


def disk_problems(reports):
    """One line per file system that is full or nearly full (diskspace's thresholds)."""
    problems, by_mount = [], {}
    for entry in reports:
        by_mount.setdefault(entry["mount"], []).append(entry)
    for mount, entries in by_mount.items():
        first = entries[0]
        state = fullness(first["free_bytes"], first["used_percent"])
        if state:
            holding = ", ".join(entry["path"] for entry in entries)
            problems.append(f"the disk holding {holding} is {state}: "
                            f"{mount} has {size(first['free_bytes'])} free ({first['used_percent']}% used); "
                            f"free some space (`hubstead env prune`, old homes, backups)")
    return problems


def installed_version(distribution, prefix):
    """A distribution's version in the venv at PREFIX (its metadata, not an import)."""
    from importlib import metadata

    site_dirs = [str(site) for site in sorted(Path(prefix).glob("lib/python3*/site-packages"))]
    if not site_dirs:
        return None
    for found in metadata.distributions(name=distribution, path=site_dirs):
        return found.version
    return None


def os_pretty_name():
    import platform

    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        return None


def collect_versions(hub_prefix=None):
    import platform

    from . import __version__

    return {"hubstead": __version__,
            "jupyterhub": installed_version("jupyterhub", hub_prefix or paths.HUB_PREFIX),
            "python": platform.python_version(),
            "os": os_pretty_name()}


# -- everything together ---------------------------------------------------------------

def connect_hub(settings):
    from .hubapi import Hub

    hub = Hub.from_config(settings)
    hub.timeout = HUB_TIMEOUT_S  # status answers quickly or says the hub does not
    return hub


def hub_failures():
    """What a hub that is down, starting or misconfigured raises."""
    import requests

    from .hubapi import HubAPIError, HubUnavailable

    return (HubUnavailable, HubAPIError, requests.RequestException)


def hub_problem(error, api):
    """One line on why the hub's user list could not be read."""
    from .hubapi import HubAPIError, HubUnavailable

    if isinstance(error, HubUnavailable):
        return str(error)  # hubapi's own sentence: the hub is down, or its token unreadable
    if isinstance(error, HubAPIError):
        return f"the hub answered HTTP {error.status}: {error}"
    import requests

    if isinstance(error, requests.Timeout):
        return f"the hub did not answer within {HUB_TIMEOUT_S} s at {api}: see `hubstead logs hub`"
    return f"the hub does not answer at {api}: {error}"


def collect_status(settings, *, show=systemctl_show, hub=None, hub_db=None, url_for=None,
                   disk_paths=DISK_PATHS, disk_usage=shutil.disk_usage, versions=collect_versions,
                   now=None, memory=None):
    """The machine's and the hub's state as a plain dict (keys: docs/admin.md).

    show(units, properties) reads systemd; hub (default: the hub API from settings)
    needs only `.users()`; hub_db is the hub's SQLite DB; url_for(settings) is the public URL;
    memory is the machine's RAM in bytes (default: this machine's), for the limits' warning.
    """
    problems = []
    now = now or datetime.now(timezone.utc)
    hub_port = settings["internal"]["hub_port"]

    # Caddy serves the hub only when HTTPS is on; then a dead Caddy is a dead hub.
    names = SERVICES + (("caddy",) if settings.get("https", {}).get("enabled") else ())
    units = [f"{name}.service" for name in names]
    try:
        unit_properties = show(units, SERVICE_PROPERTIES)
    except SystemdUnavailable as error:
        unit_properties = [{} for _ in units]
        problems.append(f"services' state unknown: {error}")
    services = {name: service_report(unit, properties)
                for name, unit, properties in zip(names, units, unit_properties)}
    for name, service in services.items():
        if service["load"] == "not-found":
            problems.append(f"{service['unit']} is not installed: run `hubstead install`")
        elif service["active"] not in (None, "active"):
            target = {"jupyterhub": "hub", "configurable-http-proxy": "proxy"}.get(name, name)
            problems.append(f"{name} is {service['active']}: see `hubstead logs {target}`")

    hub_state = {"api": f"http://127.0.0.1:{hub_port}{hubstead_config.base_url(settings)}hub/api", "answers": False, "error": None}
    models = None
    try:
        models = (hub or connect_hub(settings)).users()
        hub_state["answers"] = True
    except hub_failures() as error:
        hub_state["answers"] = getattr(error, "status", None) is not None  # an HTTP error is an answer
        hub_state["error"] = hub_problem(error, hub_state["api"])
        problems.append(hub_state["error"])

    users = {"total": None, "admins": None, "active_24h": None, "pending": None}
    servers = None
    if models is not None:
        users.update(user_counts(models, now))
        servers, server_problems = server_reports(models, show)
        problems += server_problems
        too_little_memory = sizing.memory_problem(settings.get("limits", {}), users["total"], memory)
        problems += [too_little_memory] if too_little_memory else []
    try:
        users["pending"] = pending_signups(hub_db or paths.STATE_DIR / "jupyterhub.sqlite")
    except (sqlite3.Error, OSError) as error:
        problems.append(f"pending sign-ups unknown: {error}")

    if url_for is None:
        from .install import public_url as url_for

    disk = disk_report(disk_paths, disk_usage)
    disk_trouble = disk_problems(disk)
    problems += disk_trouble
    services_up = all(service["active"] == "active" for service in services.values())
    return {
        "healthy": services_up and models is not None and not disk_trouble,
        "problems": problems,
        "url": url_for(settings),
        "services": services,
        "hub": hub_state,
        "users": users,
        "servers": servers,
        "disk": disk,
        "versions": versions(),
    }
