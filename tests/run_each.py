"""``torchrun ... tests/run_each.py MODULE "ARGS 1" "ARGS 2" ...``: in every process torchrun
starts, run ``python -m MODULE ARGS`` for each argument string in turn, as ``torchrun -m MODULE
ARGS`` would, one after the other in the same processes. One launch of torchrun (its start-up,
rendezvous and Python processes: most of the time of a small run) then serves several runs
(tests/test_distributed.py).

The runs share one process group: the first run's ``dist.init_process_group`` creates it, later
calls find it initialised and return, and ``dist.destroy_process_group`` waits until the last run.
(Joining a second time under torchrun hangs: the new group would rendezvous under the keys the
first one left in torchrun's store.)
"""

import runpy
import shlex
import sys

import torch.distributed as dist

module, *runs = sys.argv[1:]
init_process_group, destroy_process_group = dist.init_process_group, dist.destroy_process_group
dist.init_process_group = lambda *args, **kwargs: None if dist.is_initialized() else init_process_group(*args, **kwargs)
dist.destroy_process_group = lambda *args, **kwargs: None
try:
    for run in runs:
        sys.argv = [module, *shlex.split(run)]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        if not dist.is_initialized():
            sys.exit(f"run_each.py: `{module} {run}` joined or left the process group other than through "
                     "torch.distributed.init_process_group/destroy_process_group; the next run would hang")
finally:
    if dist.is_initialized():
        destroy_process_group()
