"""`hubstead config`: show and change /etc/hubstead/config.yaml.

Each verb parses its arguments, calls hubstead.config and presents the outcome. A
change loads the file, makes a pure change and saves it; saving validates first, so
an invalid value leaves the file exactly as it was. Nothing heavy is imported here at
module level: `hubstead --help` imports this module to list the command.
"""

import click

from .common import emit_json

RELOAD_HINT = "run `hubstead config reload` to apply"
MISSING = object()


@click.group(name="config")
@click.option("--config", "--config-path", "config_path", envvar="HUBSTEAD_CONFIG", metavar="PATH",
              type=click.Path(dir_okay=False), default=None,
              help="The config file (default /etc/hubstead/config.yaml; env HUBSTEAD_CONFIG).")
@click.pass_context
def config_group(ctx, config_path):
    """Show and change Hubstead's settings (the keys tljh-config uses).

    \b
    Examples:
      hubstead config set limits.memory 1G
      hubstead config add-item users.admin bob
      hubstead config keys
    """
    from .. import paths

    ctx.ensure_object(dict)["config_path"] = config_path or str(paths.CONFIG_PATH)


@config_group.command()
@click.option("--json", "as_json", is_flag=True,
              help="The effective config, defaults filled in, as JSON.")
@click.pass_obj
def show(obj, as_json):
    """Print the config file (with --json: every key's effective value)."""
    from pathlib import Path

    from .. import config

    from ..config import auth

    path = Path(obj["config_path"])
    current = _load(path)
    secrets = auth.masked(auth.load_secrets(path))
    if as_json:
        emit_json(auth.with_secrets(config.effective(current), secrets))
    elif path.exists():
        click.echo(_read(path), nl=False)
        for key, shown in secrets.items():
            click.echo(f"# {key}: {shown} (kept apart in {auth.secrets_path(path)}, root only)")
    else:
        click.echo(f"{path} does not exist yet, so every key has its default "
                   "(see `hubstead config show --json`).", err=True)
    _warn_if_invalid(current)


@config_group.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the value as JSON.")
@click.pass_obj
def get(obj, key, as_json):
    """Print KEY's value (its default when the file does not set it)."""
    from .. import config

    from ..config import auth

    config.lookup(key)
    value = config.get_value(config.effective(_load(obj["config_path"])), key)
    if auth.is_secret(key):  # never shown: whether it is set is all `get` says
        value = auth.MASK if key in auth.load_secrets(obj["config_path"]) else None
    if as_json:
        emit_json(value)
    elif isinstance(value, str):
        click.echo(value)
    else:
        click.echo("\n".join(_yaml_lines(value)))


# ignore_unknown_options: a VALUE such as -1G reaches validation (a clear refusal), not
# Click's option parser.
@config_group.command(name="set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@click.pass_obj
def set_(obj, key, value):
    """Set KEY to VALUE: true/false, null/none and numbers are read by KEY's type.

    \b
    hubstead config set http.port 8080
    hubstead config set limits.memory 1G
    """
    from .. import config
    from ..config import auth

    parsed = config.parse_value(key, value)
    if auth.is_secret(key):
        auth.save_secret(obj["config_path"], key, parsed)
        click.echo(f"set {key} (kept apart in {auth.secrets_path(obj['config_path'])}, root only); {RELOAD_HINT}.")
        return
    current = _load(obj["config_path"])
    before = config.get_value(current, key, MISSING)
    old = config.get_value(config.effective(current), key)
    shown = config.format_value(parsed)
    if before is not MISSING and before == parsed:
        click.echo(f"{key} is already {shown}; nothing changed.")
        return
    was = f"{config.format_value(old)}{', the default' if before is MISSING else ''}"
    _save(obj, config.set_value(current, key, parsed), f"set {key} to {shown} (was {was})")


@config_group.command()
@click.argument("key")
@click.pass_obj
def unset(obj, key):
    """Remove KEY from the file, so its default applies again (a section: all its keys)."""
    from .. import config
    from ..config import auth

    if auth.is_secret(key):
        auth.save_secret(obj["config_path"], key, None)
        click.echo(f"unset {key}; {RELOAD_HINT}.")
        return
    current = _load(obj["config_path"])
    if config.get_value(current, key, MISSING) is MISSING:
        config.lookup(key)  # an unknown key says so; a key in the file goes even if unknown
        click.echo(f"{key} is not set in {obj['config_path']}; nothing changed.")
        return
    try:
        entry = config.lookup(key)
    except config.ConfigError:
        now = "it is not a known key"
    else:
        now = ("its keys have their defaults" if entry.kind == "section"
               else f"now {config.format_value(entry.default)}, the default")
    _save(obj, config.unset_value(current, key), f"unset {key} ({now})")


@config_group.command(name="add-item")
@click.argument("key")
@click.argument("value")
@click.pass_obj
def add_item(obj, key, value):
    """Add VALUE to the list KEY (once).

    \b
    hubstead config add-item users.admin bob
    """
    _change_list(obj, key, value, "add_items", "{item} is already in {key}; nothing changed.",
                 "added {item} to {key}")


@config_group.command(name="remove-item")
@click.argument("key")
@click.argument("value")
@click.pass_obj
def remove_item(obj, key, value):
    """Remove VALUE from the list KEY.

    \b
    hubstead config remove-item users.admin bob
    """
    _change_list(obj, key, value, "remove_items", "{item} is not in {key}; nothing changed.",
                 "removed {item} from {key}")


def _change_list(obj, key, value, change, unchanged, changed):
    """add-item and remove-item: one pure list change (config.add_items or remove_items), saved."""
    from .. import config

    item = config.parse_item(key, value)
    current = _load(obj["config_path"])
    new = getattr(config, change)(current, key, [item])
    shown = config.format_value(item)
    if not config.differences(current, new):
        click.echo(unchanged.format(item=shown, key=key))
        return
    _save(obj, new, changed.format(item=shown, key=key))


@config_group.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def validate(obj, file):
    """Check FILE (default: the config file) against the schema; exit 1 naming the first bad key."""
    from pathlib import Path

    from .. import config

    path = Path(file or obj["config_path"])
    if not path.exists():
        raise config.ConfigError(f"{path} does not exist")
    current = _load(path)
    try:
        config.check_default_env(config.validate(current))
    except config.ConfigError as error:
        raise config.ConfigError(f"{path}: {error}") from None
    click.echo(f"{path} is valid.")


@config_group.command()
@click.option("--json", "as_json", is_flag=True,
              help="A JSON list of {key, kind, type, default, description}.")
def keys(as_json):
    """List every key with its type, default and description."""
    from .. import config

    entries = config.keys()
    if as_json:
        emit_json([entry.as_dict() for entry in entries])
        return
    import shutil
    import textwrap

    width = min(shutil.get_terminal_size().columns, 100) - 4
    for entry in entries:
        click.echo(f"{click.style(entry.name, bold=True)}  "
                   f"({entry.type}; default {config.format_value(entry.default)})")
        click.echo(textwrap.fill(entry.description, width=width, initial_indent="    ",
                                 subsequent_indent="    "))


@config_group.command(name="import-tljh")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def import_tljh(obj, file, dry_run, yes):
    """Take a TLJH config.yaml over, in one write; list what does not carry over.

    \b
    hubstead config import-tljh /opt/tljh/config/config.yaml --dry-run
    """
    from pathlib import Path

    from .. import config
    from ..config.tljh import from_tljh, merge
    from .common import confirm

    source, path = Path(file), obj["config_path"]
    if not source.exists():
        raise config.ConfigError(f"{source} does not exist")
    tljh_config = _load(source)
    try:
        changes, unmapped = from_tljh(tljh_config)
    except config.ConfigError as error:
        raise config.ConfigError(f"{source}: {error}") from None
    current = _load(path)
    try:
        config.validate(current)
    except config.ConfigError as error:
        raise config.ConfigError(f"{path} is not valid, fix it first: {error}") from None
    new = merge(current, changes)
    try:
        config.validate(new)
    except config.ConfigError as error:
        raise config.ConfigError(f"cannot import {source}: {error}") from None

    lines = config.differences(config.effective(current), config.effective(new))
    if lines:
        click.echo(f"Changes to {path}:")
        click.echo("".join(f"  {line}\n" for line in lines), nl=False)
    elif changes:
        click.echo(f"Nothing to change: {path} already has these settings.")
    else:
        click.echo(f"Nothing to import: no setting in {source} carries over.")
    if unmapped:
        click.echo(f"Not carried over ({len(unmapped)}):")
        click.echo("".join(f"  {key}: {reason}\n" for key, reason in unmapped), nl=False)
    if not lines:
        return
    count = f"{len(lines)} change{'s' if len(lines) != 1 else ''}"
    if dry_run:
        click.echo(f"Dry run: {count}, nothing written.")
        return
    confirm(f"Write these {count} to {path}?", yes)
    _save(obj, new, f"imported {count} from {source}")


def _load(path):
    from .. import config

    try:
        return config.load(path)
    except OSError as error:
        raise config.ConfigError(f"cannot read {path}: {error.strerror}") from None


def _read(path):
    from .. import config

    try:
        return path.read_text()
    except OSError as error:
        raise config.ConfigError(f"cannot read {path}: {error.strerror}") from None


def _save(obj, new, change):
    """Validate and write new (the file is untouched when invalid), then say what changed."""
    from .. import config

    path = obj["config_path"]
    try:
        config.save(path, new, header=config.CONFIG_HEADER)
    except OSError as error:
        hint = "; try sudo" if isinstance(error, PermissionError) else ""
        raise config.ConfigError(f"cannot write {path}: {error.strerror}{hint}") from None
    click.echo(f"{change}; {RELOAD_HINT}.")


def _warn_if_invalid(current):
    from .. import config

    try:
        config.validate(current)
    except config.ConfigError as error:
        click.echo(f"warning: the config is not valid: {error}", err=True)


def _yaml_lines(value, indent=""):
    """A value as block YAML lines, null spelled out (scalars and empty lists on one line)."""
    from .. import config

    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines += [f"{indent}{key}:"] + _yaml_lines(item, indent + "  ")
            else:
                lines.append(f"{indent}{key}: {config.format_value(item)}")
        return lines
    if isinstance(value, list) and value:
        return [f"{indent}- {config.format_value(item)}" for item in value]
    return [indent + config.format_value(value)]


@config_group.command()
@click.argument("component", required=False, type=click.Choice(["hub", "proxy"]))
@click.pass_obj
def reload(obj, component):
    """Apply the config: validate it, then restart only what it changed (as root).

    With hub or proxy (tljh-config's forms), that part is restarted even when nothing
    else changed, e.g. after adding a drop-in to /etc/hubstead/jupyterhub_config.d/."""
    from rich.console import Console

    from .. import config, restarts
    from ..install import InstallOptions, run_install
    from .install import present

    console = Console(stderr=True)
    if component == "hub":
        quick = restarts.quick_reload(obj["config_path"])
        if quick:
            console.print(quick)
            return
    mark = restarts.started_mark(component) if component else None
    report = run_install(InstallOptions(config_path=obj["config_path"]), console=console)
    present(report, check=False, console=console, final_hint=False)
    if component:
        settings = config.effective(_load(obj["config_path"]))
        console.print(restarts.ensure_restarted(component, mark, settings))
