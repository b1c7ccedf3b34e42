"""Throwaway systemd containers that behave like a fresh VM, for end-to-end tests.

Each Container boots the cached base rootfs with `systemd-nspawn --volatile=overlay`:
the base stays untouched, every write lands on a tmpfs that disappears at stop, and a
boot takes about a second. Containers share the host's network namespace, so whatever
listens inside is reachable on 127.0.0.1 and callers must hand out distinct ports.

No pytest import here: benchmark scripts use this module too.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

from .caches import cache_binds, caching_enabled, harvest_apt_archives, seed_apt_archives
from .host import BackgroundProcess, find_child, free_tcp_ports, kill_group
from .rootfs import CONTAINER_HOSTNAME, ensure_base_rootfs, log

__all__ = [
    "BackgroundProcess",
    "CommandFailed",
    "CommandTimeout",
    "Container",
    "ContainerError",
    "REPO_ROOT",
    "cache_binds",
    "caching_enabled",
    "ensure_base_rootfs",
    "free_tcp_ports",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TIMEOUT = 600.0
WORKDIR_PREFIX = "hubstead-harness-"

_names = itertools.count(1)
_live: weakref.WeakSet[Container] = weakref.WeakSet()


class ContainerError(RuntimeError):
    pass


class CommandFailed(ContainerError):
    def __init__(self, cmd, returncode, stdout: str, stderr: str, note: str = ""):
        self.cmd, self.returncode, self.stdout, self.stderr = cmd, returncode, stdout, stderr
        super().__init__(
            f"{note or 'command failed'} (exit code {returncode}): {cmd!r}\n"
            f"--- stdout (tail) ---\n{_tail(stdout)}\n--- stderr (tail) ---\n{_tail(stderr)}"
        )


class CommandTimeout(CommandFailed):
    pass


# Where the host keeps the cgroups nspawn places containers in: systemd's named v1 hierarchy
# and the unified one on a hybrid host, or the root of a pure cgroup2 host.
CGROUP_HIERARCHIES = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup")
CGROUP_PREFIX = "hubstead-test-"


def _join_cgroups(groups: list[Path]) -> None:
    """In the child before exec: move this process into each of groups."""
    for group in groups:
        with open(group / "cgroup.procs", "w") as handle:
            handle.write("0")


def _tail(text: str | None, lines: int = 40) -> str:
    return "\n".join((text or "").splitlines()[-lines:])


def _sweep_dead_workdirs() -> None:
    """Remove console-log dirs of harness processes that were killed before stop()."""
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        owner = path.name[len(WORKDIR_PREFIX):].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)


class Container:
    """A booted systemd container over an overlay of the base rootfs.

    binds_ro / binds map host paths to paths inside. binds_ro defaults to the
    repository checkout at /src; pass {} for none. cache=None follows
    HUBSTEAD_TEST_NO_CACHE; cache=True binds the pip/uv caches and copies cached apt
    .debs in after boot and new ones out at stop (see caches.py for why not a bind).
    """

    def __init__(
        self,
        rootfs: Path | None = None,
        *,
        binds_ro: Mapping[os.PathLike | str, str] | None = None,
        binds: Mapping[os.PathLike | str, str] | None = None,
        cache: bool | None = None,
        name: str | None = None,
        boot_timeout: float = 120.0,
    ):
        self.rootfs = Path(rootfs) if rootfs else ensure_base_rootfs(
            os.environ.get("HUBSTEAD_TEST_SUITE") or "bookworm")
        # Kept as (host, inside) pairs: one host dir may be bound at several places.
        self.binds_ro = list(({REPO_ROOT: "/src"} if binds_ro is None else binds_ro).items())
        self.binds = list((binds or {}).items())
        self.cache = caching_enabled() if cache is None else cache
        if self.cache:
            taken = {inside for _, inside in self.binds + self.binds_ro}
            self.binds += [(h, i) for h, i in cache_binds() if i not in taken]
        self.name = name or f"hs-{os.getpid()}-{next(_names)}"
        self.boot_timeout = boot_timeout
        self.pid: int | None = None  # the container's PID 1, as seen from the host
        self.nspawn: subprocess.Popen | None = None
        self.boot_seconds: float | None = None
        self.failed_units: list[str] = []
        self.console_tail = ""
        self._workdir: Path | None = None
        self._procs: set[subprocess.Popen] = set()

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> Container:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Container:
        if os.geteuid() != 0:
            raise ContainerError("containers need root (systemd-nspawn, nsenter)")
        for tool in ("systemd-nspawn", "nsenter", "setpriv"):
            if not shutil.which(tool):
                raise ContainerError(f"{tool} not found (apt-get install systemd-container util-linux)")
        _sweep_dead_workdirs()
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))
        argv = [
            "systemd-nspawn", "--directory", str(self.rootfs), "--boot",
            "--machine", self.name, "--hostname", CONTAINER_HOSTNAME,
            # No host systemd/machined to register with; stay in our own cgroup.
            "--register=no", "--keep-unit",
            "--console=pipe", "--volatile=overlay",
            # Otherwise nspawn may link the journal into the host's /var/log/journal.
            "--link-journal=no",
            # A VM's systemd may configure the network namespaces it makes for units
            # (PrivateNetwork= brings their loopback up); nspawn withholds that by default.
            "--capability=CAP_NET_ADMIN",
        ]
        for host, inside in self.binds_ro:
            argv.append(f"--bind-ro={self._bind_spec(host, inside)}")
        for host, inside in self.binds:
            argv.append(f"--bind={self._bind_spec(host, inside)}")
        if threading.current_thread() is threading.main_thread():
            # If this Python process dies without stop(), nspawn gets SIGTERM, which it
            # turns into a clean container shutdown. Only from the main thread: the
            # signal fires when the *thread* that started nspawn exits.
            argv = ["setpriv", "--pdeathsig", "TERM", "--"] + argv
        console = open(self._workdir / "console.log", "wb")
        started = time.monotonic()
        try:
            groups = self._own_cgroups()
            self.nspawn = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                           stderr=subprocess.STDOUT, start_new_session=True,
                                           preexec_fn=lambda: _join_cgroups(groups))
        finally:
            console.close()
        _live.add(self)
        try:
            self._wait_for_boot(started)
        except BaseException:
            self.stop()
            raise
        self.boot_seconds = time.monotonic() - started
        log(f"container {self.name} booted in {self.boot_seconds:.1f} s")
        if self.cache:
            try:
                seeded = seed_apt_archives(self.pid)
            except OSError as error:  # a slower test, not a failed one
                log(f"container {self.name}: could not copy cached apt .debs in: {error}")
            else:
                log(f"container {self.name}: {seeded} cached apt .debs copied in")
        return self

    def _own_cgroups(self) -> list[Path]:
        """A cgroup of this container's own in each hierarchy nspawn uses.

        With --keep-unit nspawn puts the container in "payload" below its own cgroup; started
        from one process, every container would share one payload, and so one
        system.slice/jupyterhub.service and one cgroup per user's server across containers
        (systemd then fails to kill "its" cgroup and units linger as loaded)."""
        made = []
        for hierarchy in CGROUP_HIERARCHIES:
            if Path(hierarchy, "cgroup.procs").exists():
                group = Path(hierarchy) / f"{CGROUP_PREFIX}{self.name}"
                group.mkdir(exist_ok=True)
                made.append(group)
        self._cgroups = made
        return made

    def _remove_cgroups(self) -> None:
        for group in getattr(self, "_cgroups", []):
            # Children (payload, supervisor) first; each must be empty by now.
            for child in sorted(group.rglob("*"), key=lambda path: len(path.parts), reverse=True):
                if child.is_dir():
                    try:
                        child.rmdir()
                    except OSError:
                        pass
            try:
                group.rmdir()
            except OSError as error:
                log(f"container {self.name}: cgroup {group} left behind: {error}")
        self._cgroups = []

    @staticmethod
    def _bind_spec(host: os.PathLike | str, inside: str) -> str:
        host = Path(host).resolve()
        if not host.exists():
            raise ContainerError(f"bind source does not exist: {host}")
        if ":" in str(host) or ":" in inside:
            raise ContainerError(f"':' in bind paths is not supported: {host} -> {inside}")
        return f"{host}:{inside}"

    def _wait_for_boot(self, started: float) -> None:
        deadline = started + self.boot_timeout
        state = "no PID 1 yet"
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise ContainerError(f"systemd-nspawn exited with {self.nspawn.returncode} "
                                     f"during boot:\n{self._console()}")
            if self.pid is None:
                self.pid = find_child(self.nspawn.pid, "systemd")
            if self.pid is not None:
                # --wait blocks until boot finished; it fails fast while systemd's
                # private socket does not exist yet, hence the loop.
                result = self.run(["systemctl", "is-system-running", "--wait"], check=False,
                                  timeout=max(1.0, deadline - time.monotonic()))
                state = result.stdout.strip() or result.stderr.strip()
                if state == "running":
                    return
                if state == "degraded":
                    failed = self.run(["systemctl", "--failed", "--no-legend", "--plain"],
                                      check=False).stdout
                    self.failed_units = [line.split()[0] for line in failed.splitlines() if line]
                    log(f"container {self.name} booted degraded; failed units:\n{failed}")
                    return
            time.sleep(0.1)
        raise ContainerError(f"container {self.name} not booted after {self.boot_timeout:.0f} s "
                             f"(last state: {state}):\n{self._console()}")

    def _console(self, lines: int = 60) -> str:
        if self._workdir and (self._workdir / "console.log").exists():
            return _tail((self._workdir / "console.log").read_text(errors="replace"), lines)
        return self.console_tail

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down cleanly (SIGRTMIN+3 to PID 1), kill after `timeout`; idempotent."""
        for proc in list(self._procs):
            kill_group(proc, signal.SIGKILL)
            proc.wait()
        self._procs.clear()
        if self.cache and self.pid is not None and self.nspawn.poll() is None:
            try:
                harvest_apt_archives(self.pid)
            except OSError as error:  # a cache miss next time, not a test failure
                log(f"container {self.name}: could not save apt .debs: {error}")
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.pid is not None:
                os.kill(self.pid, signal.SIGRTMIN + 3)
            else:
                self.nspawn.terminate()  # nspawn forwards it as the shutdown signal
            try:
                self.nspawn.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"container {self.name} did not shut down in {timeout:.0f} s; killing it")
                if self.pid is not None:
                    # Killing PID 1 of a PID namespace kills every process in it.
                    try:
                        os.kill(self.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                kill_group(self.nspawn, signal.SIGKILL)
                self.nspawn.wait()
        if self.nspawn is not None:
            # nspawn tries to remove this itself but refuses when /run is not a tmpfs.
            propagate = Path("/run/systemd/nspawn/propagate") / self.name
            if propagate.is_dir() and not os.path.ismount(propagate):
                subprocess.run(["rm", "-rf", "--one-file-system", str(propagate)], check=False)
        if self.nspawn is not None and self.nspawn.poll() is not None:
            self._remove_cgroups()
        if self._workdir is not None:
            self.console_tail = self._console()
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self.pid = None
        _live.discard(self)

    # -- running commands ----------------------------------------------------------

    def _argv(self, cmd, user: str | None, env: Mapping[str, str | None] | None,
              cwd: str | None) -> list[str]:
        if self.pid is None:
            raise ContainerError(f"container {self.name} is not running")
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else [str(part) for part in cmd]
        # Never pass the host's environment (proxy, pip and SSL variables) inside.
        environment = {"PATH": CONTAINER_PATH, "HOME": "/root", "LANG": "C.UTF-8"}
        if user is not None:
            entry = self.run(["getent", "passwd", user]).stdout.strip().split(":")
            uid, gid, home = entry[2], entry[3], entry[5]
            environment.update(HOME=home, USER=user, LOGNAME=user)
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"] + argv
        for key, value in (env or {}).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        prefix = ["nsenter", "--target", str(self.pid), "--all", "env", "-i"]
        if cwd:
            prefix.append(f"--chdir={cwd}")  # nsenter --wd would resolve it on the host
        return prefix + [f"{k}={v}" for k, v in environment.items()] + argv

    def run(self, cmd: str | Sequence[str], *, check: bool = True,
            timeout: float | None = DEFAULT_TIMEOUT, user: str | None = None,
            env: Mapping[str, str | None] | None = None, input: str | None = None,
            cwd: str | None = None) -> subprocess.CompletedProcess:
        """Run `cmd` inside (a list, or a string for sh -c) and capture its text output.

        Raises CommandFailed on a non-zero exit when check, CommandTimeout always when
        `timeout` passes (after killing the command). env values of None unset a key.
        """
        proc = subprocess.Popen(
            self._argv(cmd, user, env, cwd),
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            encoding="utf-8", errors="replace", start_new_session=True,
        )
        self._procs.add(proc)
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise CommandTimeout(cmd, None, stdout, stderr,
                                 note=f"command timed out after {timeout:.0f} s") from None
        except BaseException:
            kill_group(proc, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            self._procs.discard(proc)
        if check and proc.returncode != 0:
            raise CommandFailed(cmd, proc.returncode, stdout, stderr)
        return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)

    def run_background(self, cmd: str | Sequence[str], *, user: str | None = None,
                       env: Mapping[str, str | None] | None = None,
                       cwd: str | None = None) -> BackgroundProcess:
        """Start `cmd` inside without waiting. stdout+stderr go to `.output()`.

        `.send_signal()`, `.terminate()` and `.kill()` reach the command itself; stop()
        kills whatever is still running.
        """
        out_path = Path(tempfile.mkstemp(prefix="bg-", suffix=".log", dir=self._workdir)[1])
        with open(out_path, "wb") as out:
            proc = BackgroundProcess(self._argv(cmd, user, env, cwd), stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        proc.output_path = out_path
        self._procs.add(proc)
        return proc

    # -- conveniences ----------------------------------------------------------------

    def read_file(self, path: str) -> str:
        # Through nsenter rather than /proc/PID/root: absolute symlinks inside the
        # container would resolve against the host's root there.
        return self.run(["cat", "--", path]).stdout

    def write_file(self, path: str, text: str, mode: int | None = None) -> None:
        self.run(["sh", "-c", 'cat > "$1"', "sh", path], input=text)
        if mode is not None:
            self.run(["chmod", f"{mode:o}", "--", path])

    def path_exists(self, path: str) -> bool:
        return self.run(["test", "-e", path], check=False).returncode == 0

    def journal(self, unit: str | Sequence[str], lines: int = 200) -> str:
        """journalctl output for one or more units, for failure reports; never raises."""
        units = [unit] if isinstance(unit, str) else list(unit)
        argv = ["journalctl", "--no-pager", "--lines", str(lines)]
        for name in units:
            argv += ["--unit", name]
        try:
            result = self.run(argv, check=False, timeout=60)
        except ContainerError as error:
            return f"(journalctl failed: {error})"
        return result.stdout + result.stderr


@atexit.register
def _stop_leftovers() -> None:
    # A crashed test run must not leave containers running on the host.
    for container in list(_live):
        container.stop(timeout=10)


if __name__ == "__main__":
    # Manual check: python3 -m tests.harness.container
    with Container() as box:
        print(box.run(["systemctl", "is-system-running"], check=False).stdout.strip())
