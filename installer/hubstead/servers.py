"""The running servers as the instructors' page shows them, and stopping idle ones."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from . import activity, status
from .users import manage


def running(hub, show=status.systemctl_show, models=None):
    """Every running (or starting, stopping) server: user, environment, started, last
    activity, memory and CPU now (percent of a core since the last activity sample)."""
    # Only users with a server (the hub filters): a class of 200 with 50 running lists 50.
    models = hub.paginated("users", {"state": "active"}) if models is None else models
    reports, _ = status.server_reports(models, show)
    options = {model["name"]: (model.get("servers") or {}).get("", {}).get("user_options") or {}
               for model in models}
    previous, now = activity.last_cpu(), time.time()
    default = None
    answer = []
    for report in reports:
        if report["name"]:  # named servers are not hubstead's
            continue
        if default is None:
            default = _default_env()
        answer.append({
            "user": report["user"], "environment": environment_of(options.get(report["user"]), default),
            "started": report["started"], "last_activity": report["last_activity"],
            "memory_bytes": report["memory_bytes"], "cpu_seconds": report["cpu_seconds"],
            "cpu_percent": activity.cpu_percent(report["cpu_seconds"], previous.get(report["user"]), now),
            "state": "stopping" if report["pending"] == "stop" else "running" if report["ready"] else "starting",
        })
    return answer


def environment_of(user_options, default):
    """The environment a server was started in: a launch link's build's, the chosen one, or the default."""
    user_options = user_options or {}
    if str(user_options.get("binder", "")).isdigit():
        from .builder import records

        record = records.get(int(user_options["binder"]))
        if record is not None:
            return record.env
    return user_options.get("environment") or default


def _default_env():
    from .envs import manage as envs_manage

    return envs_manage.default_name()


def idle_users(servers, minutes, now=None):
    """Users of servers whose last activity is more than MINUTES ago."""
    now = now or datetime.now(timezone.utc)
    idle = []
    for server in servers:
        last = status.parse_hub_time(server.get("last_activity")) or status.parse_hub_time(server.get("started"))
        if last is not None and (now - last).total_seconds() > minutes * 60:
            idle.append(server["user"])
    return idle


def stop_idle(hub, minutes):
    """Stop every server idle for more than MINUTES; the users whose servers stopped."""
    stopped = []
    for user in idle_users(running(hub, show=lambda units, props: [{} for _ in units]), minutes):
        if manage.stop_server(hub, user):
            stopped.append(user)
    return stopped


def counts(hub, models=None):
    """Running servers, pending sign-ups and users, for the page's header."""
    from .users import native

    models = hub.users() if models is None else models
    return {"running_servers": len([1 for user, name, _ in status.active_servers(models) if not name]),
            "pending_signups": status.pending_signups(native.hub_db_path()) or 0,
            "users": len(models)}


def sample_now(hub):
    """Record one activity sample of every running server (the web service does, each minute)."""
    activity.record(running(hub))
