"""Data-parallel training on several processes (one per GPU, or several on a CPU) with
``DistributedDataParallel``, launched by ``torchrun``::

    torchrun --nproc_per_node 2 -m tutorial_utils.distributed --epochs 5     # FSDD keyword spotter
    torchrun --nproc_per_node 2 -m tutorial_utils.distributed --synthetic --save out.pt

Every process holds a full copy of the model and trains on its own shard of each epoch
(``DistributedSampler``); after each backward pass the gradients are averaged over the processes
(all-reduce), so every copy takes the same step and the copies stay identical. With per-process
batch ``B`` on ``N`` processes one step sees ``N * B`` examples: the gradient of the mean loss
over that effective batch. Processes talk over ``gloo`` on the CPU and ``nccl`` on CUDA GPUs.
Only rank 0 prints and saves. ``--sync manual`` replaces DDP with :func:`average_gradients`,
the all-reduce written out, to show that it is the same thing.

``--synthetic`` trains a small MLP (no batch norm) on random data with plain SGD: a problem where
the DDP run must equal a single process stepping on the concatenated batches (the test suite
checks that). Batch norm breaks that equality: each process normalises with its own batch's
statistics (``nn.SyncBatchNorm`` shares them on GPUs).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

from .loop import Scheduler, fit


def init_distributed(device_type: str | None = None) -> tuple[int, int, torch.device]:
    """Join the process group ``torchrun`` set up (its rank, world size and rendezvous address
    are read by ``init_process_group``); return ``(rank, world_size, device)``. CUDA: backend
    ``nccl`` and GPU ``rank % GPUs`` (one node); otherwise ``gloo`` on the CPU."""
    use_cuda = torch.cuda.is_available() if device_type is None else device_type == "cuda"
    dist.init_process_group("nccl" if use_cuda else "gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    if use_cuda:
        device = torch.device("cuda", rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return rank, world_size, device


def average_gradients(model: nn.Module) -> None:
    """What DDP does after ``backward()``, from scratch: sum every gradient over the processes
    (all-reduce) and divide by their number, so each process holds the mean gradient."""
    world_size = dist.get_world_size()
    for parameter in model.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
            parameter.grad /= world_size


def broadcast_parameters(model: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (DDP does this when it wraps a model)."""
    for tensor in [*model.parameters(), *model.buffers()]:
        dist.broadcast(tensor.data, src=0)


def synthetic_problem(samples: int = 64, inputs: int = 16, classes: int = 4, seed: int = 0) -> TensorDataset:
    """Random inputs ``(samples, inputs)`` and labels ``(samples,)``, the same in every process."""
    generator = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(samples, inputs, generator=generator),
                         torch.randint(0, classes, (samples,), generator=generator))


def synthetic_model(inputs: int = 16, classes: int = 4, seed: int = 0) -> nn.Module:
    """A two-layer MLP without batch norm, initialised identically from ``seed``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, 32), nn.Tanh(), nn.Linear(32, classes))


def train_data_parallel(
    model: nn.Module,
    dataset: Dataset,
    *,
    rank: int,
    world_size: int,
    device: torch.device,
    epochs: int,
    batch_size: int,
    make_optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer],
    features: nn.Module | None = None,
    scheduler: Scheduler | None = None,
    sync: str = "ddp",
    seed: int = 0,
) -> dict[str, float]:
    """Train ``model`` in this process on its shard of ``dataset`` (``batch_size`` per process);
    gradients are averaged by DDP (``sync="ddp"``) or by :func:`average_gradients` (``"manual"``).
    ``scheduler``: a factory such as :func:`~tutorial_utils.training.loop.one_cycle`, stepped every batch.
    Return the last epoch's mean loss (of this process's shard), the steps and the seconds."""
    if sync not in ("ddp", "manual"):
        raise ValueError(f"sync must be 'ddp' or 'manual', not {sync!r}")
    model.to(device).train()
    if sync == "ddp":
        network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    else:
        broadcast_parameters(model)
        network = model
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)
    # The book's loop: it calls sampler.set_epoch every epoch (a new shuffle, the same in every
    # process); with DDP the all-reduce happens inside backward(), overlapping it; the manual sync
    # averages after it. float32 throughout, as the equality with one process is checked exactly.
    history = fit(
        network, loader, epochs=epochs, optimizer=make_optimizer(list(model.parameters())), features=features,
        device=device, scheduler=scheduler, after_backward=(lambda: average_gradients(model)) if sync == "manual" else None,
        amp=False, seed=seed, progress=False,
    )
    return {"train_loss": history["train_loss"][-1], "steps": epochs * len(loader), "seconds": sum(history["epoch_seconds"])}
