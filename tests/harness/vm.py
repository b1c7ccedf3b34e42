"""Boot the cached hub image (vmimage.py) as a VM with its own kernel under QEMU.

The containers share the host's kernel, which does not enforce their cgroup limits or
disk quotas; a VM does. KVM does not boot on these machines (../shared/testing.md), so
QEMU emulates (`-accel tcg -cpu max`): a boot takes 30-60 s, a first spawn ~2 min.
The disk is opened with snapshot=on, so every boot starts from the image as built.
User-mode networking forwards two free 127.0.0.1 ports: one to the hub's proxy and one
to the control agent (vmagent.py), which runs commands as root in the guest.

No pytest import here: benchmark scripts use this module too.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from .container import CommandFailed, CommandTimeout, ContainerError
from .host import free_tcp_ports
from .hub import wait_for_http
from .rootfs import log, phase
from .vmimage import AGENT_PORT, VMImage

BOOT_TIMEOUT = 600.0
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class VMError(ContainerError):
    pass


class VM:
    """A running guest; `.run()` is Container.run's subset the tests use, so hubcli's
    helpers and HubUser work against it (`VMHub` below)."""

    def __init__(self, image: VMImage, *, memory_mb: int = 3072, cpus: int = 2):
        self.image, self.memory_mb, self.cpus = image, memory_mb, cpus
        self.qemu: subprocess.Popen | None = None
        self._workdir: Path | None = None
        self.hub_url = ""
        self.boot_seconds: float | None = None

    def __enter__(self) -> VM:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> VM:
        if not shutil.which("qemu-system-x86_64"):
            raise VMError("qemu-system-x86_64 not found (apt-get install qemu-system-x86)")
        self._workdir = Path(tempfile.mkdtemp(prefix="hubstead-vm-"))
        hub_port, self._agent_port = free_tcp_ports(2)
        self.hub_url = f"http://127.0.0.1:{hub_port}"
        forwards = (f"hostfwd=tcp:127.0.0.1:{hub_port}-:{self.image.hub_port},"
                    f"hostfwd=tcp:127.0.0.1:{self._agent_port}-:{AGENT_PORT}")
        argv = [
            "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max",
            "-smp", str(self.cpus), "-m", str(self.memory_mb),
            "-kernel", str(self.image.kernel), "-initrd", str(self.image.initrd),
            "-append", "root=/dev/vda rw rootflags=usrquota console=ttyS0 systemd.show_status=0",
            "-drive", f"file={self.image.path},format=raw,if=virtio,snapshot=on",
            "-netdev", f"user,id=net0,{forwards}", "-device", "virtio-net-pci,netdev=net0",
            "-display", "none", "-monitor", "none", "-serial", f"file:{self._workdir / 'console.log'}",
        ]
        started = time.monotonic()
        with phase("VM boot (QEMU, software emulation) until its agent answers"):
            self.qemu = subprocess.Popen(["setpriv", "--pdeathsig", "TERM", "--", *argv],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=open(self._workdir / "qemu.log", "wb"),
                                         start_new_session=True)
            self._wait_for_agent(started + BOOT_TIMEOUT)
        with phase("VM: hub answering /hub/api"):
            wait_for_http(f"{self.hub_url}/hub/api", max(30.0, started + BOOT_TIMEOUT - time.monotonic()))
        self.boot_seconds = time.monotonic() - started
        log(f"VM booted and hub up in {self.boot_seconds:.1f} s")
        return self

    def _wait_for_agent(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.qemu.poll() is not None:
                raise VMError(f"qemu exited with {self.qemu.returncode}:\n{self.console()}")
            if "(initramfs)" in self.console(5):
                raise VMError(f"the VM's kernel could not mount its root:\n{self.console()}")
            try:
                self.run(["true"], timeout=5, answer_within=10)
                return
            except (OSError, VMError):
                time.sleep(2)
        raise VMError(f"the VM's agent did not answer within {BOOT_TIMEOUT:.0f} s:\n{self.console()}")

    def console(self, lines: int = 60) -> str:
        for name in ("console.log", "qemu.log"):
            path = self._workdir / name if self._workdir else None
            if path and path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no console output)"

    def run(self, cmd, *, check: bool = True, timeout: float | None = 600, input: str | None = None,
            user: str | None = None, answer_within: float | None = None,
            **_ignored) -> subprocess.CompletedProcess:
        """Run `cmd` (a list, or a string for sh -c) as root, or as `user`, in the guest."""
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else [str(part) for part in cmd]
        if user is not None:
            argv = ["runuser", "-u", user, "--", *argv]
        body = json.dumps({"argv": argv, "timeout": timeout or 3600, "input": input}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self._agent_port}/run", data=body, method="POST")
        try:
            with _opener.open(request, timeout=answer_within or (timeout or 3600) + 30) as answer:
                result = json.loads(answer.read())
        except OSError as error:
            raise VMError(f"the VM's agent did not answer: {error}") from error
        if result["rc"] is None:
            raise CommandTimeout(argv, None, result["stdout"], result["stderr"],
                                 note=f"command timed out after {timeout} s")
        if check and result["rc"] != 0:
            raise CommandFailed(argv, result["rc"], result["stdout"], result["stderr"])
        return subprocess.CompletedProcess(argv, result["rc"], result["stdout"], result["stderr"])

    def journal(self, unit: str, lines: int = 200) -> str:
        try:
            return self.run(["journalctl", "--no-pager", "-n", str(lines), "-u", unit], check=False).stdout
        except VMError as error:
            return f"(journalctl failed: {error})"

    def stop(self) -> None:
        """Power off at once: the disk is a snapshot, nothing in the guest needs saving."""
        if self.qemu is not None and self.qemu.poll() is None:
            self.qemu.send_signal(signal.SIGTERM)
            try:
                self.qemu.wait(30)
            except subprocess.TimeoutExpired:
                self.qemu.kill()
                self.qemu.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


class VMHub:
    """What hubcli.hubstead() and HubUser need of an installed hub: its URL and a
    `.container` that runs commands inside (the VM)."""

    def __init__(self, vm: VM):
        self.vm = vm
        self.container = vm
        self.url = vm.hub_url
