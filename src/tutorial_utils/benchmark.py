"""``python -m tutorial_utils.benchmark``: the command-line entry; see :mod:`tutorial_utils.cli.benchmark`."""

from .cli.benchmark import main

if __name__ == "__main__":
    main()
