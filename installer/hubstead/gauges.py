"""hubstead's own gauges for a metrics scraper: running servers per environment, builds
by state, and the disks it fills. The web service's /metrics presents them (web/metrics.py).
"""

import shutil
from collections import Counter

from .diskspace import mount_point

DISK_PATHS = ("/home", "/opt/hubstead", "/var/lib/hubstead")


def servers_by_environment(models, default_env):
    """{environment: servers running or starting}: a server's user option `environment`,
    a Binder launch's build environment, else the default one."""
    from .builder import records

    counts = Counter()
    for model in models:
        for server in (model.get("servers") or {}).values():
            if not (server.get("ready") or server.get("pending")):
                continue
            options = server.get("user_options") or {}
            record = records.get(options["binder"]) if options.get("binder") else None
            counts[options.get("environment") or (record.env if record else default_env)] += 1
    return dict(counts)


def builds_by_state():
    """{state: number of builds} over the builder's records (queued, running, succeeded...)."""
    from .builder import records

    return dict(Counter(record.state for record in records.all_records()))


def disks(paths=DISK_PATHS, disk_usage=shutil.disk_usage):
    """[(path, free bytes, total bytes)] of the file systems holding homes, environments, state."""
    found = []
    for path in paths:
        usage = disk_usage(mount_point(path))
        found.append((path, usage.free, usage.total))
    return found


def collect(hub, default_env):
    """Every gauge: {"servers": {...}, "builds": {...}, "disks": [...]}."""
    return {"servers": servers_by_environment(hub.users(), default_env), "builds": builds_by_state(),
            "disks": disks()}
