"""``tinyrel completion bash|zsh|fish``: print the shell completion script (Click's mechanism).

eval "$(tinyrel completion bash)"     # or add it to ~/.bashrc
"""

from __future__ import annotations

import click


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the completion script for SHELL; evaluate it in your shell's startup file."""
    from click.shell_completion import get_completion_class

    from tinyrel.cli import cli

    completion = get_completion_class(shell)(cli, {}, "tinyrel", "_TINYREL_COMPLETE")
    click.echo(completion.source())
