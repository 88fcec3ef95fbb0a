"""Kept so that ``python tests/hub_emulator.py …`` keeps working: the emulator is ``tinyrel.testing.hub``."""

import sys

from tinyrel.testing.hub import main

if __name__ == "__main__":
    sys.exit(main())
