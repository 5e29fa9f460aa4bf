"""``python -m tutorial_utils.enrol``: the command-line entry; see :mod:`tutorial_utils.cli.enrol`."""

from .cli.enrol import main

if __name__ == "__main__":
    main()
