"""``python -m tutorial_utils.predict``: the command-line entry; see :mod:`tutorial_utils.cli.predict`."""

import sys

from .cli.predict import main

if __name__ == "__main__":
    sys.exit(main())
