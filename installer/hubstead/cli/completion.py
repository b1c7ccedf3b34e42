"""`hubstead completion SHELL`: print the shell's completion script (Click's own).

The script calls back into `hubstead` with _HUBSTEAD_COMPLETE set, which Click answers
before running any command; docs/admin.md says where to install the script.
"""

import click

SHELLS = ("bash", "zsh")
COMPLETE_VAR = "_HUBSTEAD_COMPLETE"


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx, shell):
    """Print the completion script for SHELL (bash 4.4+ or zsh).

    \b
    Install it (as root, for everyone):
      hubstead completion bash > /usr/share/bash-completion/completions/hubstead
      hubstead completion zsh > /usr/local/share/zsh/site-functions/_hubstead
    or for yourself only, in ~/.bashrc:  eval "$(hubstead completion bash)"
    """
    from click.shell_completion import get_completion_class

    script = get_completion_class(shell)(ctx.find_root().command, {}, "hubstead", COMPLETE_VAR).source()
    click.echo(script, nl=not script.endswith("\n"))
