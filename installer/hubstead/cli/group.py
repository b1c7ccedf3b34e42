"""`hubstead group ...`: parse, call hubstead.users.groups, present."""

import click

from .common import confirm, emit_json, hub, json_option, yes_option


@click.group()
def group():
    """Hub groups: cohorts, instructors."""


@group.command("list")
@json_option
def list_(as_json):
    """List groups and how many members each has."""
    from ..users import groups

    found = groups.list_groups(hub())
    if as_json:
        emit_json([item.as_dict() for item in found])
        return
    for item in found:
        click.echo(f"{item.name}\t{len(item.users)} member(s)")


@group.command()
@click.argument("name")
@json_option
def members(name, as_json):
    """List the members of a group."""
    from ..users import groups

    found = groups.get_group(hub(), name)
    if as_json:
        emit_json(found.users)
        return
    for member in found.users:
        click.echo(member)


@group.command()
@click.argument("name")
def add(name):
    """Create a group."""
    from ..users import groups

    click.echo(f"Created group {name}." if groups.add_group(hub(), name) else f"Group {name} exists already.")


@group.command()
@click.argument("name")
@click.option("--purge", is_flag=True, help="Delete its folder /srv/hubstead/groups/NAME too.")
@yes_option
def remove(name, purge, yes):
    """Delete a group (its members stay users; its folder stays unless --purge)."""
    from ..users import groups

    confirm(f"Delete group {name}{' and its folder' if purge else ''}?", yes)
    folder = groups.remove_group(hub(), name, purge)
    click.echo(f"Deleted group {name}" + (f"; {folder}." if folder else "."))


@group.command("add-user")
@click.argument("group_name", metavar="GROUP")
@click.argument("user")
def add_user(group_name, user):
    """Put USER in GROUP."""
    from ..users import groups

    groups.add_member(hub(), group_name, user)
    click.echo(f"Added {user} to {group_name}.")


@group.command("remove-user")
@click.argument("group_name", metavar="GROUP")
@click.argument("user")
def remove_user(group_name, user):
    """Take USER out of GROUP."""
    from ..users import groups

    groups.remove_member(hub(), group_name, user)
    click.echo(f"Removed {user} from {group_name}.")
