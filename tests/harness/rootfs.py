"""Build and cache the Debian root filesystem that every test container boots.

A debootstrap takes about a minute, so the result is cached under the test cache
directory and keyed by everything that changes its content. Readers never see a half
built tree: the build happens in a temporary directory that is renamed into place only
when complete, and a lock file keeps two processes from building the same key at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Bump when the build steps below change in a way the other key parts do not capture.
RECIPE_VERSION = 1

BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "ca-certificates",
    # Not needed to boot, but tests and failure reports use ss, ps and findmnt.
    "iproute2",
    "procps",
    "util-linux",
)

DEFAULT_MIRROR = "http://deb.debian.org/debian"
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
CONTAINER_HOSTNAME = "hubstead-test"

# Written into the rootfs: the `apt` front end deletes .debs after installing by
# default, and the harness copies downloaded .debs out into the host's cache at stop
# (caches.py). apt's sandbox user stays `_apt`, as on a real machine.
APT_TEST_CONF = """\
// Written by the Hubstead test harness (tests/harness/rootfs.py).
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Keep-Downloaded-Packages "true";
"""


def log(message: str) -> None:
    """Progress goes to stderr so pytest -s and benchmark scripts both show it."""
    print(f"[harness] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def phase(name: str):
    """Time one step and print it, so a slow step is visible in CI logs."""
    started = time.monotonic()
    log(f"{name} ...")
    try:
        yield
    finally:
        log(f"{name}: {time.monotonic() - started:.1f} s")


def cache_dir() -> Path:
    path = Path(os.environ.get("HUBSTEAD_TEST_CACHE") or "/var/cache/hubstead-tests")
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror() -> str:
    return os.environ.get("HUBSTEAD_TEST_MIRROR") or DEFAULT_MIRROR


def host_ca_files() -> list[Path]:
    if not HOST_CA_DIR.is_dir():
        return []
    return sorted(p for p in HOST_CA_DIR.rglob("*.crt") if p.is_file())


def recipe_key(suite: str, mirror_url: str) -> str:
    """Hash of every input that changes the built tree.

    The host's CA files are part of it because a rootfs built behind one proxy must not
    be reused behind another one with a different CA.
    """
    recipe = {
        "version": RECIPE_VERSION,
        "suite": suite,
        "packages": list(BASE_PACKAGES),
        "mirror": mirror_url,
        "apt_conf": APT_TEST_CONF,
        "ca": [
            [str(p.relative_to(HOST_CA_DIR)), hashlib.sha256(p.read_bytes()).hexdigest()]
            for p in host_ca_files()
        ],
    }
    blob = json.dumps(recipe, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path`, deepest first (debootstrap mounts /proc, /sys)."""
    prefix = str(path).rstrip("/")
    found = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            # Field 5 is the mount point, with spaces etc. octal-escaped.
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """Delete a (possibly half built) rootfs without ever following a mount into the host.

    An interrupted debootstrap can leave the host's /proc or /sys mounted inside the
    target; a plain rmtree would then descend into them.
    """
    if not path.exists():
        return
    for point in mounts_under(path):
        subprocess.run(["umount", "--lazy", point], check=False)
    left = mounts_under(path)
    if left:
        raise RuntimeError(f"refusing to delete {path}: still mounted: {left}")
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=True)


def _run_logged(cmd: list[str], logfile: Path, lock_fd: int | None = None) -> None:
    """Run a build step with its output in `logfile`.

    The build lock's fd is handed down to the step and all its children: if this Python
    process is killed, the lock stays held until the orphaned debootstrap (and the dpkg
    it started) are gone, so the next builder never deletes a tree still being written.
    pdeathsig stops debootstrap itself soon after we die.
    """
    with open(logfile, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        result = subprocess.run(["setpriv", "--pdeathsig", "KILL", "--"] + cmd,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                pass_fds=() if lock_fd is None else (lock_fd,))
    if result.returncode != 0:
        tail = logfile.read_text(errors="replace").splitlines()[-40:]
        raise RuntimeError(
            f"command failed with exit code {result.returncode}: {' '.join(cmd)}\n"
            f"log {logfile} (last lines):\n" + "\n".join(tail)
        )


def _configure(root: Path, logfile: Path) -> None:
    """Turn a bare debootstrap into something that boots like a fresh VM."""
    # The TLS-intercepting proxy's CA, or pip/apt over https fail inside the container.
    target_ca = root / "usr/local/share/ca-certificates"
    target_ca.mkdir(parents=True, exist_ok=True)
    for ca in host_ca_files():
        dest = target_ca / ca.relative_to(HOST_CA_DIR)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(ca.read_bytes())
    _run_logged(["chroot", str(root), "update-ca-certificates"], logfile)

    # debootstrap copies the host's hostname and hosts file; give the image its own,
    # and make the name resolvable as on a real VM (sudo and some tools complain otherwise).
    (root / "etc/hostname").write_text(CONTAINER_HOSTNAME + "\n")
    (root / "etc/hosts").write_text(
        "127.0.0.1\tlocalhost\n"
        f"127.0.1.1\t{CONTAINER_HOSTNAME}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
    )

    # An empty machine-id (as in Debian's cloud images) makes systemd take the
    # per-boot UUID that systemd-nspawn hands over, so every container gets its own id
    # instead of all sharing the one systemd's postinst generated during debootstrap.
    # Empty, not "uninitialized", so ConditionFirstBoot units (firstboot prompts) stay off.
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.is_symlink() or dbus_id.exists():
        dbus_id.unlink()
        dbus_id.symlink_to("/etc/machine-id")

    (root / "etc/apt/apt.conf.d/99hubstead-test").write_text(APT_TEST_CONF)


def ensure_base_rootfs(suite: str = "bookworm", *, mirror_url: str | None = None) -> Path:
    """Return the path of a cached, bootable minbase rootfs for `suite`; build it if absent.

    Never modify the returned tree: containers boot it with --volatile=overlay.
    """
    mirror_url = mirror_url or mirror()
    store = cache_dir() / "rootfs"
    store.mkdir(parents=True, exist_ok=True)
    key = recipe_key(suite, mirror_url)
    final = store / f"{suite}-{key}"
    # The rename below is atomic, so an existing directory is always a complete build.
    if final.is_dir():
        return final

    lock_path = store / f"{suite}-{key}.lock"
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process building {final.name}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if final.exists():  # the other process finished it while we waited
            return final
        _build(suite, mirror_url, store, final, lock.fileno())
    return final


def _build(suite: str, mirror_url: str, store: Path, final: Path, lock_fd: int) -> None:
    # We hold the lock for this key, so any build directory for it is a dead leftover.
    for stale in store.glob(f".build-{final.name}-*"):
        log(f"removing interrupted build {stale}")
        remove_tree(stale)

    building = store / f".build-{final.name}-{os.getpid()}"
    logfile = store / f"{final.name}.build.log"
    logfile.write_text("")
    # Keeping downloaded .debs makes a rebuild after a recipe change much faster.
    debs = cache_dir() / "debootstrap-debs" / suite
    debs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with phase(f"debootstrap {suite} from {mirror_url}"):
            _run_logged(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(BASE_PACKAGES)}",
                    f"--cache-dir={debs}",
                    suite,
                    str(building),
                    mirror_url,
                ],
                logfile,
                lock_fd,
            )
        with phase("configure rootfs (CA certificates, hostname, machine-id, apt)"):
            _configure(building, logfile)
        os.rename(building, final)
    except BaseException:
        # Also on KeyboardInterrupt: never leave a half tree (or a mounted /proc) behind.
        remove_tree(building)
        raise
    log(f"base rootfs {final} ready in {time.monotonic() - started:.1f} s")
