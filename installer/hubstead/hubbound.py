"""Run a hub-managed service so that it ends when the hub that started it ends.

    python -m hubstead.hubbound HUB_PID COMMAND [ARG...]

The hub starts its services (hubstead's web service, the idle culler) as its own
children. When the hub dies (kill -9, a crash), systemd is meant to kill what is left
in jupyterhub.service's control group before the restart, but where it cannot (it
failed with EIO in a container whose cgroups it shares) the old web service kept its
port and every copy the new hub started failed with "Address already in use". So the
kernel is asked to send SIGTERM to the service when its parent dies
(PR_SET_PDEATHSIG, kept across the exec), whatever systemd manages to do.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def bound_command(command, hub_pid=None):
    """`command` run through this module, bound to the hub (this process by default:
    the hub's configuration runs in the hub)."""
    return [sys.executable, "-m", "hubstead.hubbound", str(hub_pid or os.getpid()), *command]


def main(argv):
    if len(argv) < 2 or not argv[0].isdigit():
        sys.exit("usage: python -m hubstead.hubbound HUB_PID COMMAND [ARG...]")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        sys.exit(f"hubstead.hubbound: prctl(PR_SET_PDEATHSIG): {os.strerror(ctypes.get_errno())}")
    # The hub may have died before the prctl: then nothing would ever signal us.
    if os.getppid() != int(argv[0]):
        sys.exit(f"hubstead.hubbound: the hub (pid {argv[0]}) is gone; not starting {argv[1]}")
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
