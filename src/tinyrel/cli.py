"""The ``tinyrel`` command: dispatch only; every command lives in ``tinyrel.commands``."""

from __future__ import annotations

import click

from tinyrel import __version__
from tinyrel.commands.lock import lock_command
from tinyrel.commands.manifest import manifest_command
from tinyrel.commands.validate import validate_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyrel")
def cli() -> None:
    """Release and packaging manager for fine-tuned MLX models."""


for command in (manifest_command, validate_command, lock_command):
    cli.add_command(command)


def main() -> None:
    cli()
