"""Stop a user's server unit until systemd has forgotten it, so the next start of the
same name (jupyter-NAME-singleuser) cannot fail.

systemd-run refuses a unit name that is still loaded ("Unit ... was already loaded or
has a fragment file"), and SystemdSpawner 1.0 ignores systemd-run's exit status, so
such a start waited for the hub's whole start_timeout and failed without a word. A
name stays loaded while its unit is still stopping: `systemctl stop` waits up to
TimeoutStopSec (90 s) for a process that ignores SIGTERM, and a hub restarted or
killed meanwhile no longer waits and thinks the server gone (is-active says
"deactivating", not "active"). It stays loaded, too, while the unit is "failed".

So a stop here escalates to SIGKILL after a short grace, and waits until the unit is
gone; a start first does the same to whatever is left of an earlier server.
"""

import asyncio
import time

STOP_GRACE = 10.0  # seconds a stopping server's processes get between SIGTERM and SIGKILL
GONE_TIMEOUT = 30.0  # seconds, after the SIGKILL, for systemd to forget the unit
POLL_INTERVAL = 0.2
RUNNING_STATES = ("active", "activating", "reloading", "refreshing")


class UnitStuck(RuntimeError):
    """The unit could not be stopped and forgotten in time; the message says its state."""


async def systemctl(*args):
    """Run systemctl; (exit status, stdout). Its stderr goes to the hub's log."""
    proc = await asyncio.create_subprocess_exec("systemctl", *args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return proc.returncode, out.decode(errors="replace")


async def _show(unit):
    """(systemctl's exit status, {property: value}) of `unit`'s states."""
    status, out = await systemctl("show", "--property=LoadState,ActiveState,SubState", "--", unit)
    return status, dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


async def unit_state(unit):
    """(LoadState, ActiveState, SubState) of `unit`; LoadState "not-found" once systemd
    has forgotten a transient unit."""
    _, fields = await _show(unit)
    return fields.get("LoadState", ""), fields.get("ActiveState", ""), fields.get("SubState", "")


async def has_stopped(unit):
    """True once systemd says `unit` is not running (stopped, failed, going, forgotten).

    False while it runs, and also when systemd does not answer: with a class's units
    starting at once, `systemctl is-active` (SystemdSpawner's poll) waited about 25 s for
    PID 1 and failed, and the hub took a server that ran on for one that had stopped."""
    status, fields = await _show(unit)
    if status != 0 or not fields.get("ActiveState"):
        return False
    return fields.get("LoadState") == "not-found" or fields["ActiveState"] not in RUNNING_STATES


async def stop_until_gone(unit, log, grace=STOP_GRACE, timeout=GONE_TIMEOUT):
    """Stop `unit` (SIGTERM, then SIGKILL to all its processes after `grace` seconds),
    reset it if it failed, and return once systemd no longer has it loaded. Raises
    UnitStuck if it is still there `timeout` seconds after that."""
    started = time.monotonic()
    escalated = False
    while True:
        load, active, sub = await unit_state(unit)
        if load == "not-found":
            return
        now = time.monotonic()
        if active in RUNNING_STATES:
            # --no-block: the wait and the escalation are ours, not TimeoutStopSec's.
            await systemctl("stop", "--no-block", "--", unit)
        elif active == "failed":
            await systemctl("reset-failed", "--", unit)
        elif active == "deactivating" and not escalated and now - started >= grace:
            log.warning("%s still %s %.0f s after the stop: killing what is left", unit, sub, grace)
            await systemctl("kill", "--kill-who=all", "--signal=SIGKILL", "--", unit)
            escalated = True
        elif active == "inactive" and not escalated and now - started >= grace:
            # Stopped but not collected: the reset lets systemd forget it.
            await systemctl("reset-failed", "--", unit)
            escalated = True
        if now - started > grace + timeout:
            raise UnitStuck(f"{unit} could not be stopped: still {active} ({sub}) after "
                            f"{now - started:.0f} s; see `journalctl -u {unit}`")
        await asyncio.sleep(POLL_INTERVAL)
