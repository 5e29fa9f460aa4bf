"""``torchrun --nproc_per_node N -m tutorial_utils.distributed``: the command-line entry; see :mod:`tutorial_utils.cli.ddp`."""

from .cli.ddp import main

if __name__ == "__main__":
    main()
