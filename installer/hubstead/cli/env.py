"""`hubstead env ...`: parse, call hubstead.envs, present."""

import click

from .common import confirm, console, emit_json, json_option, yes_option


@click.group()
def env():
    """User environments: create, update, roll back, choose the default."""


def _progress():
    out = console()
    return lambda message: out.print(f"[cyan]•[/cyan] {message}")


def _spec_option(required=True):
    return click.option("--file", "spec", required=required, type=click.Path(exists=True, dir_okay=False),
                        help="An environment.yml (conda + optional pip section) or a requirements.txt (PyPI).")


@env.command()
@click.argument("name")
@_spec_option()
@click.option("--description", default="", help="Shown to users when they pick an environment.")
def create(name, spec, description):
    """Solve, lock and build a new environment from a spec file."""
    from ..envs import manage

    build = manage.create(name, spec, description, progress=_progress())
    click.echo(f"Created {name} (build {build}): users can pick it when they start a server.")


@env.command()
@click.argument("name")
@_spec_option()
def update(name, spec):
    """Build a new version beside the old one; switch to it only if it succeeds."""
    from ..envs import manage

    build = manage.update(name, spec, progress=_progress())
    click.echo(f"{name} now serves build {build}; running servers keep theirs until restarted.")


@env.command("list")
@json_option
def list_(as_json):
    """List environments, their current build and description."""
    from ..envs import store
    from ..envs.manage import default_name

    environments = store.all_environments()
    default = default_name()
    if as_json:
        emit_json([{**item.as_dict(), "default": item.name == default} for item in environments])
        return
    for item in environments:
        marker = " (default)" if item.name == default else ""
        click.echo(f"{item.name}{marker}\t{item.current}\t{len(item.builds)} build(s)\t{item.description}")


@env.command()
@click.argument("name")
@json_option
def show(name, as_json):
    """An environment's builds, packages and size."""
    from ..envs import inspect

    details = inspect.details(name)
    if as_json:
        emit_json(details)
        return
    click.echo(f"{details['name']}: {details['description']}")
    for build in details["builds"]:
        marker = "*" if build["current"] else " "
        click.echo(f" {marker} {build['id']}  {build['kind']}  {build['size_mb']} MB  created {build['created_at']}")
    click.echo(f"packages in {details['current']} ({len(details['packages'])}):")
    for package in details["packages"]:
        click.echo(f"   {package['name']} {package['version']}")


@env.command()
@click.argument("name")
@click.option("--to", "build_id", help="The build to switch to (default: the one before the current).")
def rollback(name, build_id):
    """Switch back to an earlier build (instant: a symlink)."""
    from ..envs import manage

    chosen = manage.rollback(name, build_id)
    click.echo(f"{name} now serves build {chosen}.")


@env.command()
@click.argument("name")
@yes_option
def remove(name, yes):
    """Delete an environment and all its builds."""
    from ..envs import manage

    confirm(f"Delete environment {name} and all its builds?", yes)
    manage.remove(name)
    click.echo(f"Deleted {name}.")


@env.command()
@click.argument("name")
@click.option("--build", "build_id", help="Another build than the current one.")
def export(name, build_id):
    """Print the lock of an environment (reproduces it elsewhere)."""
    from ..envs import manage

    click.echo(manage.export(name, build_id), nl=False)


@env.command()
@click.argument("name")
def default(name):
    """Make NAME the environment servers start in unless users pick another."""
    from ..envs import manage

    manage.set_default(name)
    click.echo(f"{name} is the default environment now: new servers start in it.")


@env.command()
@click.argument("name")
@click.option("--keep", default=2, show_default=True, type=click.IntRange(0, 100),
              help="How many of the newest builds to keep besides the current one.")
def prune(name, keep):
    """Delete old builds (never the current one or one a server runs from)."""
    from ..envs import inspect, store

    removed = store.prune(name, keep, in_use=inspect.builds_in_use(name))
    click.echo(f"Removed {len(removed)} build(s) of {name}." if removed else f"Nothing to prune in {name}.")
