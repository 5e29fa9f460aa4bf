"""Training: the loop, mixed precision, the one checkpoint format, and the recipes built on them.

* :mod:`.loop` -- :func:`fit` (the book's training loop), :func:`evaluate`, :func:`predict`,
  :func:`one_cycle`, :func:`make_loader`, :func:`seed_everything`
* :mod:`.amp` -- :func:`autocast_dtype`, :func:`backward_and_step`
* :mod:`.checkpoint` -- one atomic, ``weights_only`` format with a ``kind`` for every saved file
* :mod:`.spotter` -- :func:`train_spotter`, keyword spotters on FSDD or Speech Commands
* :mod:`.asr` -- CTC training and WER evaluation of the connected-digit recogniser
* :mod:`.distributed` -- data-parallel training (DDP) and the all-reduce from scratch
* :mod:`.benchmark` -- honest throughput of the naive and the optimised input pipeline
"""

from .amp import autocast_dtype, backward_and_step
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .loop import Scheduler, evaluate, fit, make_loader, one_cycle, predict, seed_everything
from .spotter import as_dataset, train_spotter

__all__ = [
    "CheckpointError",
    "Scheduler",
    "as_dataset",
    "autocast_dtype",
    "backward_and_step",
    "evaluate",
    "fit",
    "load_checkpoint",
    "make_loader",
    "one_cycle",
    "predict",
    "save_checkpoint",
    "seed_everything",
    "train_spotter",
]
