"""The `hubstead` command. Subcommands load lazily so `hubstead --help` stays fast.

Exit codes: 0 success, 1 the operation failed (the message says why), 2 usage error.
"""

import importlib
import sys

import click

# command name -> "module:attribute"; the module is imported only when used.
COMMANDS = {
    "backup": "hubstead.cli.backup:backup",
    "build": "hubstead.cli.build:build",
    "completion": "hubstead.cli.completion:completion",
    "config": "hubstead.cli.config:config_group",
    "env": "hubstead.cli.env:env",
    "export": "hubstead.cli.export:export",
    "group": "hubstead.cli.group:group",
    "install": "hubstead.cli.install:install",
    "logs": "hubstead.cli.logs:logs",
    "quota": "hubstead.cli.quota:quota",
    "status": "hubstead.cli.status:status",
    "user": "hubstead.cli.user:user",
}
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="hubstead")
@click.pass_context
def cli(ctx, debug):
    """Run a JupyterHub for a workshop, class or lab on this machine."""
    ctx.obj = {"debug": debug}


def expected_errors():
    """What the CLI prints as one line: every module's failures share hubstead.errors' base."""
    from ..errors import HubsteadError

    return (HubsteadError,)


def main(argv=None):
    code = run(argv)
    if argv is None and "rattler" in sys.modules:
        # py-rattler's threads can crash interpreter shutdown (SIGSEGV after success),
        # turning success into -11. Only for the real command (argv None), not in tests.
        from ..envs.conda import leave_process

        leave_process(code)
    sys.exit(code)


def run(argv, command=None, prog_name="hubstead"):
    """Run the command line (`command`, default all of hubstead's); return the exit code
    (tracebacks only for the unexpected)."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        # Without standalone mode Click returns ctx.exit(CODE)'s code instead of raising.
        code = (command or cli).main(args=argv, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_FAILED
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except Exception as error:  # noqa: BLE001 - one line for expected failures
        if debug or not isinstance(error, expected_errors()):
            raise
        click.echo(f"error: {error}", err=True)
        return EXIT_FAILED
    return code if isinstance(code, int) and not isinstance(code, bool) else EXIT_OK
