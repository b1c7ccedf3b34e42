"""Host-side process and port helpers for the container harness.

Kept apart from container.py to keep each file readable; no pytest import here either.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
from pathlib import Path


def free_tcp_ports(count: int = 1) -> list[int]:
    """Distinct TCP ports that are free on the host right now.

    Picked below the kernel's ephemeral range (32768+), so an outgoing connection from
    some container (pip, apt) cannot grab the port before the service inside binds it.
    """
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20000, 32000)
        if port in ports:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("0.0.0.0", port))
        except OSError:
            continue
        ports.append(port)
    return ports


def processes():
    """(pid, comm, ppid, pgrp) of every host process, read from /proc/PID/stat."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                head, _, rest = stat.read().rpartition(")")
        except OSError:
            continue
        fields = rest.split()
        yield int(entry.name), head.partition("(")[2], int(fields[1]), int(fields[2])


def find_child(parent: int, comm: str) -> int | None:
    """PID of `parent`'s child named `comm` (pgrep -P PARENT -x COMM, without pgrep)."""
    for pid, name, ppid, _ in processes():
        if name == comm and ppid == parent:
            return pid
    return None


def kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class BackgroundProcess(subprocess.Popen):
    """A command running inside a container; signals go to its whole process group.

    nsenter forks the real command into the container's PID namespace, so signalling
    only nsenter's PID would leave the command running. Output goes to a file, not a
    pipe, so a chatty command never blocks on a full pipe nobody reads.
    """

    output_path: Path

    def send_signal(self, sig: int) -> None:
        """Signal the command like Ctrl-C would: every process of its group but nsenter.

        nsenter survives and then exits with the command's own status, so a test sees
        how the command reacted (e.g. exit code 130 after SIGINT).
        """
        if self.poll() is not None:
            return
        for pid, _, _, pgrp in processes():
            if pgrp == self.pid and pid != self.pid:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        if sig == signal.SIGKILL:
            kill_group(self, sig)

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")
