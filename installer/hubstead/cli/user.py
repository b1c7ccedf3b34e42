"""`hubstead user ...`: parse, call hubstead.users.manage, present."""

import click

from .common import confirm, console, emit_json, hub, json_option, read_password_stdin, yes_option


@click.group()
def user():
    """Hub users: add, import, approve, lock, remove."""


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user a hub admin.")
@click.option("--email", help="The user's e-mail address.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else one is generated).")
def add(name, admin, email, password_stdin):
    """Create an approved account and print its password."""
    from ..users import manage

    password = manage.add_user(hub(), name, admin=admin, email=email,
                               password=read_password_stdin() if password_stdin else None)
    if password is None:
        from ..users import logins

        click.echo(f"Created {name}{' (admin)' if admin else ''}: {logins.login_words()}.", err=True)
        return
    click.echo(f"Created {name}{' (admin)' if admin else ''}.", err=True)
    if not password_stdin:
        click.echo(password)


@user.command("list")
@json_option
@click.option("--pending", is_flag=True, help="Only sign-ups that wait for approval.")
def list_(as_json, pending):
    """List accounts: approval, admin, lock, server, groups."""
    from ..users import manage

    accounts = [a for a in manage.list_accounts(hub()) if not pending or not a.approved]
    if as_json:
        emit_json([account.as_dict() for account in accounts])
        return
    from rich.table import Table

    from ..usernames import UNIX_PREFIX

    table = Table("user", "status", "admin", "server", "groups", "last activity")
    for account in accounts:
        status = "locked" if account.locked else ("approved" if account.approved else "[yellow]pending[/yellow]")
        if account.locked_out:
            status += f", [red]locked out[/red] {account.locked_out['minutes']} min ({_lock_scope(account.locked_out)})"
        # The unix account only where the rule derived it (a long name, an e-mail).
        shown = account.name if account.unix_account == UNIX_PREFIX + account.name else (
            f"{account.name} (unix: {account.unix_account})")
        table.add_row(shown, status, "yes" if account.admin else "", account.server or "",
                      ", ".join(account.groups), (account.last_activity or "")[:19])
    console().print(table)


def _lock_scope(locked_out):
    if locked_out["everywhere"]:
        return "from everywhere"
    return "from " + ", ".join(locked_out["addresses"])


@user.command("import")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet", required=True, type=click.Path(dir_okay=False),
              help="Where to write the password sheet (CSV; a printable .html goes beside it).")
def import_(roster, sheet):
    """Create workshop accounts in bulk from a CSV roster (header: username[,email][,group])."""
    from ..config import current
    from ..install import public_url
    from ..users import manage

    url = public_url(current())
    sheets, count = manage.import_roster(hub(), roster, sheet, url)
    if sheets is None:
        from ..users import logins

        click.echo(f"Created {count} accounts and their groups; {logins.login_words()}, so no sheet was written.")
        return
    csv_path, html_path = sheets
    click.echo(f"Created {count} accounts. Passwords: {csv_path} (printable: {html_path}).")


@user.command()
@click.argument("name")
def approve(name):
    """Approve a sign-up that waits."""
    from ..users import manage

    manage.approve(name)
    click.echo(f"Approved {name}: they can log in now.")


@user.command()
@click.argument("name")
@yes_option
def reject(name, yes):
    """Discard a sign-up that waits for approval."""
    from ..users import manage

    confirm(f"Discard {name}'s sign-up?", yes)
    manage.reject(hub(), name)
    click.echo(f"Discarded {name}'s sign-up.")


@user.command()
@click.argument("name")
@click.option("--keep-home/--purge", default=True,
              help="Keep the home directory and unix account (default), or delete them.")
@yes_option
def remove(name, keep_home, yes):
    """Remove a user: stops their server; keeps their files unless --purge."""
    from ..users import manage

    confirm(f"Remove {name} from the hub?", yes)
    if not keep_home:
        confirm(f"Delete {name}'s home directory and everything in it? This cannot be undone.", yes)
    removal = manage.remove(hub(), name, purge=not keep_home)
    stopped = " Their server was stopped." if removal.server_stopped else ""
    kept = f" Their files stay in {removal.home}." if removal.home else ""
    click.echo(f"Removed {name}.{stopped}{kept}{' Home deleted.' if removal.purged else ''}")


@user.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def reset_password(name, password_stdin):
    """Give a user a new password (printed unless read from stdin)."""
    from ..users import manage

    password = manage.reset_password(name, read_password_stdin() if password_stdin else None)
    click.echo(f"New password set for {name}.", err=True)
    if not password_stdin:
        click.echo(password)


@user.group()
def admin():
    """Grant or revoke hub admin (and sudo in their server)."""


@admin.command()
@click.argument("name")
def grant(name):
    """Make NAME a hub admin."""
    from ..users import manage

    manage.set_admin(hub(), name, True)
    click.echo(f"{name} is an admin now (sudo from their next server start).")


@admin.command()
@click.argument("name")
def revoke(name):
    """Make NAME an ordinary user."""
    from ..users import manage

    manage.set_admin(hub(), name, False)
    click.echo(f"{name} is no longer an admin.")


@user.command()
@click.argument("name")
@click.option("--reason", default="", help="Kept with the lock, for other admins.")
def lock(name, reason):
    """Lock a user out: no login, sessions end, server stopped."""
    from ..users import manage

    changed = manage.lock(hub(), name, reason)
    click.echo(f"Locked {name}." if changed else f"{name} was locked already.")


@user.command()
@click.argument("name", required=False)
@click.option("--address", help="Instead: let this address try to log in again (after too many failed logins).")
def unlock(name, address):
    """Let a locked user log in again: locked by an admin, or after too many failed logins."""
    from ..users import manage

    if bool(name) == bool(address):
        raise click.UsageError("give a NAME or --address ADDRESS.")
    if address:
        done = manage.unblock_address(address)
        click.echo(f"Unblocked {address}." if done else f"{address} was not blocked.")
        return
    click.echo(f"Unlocked {name}." if manage.unlock(name) else f"{name} was not locked.")
