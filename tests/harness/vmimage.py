"""Build and cache the disk image of a VM with Hubstead already installed.

A full install inside a VM takes about 17 minutes under software emulation (see
../shared/testing.md), so the install runs natively in a test container instead; its
tree is copied out, a Debian kernel, the quota tools and a small control agent
(vmagent.py) are added in a chroot, and `mke2fs -d` turns it into an ext4 image with
the quota feature. The image is cached, keyed by this recipe, the locks and the content
of every tracked file of the checkout (a new commit or an edit rebuilds it: never test
stale code). Each phase's time is printed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .container import REPO_ROOT, Container
from .hub import install_hub
from .rootfs import cache_dir, ensure_base_rootfs, log, phase, remove_tree

# Bump when the steps below change in a way the hashed files do not capture.
RECIPE_VERSION = 3
# The limits the VM tests prove, set while the hub is installed natively (at native
# speed): `config reload` in the guest re-runs the playbook under emulation, which took
# over 15 minutes there. The hub reads them when the guest boots it.
VM_LIMITS = {"limits.memory": "256M", "limits.cpu": "0.5", "limits.tasks": "256"}
IMAGE_SIZE = "12G"  # sparse: only the tree's blocks take space
GUEST_PACKAGES = ("linux-image-amd64", "quota", "kmod")
AGENT_PORT = 7999
AGENT_SOURCE = Path(__file__).with_name("vmagent.py")

# Written into the guest: the hub's timeouts fit a first spawn of ~115 s under emulation.
TIMEOUT_DROPIN = """\
# Written by the Hubstead VM harness (tests/harness/vmimage.py): servers start slowly
# under software emulation.
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 300
"""
NETWORK_UNIT = "[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n"
FSTAB = "/dev/vda / ext4 rw,usrquota,errors=remount-ro 0 1\n"
AGENT_UNIT = f"""\
[Unit]
Description=Hubstead test harness control agent (test images only)
After=network-online.target

[Service]
ExecStart=/usr/bin/python3 /usr/local/sbin/hubstead-vm-agent {AGENT_PORT}
Restart=always

[Install]
WantedBy=multi-user.target
"""


@dataclass
class VMImage:
    path: Path  # the ext4 image (booted with snapshot=on, never written)
    kernel: Path
    initrd: Path
    hub_port: int  # the proxy's port inside the guest
    build_seconds: float | None  # None when it came from the cache


# Tracked files that never reach the image: a change there does not rebuild it.
NOT_IN_IMAGE = (b"docs/", b"benchmarks/", b"tests/")
IN_IMAGE_AFTER_ALL = (b"tests/harness/",)  # how the image is built and installed


def _tracked_files_digest() -> str:
    """sha256 over the path and working-tree content of every tracked file that can
    change what the image holds (the product, roles, locks, the harness)."""
    listing = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z"], check=True,
                             capture_output=True).stdout.split(b"\0")
    digest = hashlib.sha256()
    wanted = [name for name in filter(None, listing)
              if not name.startswith(NOT_IN_IMAGE) or name.startswith(IN_IMAGE_AFTER_ALL)]
    for name in sorted(wanted):
        path = REPO_ROOT / name.decode()
        digest.update(name + b"\0")
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_key(base_rootfs: Path) -> str:
    recipe = {
        "version": RECIPE_VERSION,
        "base": base_rootfs.name,
        "packages": GUEST_PACKAGES,
        "builder": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "agent": hashlib.sha256(AGENT_SOURCE.read_bytes()).hexdigest(),
        "checkout": _tracked_files_digest(),  # the locks are tracked files too
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def ensure_vm_image() -> VMImage:
    """The cached image for this checkout; built (about 8 minutes) when absent."""
    base = ensure_base_rootfs(os.environ.get("HUBSTEAD_TEST_SUITE") or "bookworm")
    store = cache_dir() / "vm"
    store.mkdir(parents=True, exist_ok=True)
    final = store / f"hub-{image_key(base)}"
    with open(store / f"{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per key; others wait for it
        build_seconds = None
        if not (final / "meta.json").exists():
            # One image at a time (they are large); and trees a killed build left behind.
            for old in [*store.glob("hub-*"), *store.glob(".trash-*")]:
                if old.is_dir():
                    remove_tree(old)
            started = time.monotonic()
            _build(base, final)
            build_seconds = time.monotonic() - started
            log(f"VM image {final} built in {build_seconds:.1f} s")
    meta = json.loads((final / "meta.json").read_text())
    return VMImage(final / "disk.raw", final / "vmlinuz", final / "initrd.img", meta["hub_port"], build_seconds)


def _build(base: Path, final: Path) -> None:
    building = final.with_name(f".build-{final.name}-{os.getpid()}")
    remove_tree(building)
    tree = building / "tree"
    tree.mkdir(parents=True)
    try:
        hub_port = _install_and_copy_out(base, tree)
        with phase("VM guest: kernel, quota tools, network, agent (chroot)"):
            _prepare_guest(tree)
        with phase("VM image: mke2fs -t ext4 -O quota -d TREE"):
            boot = sorted((tree / "boot").glob("vmlinuz-*"))[-1]
            initrd = sorted((tree / "boot").glob("initrd.img-*"))[-1]
            (building / "vmlinuz").write_bytes(boot.read_bytes())
            (building / "initrd.img").write_bytes(initrd.read_bytes())
            subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-O", "quota", "-E", "quotatype=usrquota",
                            "-L", "hubstead-vm", "-d", str(tree), str(building / "disk.raw"), IMAGE_SIZE],
                           check=True, capture_output=True)
            # mke2fs -d leaves the quota inodes without the tree's usage (the kernel then
            # refuses to mount it: "run e2fsck"); e2fsck counts it. Exit 1: it fixed things.
            fsck = subprocess.run(["e2fsck", "-fy", str(building / "disk.raw")], capture_output=True, text=True)
            if fsck.returncode not in (0, 1):
                raise RuntimeError(f"e2fsck of the new image failed ({fsck.returncode}):\n{fsck.stdout[-2000:]}")
        _discard_later(tree, final.parent)
        (building / "meta.json").write_text(json.dumps({"hub_port": hub_port}))
        os.rename(building, final)
    except BaseException:
        remove_tree(building)
        raise


def _discard_later(tree: Path, store: Path) -> None:
    """Delete the build tree in the background: on a busy machine deleting 2 GB of small
    files takes minutes, which the tests need not wait for. A leftover is swept at the
    next build."""
    trash = store / f".trash-{os.getpid()}-{time.monotonic_ns()}"
    os.rename(tree, trash)
    subprocess.Popen(["rm", "-rf", "--one-file-system", "--", str(trash)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _install_and_copy_out(base: Path, tree: Path) -> int:
    """Install the hub in a container as the e2e fixtures do; copy its root out."""
    with Container(base) as container:
        with phase("VM image: install the hub natively in a container"):
            hub = install_hub(container)
            for key, value in VM_LIMITS.items():
                container.run(["hubstead", "config", "set", key, value])
        with phase("VM image: stop the hub and copy the container's root out"):
            container.run(["systemctl", "stop", "jupyterhub", "configurable-http-proxy", "hubstead"], check=False)
            container.write_file("/etc/hubstead/jupyterhub_config.d/90-vm-timeouts.py", TIMEOUT_DROPIN)
            # --one-file-system: the overlay only; not /proc, the tmpfs mounts or the binds.
            reader = subprocess.Popen(container._argv(["tar", "--one-file-system", "--numeric-owner",
                                                       "--xattrs", "-C", "/", "-cf", "-", "."], None, None, None),
                                      stdout=subprocess.PIPE)
            subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", str(tree), "-xf", "-"],
                           stdin=reader.stdout, check=True)
            reader.stdout.close()
            if reader.wait() not in (0, 1):  # 1: a file changed while read (journal)
                raise RuntimeError(f"copying the container's root out failed ({reader.returncode})")
        return hub.port


def _chroot(tree: Path, *argv: str) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
    result = subprocess.run(["chroot", str(tree), *argv], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"chroot {' '.join(argv)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def _prepare_guest(tree: Path) -> None:
    for directory in ("proc", "sys", "dev", "run", "tmp"):
        (tree / directory).mkdir(exist_ok=True)
    resolv = tree / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text(Path("/etc/resolv.conf").read_text())
    subprocess.run(["mount", "-t", "proc", "proc", str(tree / "proc")], check=True)
    try:
        _chroot(tree, "apt-get", "update", "-q")
        _chroot(tree, "apt-get", "install", "-y", "-q", "--no-install-recommends", *GUEST_PACKAGES)
        # The ext4 quota feature needs the quota format (a module in Debian's kernel) as
        # the root is mounted, so in the initramfs.
        with open(tree / "etc/initramfs-tools/modules", "a") as modules:
            modules.write("quota_tree\nquota_v2\n")
        _chroot(tree, "update-initramfs", "-u", "-k", "all")
        _chroot(tree, "apt-get", "clean")
    finally:
        subprocess.run(["umount", "--lazy", str(tree / "proc")], check=False)
    resolv.write_text("nameserver 10.0.2.3\n")  # QEMU user-mode networking's resolver
    (tree / "etc/fstab").write_text(FSTAB)
    (tree / "etc/systemd/network/20-vm.network").write_text(NETWORK_UNIT)
    (tree / "usr/local/sbin/hubstead-vm-agent").write_bytes(AGENT_SOURCE.read_bytes())
    (tree / "etc/systemd/system/hubstead-vm-agent.service").write_text(AGENT_UNIT)
    _chroot(tree, "systemctl", "enable", "systemd-networkd", "hubstead-vm-agent")
    # A getty on the serial console is of no use to the tests and only slows the boot.
    _chroot(tree, "systemctl", "mask", "serial-getty@ttyS0.service")
