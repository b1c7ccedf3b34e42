"""What every command shares: the hub client, JSON output, confirmations."""

import json
import sys

import click


def hub():
    from ..hubapi import Hub

    return Hub.from_config()


def emit_json(data):
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def confirm(question, yes):
    """Ask unless --yes; without a terminal, refuse rather than guess."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(f"{question} Pass --yes to confirm without a terminal.")
    click.confirm(question, abort=True)


def read_password_stdin():
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise click.UsageError("--password-stdin: standard input held no password.")
    return password


def console():
    from rich.console import Console

    return Console()


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
