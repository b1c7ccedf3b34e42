"""`hubstead quota ...`: parse, call hubstead.limits.manage, present."""

import click

from .common import emit_json, hub, json_option


@click.group()
def quota():
    """Resource limits and disk quotas of users (limits.* and limits.groups.*)."""


def _size(count):
    from ..limits.sizes import format_size

    for unit, factor in (("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024)):
        if count >= factor:
            return f"{count / factor:.1f}{unit}"
    return format_size(count) if count else "0"


@quota.command()
@click.argument("user")
@json_option
def show(user, as_json):
    """USER's effective memory, CPU, disk, GPU, task limits and where each comes from."""
    from ..config.keys import format_value
    from ..limits import manage

    found = manage.show(hub(), user)
    if as_json:
        emit_json(found)
        return
    groups = ", ".join(found["groups"]) or "none"
    click.echo(f"{found['user']} (groups: {groups})")
    for key, limit in found["limits"].items():
        value = "no limit" if limit["value"] is None else format_value(limit["value"])
        click.echo(f"  {key:<17}{value:<12}({limit['source']})")


@quota.command("list")
@json_option
def list_(as_json):
    """Every user's disk use against their quota."""
    from ..limits import manage

    rows = manage.list_usage(hub())
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'USER':<20}{'USED':>10}  {'QUOTA':<10}SOURCE")
    for row in rows:
        click.echo(f"{row['user']:<20}{_size(row['used']):>10}  {row['quota'] or 'none':<10}{row['source']}")


@quota.command("set", context_settings={"ignore_unknown_options": True})  # SIZE -5M: refused as a size
@click.argument("user")
@click.argument("size")
def set_(user, size):
    """Give USER a disk quota of SIZE (e.g. 500M, 10G; none: back to their groups' or the
    global one), applied now with the filesystem's quotas."""
    from ..limits import manage

    limit = manage.set_quota(hub(), user, size)
    click.echo(f"{user}'s disk quota is {limit.value or 'none'} ({limit.source}).")


@quota.command()
@click.option("--record", is_flag=True, help="Also record whether /home keeps quotas (the install does).")
def apply(record):
    """Set every user's disk quota now, in one batch (the install and config reload do)."""
    from ..limits import manage, quota as disk_quota

    found = disk_quota.record() if record else disk_quota.support()
    if found.refusal:
        click.echo(f"No disk quotas here: {found.refusal}.")
        return
    count = manage.apply_all(hub(), found)
    click.echo(f"Applied the disk quotas of {count} user(s) on {found.mountpoint} ({found.filesystem}).")
