"""``python -m tutorial_utils.export``: the command-line entry; see :mod:`tutorial_utils.cli.export`."""

import sys

from .cli.export import main

if __name__ == "__main__":
    sys.exit(main())
