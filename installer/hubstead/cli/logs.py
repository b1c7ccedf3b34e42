"""`hubstead logs`: show a service's or a user's server's journal (journalctl, exec'd)."""

import click

from ..logs import TARGETS  # a few lines, no imports of its own beyond the stdlib


def complete_username(ctx, param, incomplete):
    """Users who have a server account on this machine (their `jupyter-NAME` unix users)."""
    import pwd

    from ..usernames import UNIX_PREFIX

    names = sorted(entry.pw_name[len(UNIX_PREFIX):] for entry in pwd.getpwall()
                   if entry.pw_name.startswith(UNIX_PREFIX))
    return [name for name in names if name.startswith(incomplete)]


@click.command()
@click.argument("target", type=click.Choice(TARGETS))
@click.argument("name", required=False, shell_complete=complete_username)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as they come (Ctrl-C stops).")
@click.option("--since", metavar="TEXT",
              help="Start at this time, as journalctl reads it: '1 hour ago', 'today', '2025-05-01 09:00'.")
@click.option("-n", "--lines", type=click.IntRange(min=1), metavar="N",
              help="Show the last N lines (default 100 unless --since is given).")
def logs(target, name, follow, since, lines):
    """Show the logs of the hub, the proxy, Caddy (HTTPS), environment builds, a user's server, or a Binder build.

    \b
    Examples:
      hubstead logs hub --since '10 min ago'
      hubstead logs proxy --follow
      hubstead logs user alice --lines 50
      hubstead logs build 12 --follow
    """
    import os

    from ..logs import LogsError, LogTargetError, journalctl_argv, unit_for

    if target == "build":
        from .build import print_log

        if not (name or "").isdigit():
            raise click.UsageError("hubstead logs build ID: give a build id (see `hubstead build list`).")
        print_log(int(name), follow)
        return

    try:
        unit = unit_for(target, name)
    except LogTargetError as error:
        raise click.UsageError(str(error)) from None
    argv = journalctl_argv(unit, follow=follow, since=since, lines=lines)
    try:
        # Replace this process: journalctl owns the terminal, its pager and Ctrl-C.
        os.execvp(argv[0], argv)
    except FileNotFoundError:
        raise LogsError("journalctl is not installed: Hubstead logs to systemd's journal, "
                        "so this needs a systemd machine.") from None
