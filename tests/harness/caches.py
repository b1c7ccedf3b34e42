"""Download caches shared by all test containers on a machine.

pip's and uv's caches are bind-mounted: both tools lock their caches finely and wait
for each other, so containers can use one cache at the same time.

apt's archive cache is NOT bind-mounted, although that works for one container: apt
holds /var/cache/apt/archives/lock for a whole download and a second apt-get fails at
once ("Could not get lock /var/cache/apt/archives/lock"), which would make concurrent
containers flaky. Instead the cached .debs are copied into the container's own (tmpfs)
archive directory after boot, and new ones are copied back at stop.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .rootfs import cache_dir

# Mount point inside -> host cache subdirectory. One host dir may back several mount
# points: uv's default cache for root, and the product's own UV_CACHE_DIR
# (installer/hubstead/envs/pypi.py). Add a line if the product moves its caches.
CACHE_MOUNTS = {
    "/root/.cache/pip": "pip",
    "/root/.cache/uv": "uv",
    "/var/cache/hubstead/uv": "uv",
}
APT_ARCHIVES = "/var/cache/apt/archives"


def caching_enabled() -> bool:
    """False when HUBSTEAD_TEST_NO_CACHE is set, for honest cold benchmarks."""
    return os.environ.get("HUBSTEAD_TEST_NO_CACHE", "") in ("", "0")


def cache_binds() -> list[tuple[Path, str]]:
    """(host cache dir, mount point inside) pairs; the host dirs are created if missing."""
    binds = []
    for inside, name in CACHE_MOUNTS.items():
        host = cache_dir() / name
        host.mkdir(parents=True, exist_ok=True)
        binds.append((host, inside))
    return binds


def _host_debs() -> Path:
    path = cache_dir() / "apt-archives"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _inside(pid: int) -> Path:
    # Host-side view of the container's archive dir. Safe here because no component of
    # this path is a symlink (an absolute one would resolve against the host's root).
    return Path(f"/proc/{pid}/root{APT_ARCHIVES}")


def seed_apt_archives(pid: int) -> int:
    """Copy the cached .debs into the container with PID 1 `pid`; return how many."""
    target = _inside(pid)
    count = 0
    for deb in _host_debs().glob("*.deb"):
        if not (target / deb.name).exists():
            shutil.copyfile(deb, target / deb.name)
            count += 1
    return count


def harvest_apt_archives(pid: int) -> int:
    """Copy .debs the container downloaded back into the host cache; return how many.

    apt moves a .deb into archives/ only once it is complete and verified, so every
    top-level .deb is whole. Copy to a temporary name, then rename, so other containers
    never see half a file.
    """
    store = _host_debs()
    count = 0
    for deb in _inside(pid).glob("*.deb"):
        if (store / deb.name).exists():
            continue
        partial = store / f".{deb.name}.{os.getpid()}.part"
        try:
            shutil.copyfile(deb, partial)
            os.replace(partial, store / deb.name)
            count += 1
        finally:
            partial.unlink(missing_ok=True)
    return count
