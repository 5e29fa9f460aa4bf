"""``torchrun ... tests/run_each.py MODULE "ARGS 1" "ARGS 2" ...``: in every process torchrun
starts, run ``python -m MODULE ARGS`` for each argument string in turn, as ``torchrun -m MODULE
ARGS`` would, one after the other in the same processes. One launch of torchrun (its start-up,
rendezvous and Python processes, most of the time of a small run) then serves several runs of a
command that joins the process group and leaves it again (tests/test_distributed.py)."""

import runpy
import shlex
import sys

module, *runs = sys.argv[1:]
for run in runs:
    sys.argv = [module, *shlex.split(run)]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
