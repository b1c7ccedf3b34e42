"""`hubstead backup ...`: parse, call hubstead.backup, present."""

import time
from pathlib import Path

import click

from .common import console, emit_json, json_option, yes_option


@click.group()
def backup():
    """Archives of the hub that restore here or on a new machine."""


def _progress():
    out = console()
    return lambda message: out.print(f"[cyan]•[/cyan] {message}")


@backup.command()
@click.option("--to", "target", type=click.Path(dir_okay=False), help="The archive to write "
              "(default: /var/lib/hubstead/backups/hubstead-DATE.tar.gz).")
@click.option("--homes", is_flag=True, help="Also every user's home (content, owners, modes, links).")
@click.option("--scheduled", is_flag=True, help="As the backup.schedule timer does: with homes, into "
              "/var/lib/hubstead/backups, then keep only the backup.keep newest.")
def create(target, homes, scheduled):
    """Write one archive: databases, config, secrets, environments' locks, accounts."""
    from ..backup import create as backup_create, schedule

    if scheduled and target:
        raise click.UsageError("--scheduled writes into /var/lib/hubstead/backups; leave out --to.")
    pruned = []
    with console().status("backing up", spinner="dots"):
        if scheduled:
            path, pruned = schedule.run_scheduled(report=_progress())
        else:
            path = backup_create.create(target, homes=homes, report=_progress())
    for old in pruned:
        click.echo(f"Deleted {old} (backup.keep).")
    size = Path(path).stat().st_size
    click.echo(f"Wrote {path} ({size / 1e6:.1f} MB, mode 0600).")


@backup.command()
@click.argument("archive", type=click.Path(dir_okay=False))
@json_option
def verify(archive, as_json):
    """Check an archive against its manifest without restoring anything."""
    from ..backup.archive import read_manifest

    manifest = read_manifest(archive)
    if as_json:
        emit_json({**manifest.header(), "members": len(manifest.members)})
        return
    click.echo(f"{archive}: intact; Hubstead {manifest.version}, made {_when(manifest.created)}, "
               f"{len(manifest.members)} members{', with homes' if manifest.homes else ''}.")


@backup.command("list")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@json_option
def list_(directory, as_json):
    """The archives in DIRECTORY (default /var/lib/hubstead/backups), newest first."""
    from ..backup import schedule

    listed = schedule.archives(directory)
    if as_json:
        emit_json(listed)
        return
    for item in listed:
        state = item.get("problem") or f"Hubstead {item['version']}, made {_when(item['created'])}"
        click.echo(f"{item['path']}\t{item['size'] / 1e6:.1f} MB\t{state}")


@backup.command()
@click.argument("archive", type=click.Path(dir_okay=False))
@yes_option
def restore(archive, yes):
    """Restore an archive onto this hub (checked first; nothing changes if it is damaged)."""
    from ..backup import restore as backup_restore

    progress = _progress()
    plan = backup_restore.prepare(archive, report=progress)
    try:
        click.echo("This restore will:")
        for line in plan.summary():
            click.echo(f"  - {line}")
        not_rebuilt = backup_restore.apply(plan, confirmed=yes, report=progress)
    finally:
        plan.discard()
    for name, why in not_rebuilt:
        click.echo(f"note: environment {name} was not rebuilt: {why}; build it again from its spec or "
                   "repository.", err=True)
    left_out = plan.stager.left_out if plan.stager else []
    if left_out:
        click.echo(f"note: {len(left_out)} link(s) pointing out of their home were left out: "
                   f"{', '.join(left_out[:5])}", err=True)
    click.echo(f"Restored {archive}: {len(plan.archive_users)} users; they log in with their old passwords.")


def _when(created):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(created))

