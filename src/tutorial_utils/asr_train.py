"""``python -m tutorial_utils.asr_train``: the same as ``python -m tutorial_utils.train --task asr``;
see :mod:`tutorial_utils.cli.train`."""

import sys

from .cli.train import train_recogniser

if __name__ == "__main__":
    train_recogniser(sys.argv[1:])
