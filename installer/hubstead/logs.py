"""`hubstead logs`'s core: which systemd unit a target names, and the journalctl to read it.

Everything Hubstead runs logs to journald (design.md), so logs are journalctl with the
right unit; the CLI replaces itself with that journalctl so --follow streams and
Ctrl-C stops it the way operators expect.
"""

import logging
import logging.handlers
from pathlib import Path

from .errors import HubsteadError
from .usernames import unix_name, username_problem

# target -> its unit; `user NAME` is computed (SystemdSpawner's template, see hubconfig).
SERVICE_TARGETS = {"hub": "jupyterhub.service", "proxy": "configurable-http-proxy.service",
                   "caddy": "caddy.service"}
# Environment builds log under a syslog identifier, not a unit (hubstead.envs.manage).
IDENTIFIER_TARGETS = {"envs": "hubstead-env"}
# Binder builds keep a log file each (hubstead.builder.records), read by `build logs`.
TARGETS = (*SERVICE_TARGETS, *IDENTIFIER_TARGETS, "user", "build")
DEFAULT_LINES = 100


class LogsError(HubsteadError):
    """Logs cannot be shown on this machine; the message says why."""


class LogTargetError(ValueError):
    """The target named on the command line is not one we can show; the message says why."""


def server_unit(user):
    """SystemdSpawner's unit for USER's server (hubconfig.configure_spawner sets the template)."""
    return f"{unix_name(user)}-singleuser.service"


def unit_for(target, name=None):
    """The systemd unit behind TARGET (hub, proxy, or user with NAME)."""
    if target in IDENTIFIER_TARGETS:
        if name is not None:
            raise LogTargetError(f"`{target}` takes no NAME (only `user NAME` does).")
        return f"identifier:{IDENTIFIER_TARGETS[target]}"
    if target in SERVICE_TARGETS:
        if name is not None:
            raise LogTargetError(f"`{target}` takes no NAME (only `user NAME` does).")
        return SERVICE_TARGETS[target]
    if target == "user":
        if name is None:
            raise LogTargetError("`user` needs the user's NAME, e.g. `hubstead logs user alice`.")
        problem = username_problem(name)
        if problem:
            raise LogTargetError(f"{name!r} is not a Hubstead username: {problem}")
        return server_unit(name)
    raise LogTargetError(f"unknown target {target!r}; use one of: {', '.join(TARGETS)}.")


def journalctl_argv(unit, follow=False, since=None, lines=None):
    """journalctl's argv for UNIT (or `identifier:NAME` for a syslog identifier).

    Without --lines or --since, the last DEFAULT_LINES lines: a busy hub's whole
    journal is rarely what an operator asking "what happened?" wants."""
    selector = f"--identifier={unit[11:]}" if unit.startswith("identifier:") else f"--unit={unit}"
    argv = ["journalctl", selector]
    if since is not None:
        argv.append(f"--since={since}")
    if lines is None and since is None:
        lines = DEFAULT_LINES
    if lines is not None:
        argv.append(f"--lines={lines}")
    if follow:
        argv.append("--follow")
    return argv


def to_journal(logger, identifier):
    """Send `logger`'s records to the journal as SYSLOG_IDENTIFIER `identifier` (once per
    logger), when there is a journal (/dev/log). True if they go there."""
    if not Path("/dev/log").exists():
        return False
    if not any(isinstance(handler, logging.handlers.SysLogHandler) for handler in logger.handlers):
        handler = logging.handlers.SysLogHandler(address="/dev/log")
        handler.setFormatter(logging.Formatter(f"{identifier}: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return True
