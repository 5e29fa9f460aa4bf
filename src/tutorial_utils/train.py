"""``python -m tutorial_utils.train``: the command-line entry; see :mod:`tutorial_utils.cli.train`."""

from .cli.train import main

if __name__ == "__main__":
    main()
