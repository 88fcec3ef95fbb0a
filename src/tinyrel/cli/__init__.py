"""The ``tinyrel`` command line: parse, call ``tinyrel.api``, render what it returns.

``main`` is the console script; ``cli`` the Click group (for ``click.testing``).
"""

from tinyrel.cli.main import cli, main

__all__ = ["cli", "main"]
