"""`hubstead install`: parse options, call the core, present the outcome."""

import click


@click.command()
@click.option("--admin", "admins", multiple=True, metavar="NAME[:PASSWORD]",
              help="Make NAME a hub admin (repeat for several). Admins are approved at sign-up; "
                   "with :PASSWORD the account exists with that password.")
@click.option("--http-port", type=click.IntRange(1, 65535), help="Port the hub answers on (default 80).")
@click.option("--hub-port", type=click.IntRange(1, 65535), help="The hub's internal port on 127.0.0.1 (default 8081).")
@click.option("--proxy-api-port", type=click.IntRange(1, 65535),
              help="configurable-http-proxy's API port on 127.0.0.1 (default 8001).")
@click.option("--web-port", type=click.IntRange(1, 65535),
              help="hubstead's web service port on 127.0.0.1 (default 8082).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="The config file (default /etc/hubstead/config.yaml).")
@click.option("--plugin", "plugins", multiple=True, metavar="PKG",
              help="A TLJH plugin (a pip requirement) installed into the hub, its hooks honoured (repeatable).")
@click.option("--user-requirements-txt-url", metavar="URL",
              help="A requirements.txt whose packages are added to the default user environment.")
@click.option("--progress-page-pid", type=int, hidden=True,
              help="bootstrap.py's progress page server, stopped before the proxy takes the port.")
@click.option("--check", is_flag=True, help="Show what would change and change nothing.")
@click.version_option(package_name="hubstead", prog_name="hubstead", message="%(prog)s %(version)s")
def install(admins, http_port, hub_port, proxy_api_port, web_port, config_path, plugins,
            user_requirements_txt_url, progress_page_pid, check):
    """Install Hubstead on this machine, or upgrade it (safe to re-run).

    --admin NAME:PASSWORD makes NAME an admin who logs in with PASSWORD (no sign-up)."""
    from rich.console import Console

    from .. import paths
    from ..install import InstallOptions, run_install

    console = Console(stderr=True)
    options = InstallOptions(admins=list(admins), http_port=http_port, hub_port=hub_port,
                             proxy_api_port=proxy_api_port, web_port=web_port,
                             config_path=config_path or str(paths.CONFIG_PATH), plugins=list(plugins),
                             user_requirements_url=user_requirements_txt_url, progress_page_pid=progress_page_pid)
    report = run_install(options, check=check, console=console)
    present(report, check, console)


def present(report, check, console, final_hint=True):
    result = report.apply
    if not result.ok:
        failed = ", ".join(outcome.name for outcome in result.failed) or result.status
        raise click.ClickException(f"install failed at: {failed}. Fix the cause above and run the same command again.")
    extras = report.extras
    changes = len(result.changed) + int(report.config_changed) + (extras.changes if extras else 0)
    for note in extras.notes if extras else []:
        console.print(f"[yellow]•[/yellow] {note}", soft_wrap=True)  # one line, for scripts and logs
    for line in report.config_differences:
        console.print(f"[yellow]• {'would set' if check else 'set'}:[/yellow] {line}")
    if check:
        console.print("Nothing would change." if not changes else f"{changes} change(s) would be made; nothing was changed.")
        return
    if not changes:
        console.print(f"[green]Nothing changed:[/green] the hub is up to date at {report.url}")
        return
    console.print(f"[green]Hubstead is running at {report.url}[/green] ({changes} change(s) applied)")
    if not final_hint:
        return
    if report.admins_with_password:
        console.print(f"Next: log in as {report.admins_with_password[0]} at {report.url}/hub/login")
    elif report.admins:
        console.print(f"Next: sign up as {report.admins[0]} at {report.url}/hub/signup")
    else:
        console.print("Next: name an admin with `hubstead install --admin NAME`, then sign up as that user.")
