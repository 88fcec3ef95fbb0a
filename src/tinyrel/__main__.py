"""``python -m tinyrel``."""

from tinyrel.cli import main

main()
