"""``python -m tutorial_utils.transcribe``: the command-line entry; see :mod:`tutorial_utils.cli.transcribe`."""

import sys

from .cli.transcribe import main

if __name__ == "__main__":
    sys.exit(main())
