"""`hubstead status`: collect the state (hubstead.status), then show it as tables or JSON.

Nothing heavy at module level: `hubstead --help` imports this module to list the command.
"""

import click

UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (keys in docs/admin.md).")
@click.pass_context
def status(ctx, as_json):
    """Show the hub's health: services, URL, users, servers, disk and versions.

    Exits 1 when the hub is not healthy (a service is not active, the hub's API
    does not answer, or a disk holding its state, homes or environments is full or
    nearly full), so scripts can rely on the exit code; everything that could be
    read is still printed.

    \b
    --json keys: healthy, problems, url, services, hub, users, servers, disk,
    versions (each described in docs/admin.md, "Health at a glance").
    """
    from .. import config
    from ..status import collect_status

    settings = config.current()
    report = collect_status(settings)
    if as_json:
        import json

        click.echo(json.dumps(report, indent=2))
    else:
        present(report)
    if not report["healthy"]:
        ctx.exit(1)


def present(report):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    verdict = "[green]healthy[/green]" if report["healthy"] else "[red]not healthy[/red]"
    console.print(f"Hubstead at [bold]{report['url']}[/bold]: {verdict}")

    services = Table(title="Services", title_justify="left")
    for column in ("service", "state", "since"):
        services.add_column(column)
    for name, service in report["services"].items():
        services.add_row(name, service_state(service), when(service["since"]))
    console.print(services)

    users = report["users"]
    if report["servers"] is not None:
        console.print(f"Users: {count(users['total'])} total, {count(users['admins'])} admin(s), "
                      f"{count(users['active_24h'])} active in the last 24 h, "
                      f"{count(users['pending'])} waiting for approval")
        console.print(servers_table(report["servers"]) if report["servers"] else "Servers: none running")
    else:
        console.print(f"[red]Users and servers unknown:[/red] {report['hub']['error']}", highlight=False)
        if users["pending"] is not None:
            console.print(f"Sign-ups waiting for approval: {users['pending']}")

    disk = Table(title="Disk", title_justify="left")
    for column, justify in (("path", "left"), ("file system", "left"), ("free", "right"), ("size", "right"),
                            ("used", "right")):
        disk.add_column(column, justify=justify)
    for entry in report["disk"]:
        used = entry["used_percent"]
        shown = "-" if used is None else f"[red]{used}%[/red]" if used >= 90 else f"{used}%"
        disk.add_row(entry["path"], entry["mount"], size(entry["free_bytes"]), size(entry["total_bytes"]), shown)
    console.print(disk)

    versions = report["versions"]
    console.print("Versions: " + ", ".join(f"{name} {versions[name] or 'unknown'}" for name in versions))
    for problem in report["problems"]:
        console.print(f"[yellow]• {problem}[/yellow]", highlight=False)


def servers_table(servers):
    from rich.table import Table

    table = Table(title=f"Servers running ({len(servers)})", title_justify="left")
    for column, justify in (("user", "left"), ("state", "left"), ("memory", "right"), ("CPU time", "right"),
                            ("started", "left"), ("last activity", "left")):
        table.add_column(column, justify=justify)
    for server in servers:
        label = server["user"] + (f"/{server['name']}" if server["name"] else "")
        state = "ready" if server["ready"] else f"{server['pending'] or 'pending'}..."
        cpu = "-" if server["cpu_seconds"] is None else f"{server['cpu_seconds']:.1f} s"
        table.add_row(label, state, size(server["memory_bytes"]), cpu, when(server["started"], short=True),
                      when(server["last_activity"], short=True))
    return table


def service_state(service):
    if service["active"] is None:
        return "unknown"
    if service["load"] == "not-found":
        return "[red]not installed[/red]"
    text = f"{service['active']} ({service['sub']})" if service["sub"] else service["active"]
    return f"[green]{text}[/green]" if service["active"] == "active" else f"[red]{text}[/red]"


def when(timestamp, short=False):
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC (N ago)', or just 'N ago'; '-' when unknown."""
    from datetime import datetime, timezone

    if not timestamp:
        return "-"
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    elapsed = ago(datetime.now(timezone.utc) - moment)
    return elapsed if short else f"{moment:%Y-%m-%d %H:%M} UTC ({elapsed})"


def ago(delta):
    seconds = max(0, int(delta.total_seconds()))
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds // length} {unit} ago"
    return f"{seconds} s ago"


def size(count_bytes):
    if count_bytes is None:
        return "-"
    value = float(count_bytes)
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def count(value):
    return "?" if value is None else str(value)
