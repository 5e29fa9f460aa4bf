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

import time
from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

from .train import Scheduler


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
    ``scheduler``: a factory such as :func:`~tutorial_utils.train.one_cycle`, stepped every batch.
    Return the last epoch's mean loss (of this process's shard), the steps and the seconds."""
    if sync not in ("ddp", "manual"):
        raise ValueError(f"sync must be 'ddp' or 'manual', not {sync!r}")
    model.to(device).train()
    if features is not None:
        features.to(device).train()
    if sync == "ddp":
        network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    else:
        broadcast_parameters(model)
        network = model
    optimizer = make_optimizer(list(model.parameters()))
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)
    schedule = scheduler(optimizer, epochs * len(loader)) if scheduler else None
    steps, began = 0, time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch)  # a new shuffle every epoch, the same in every process
        loss_sum, seen = torch.zeros((), device=device), 0
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            if features is not None:
                with torch.no_grad():
                    inputs = features(inputs)
            loss = F.cross_entropy(network(inputs), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # with DDP the all-reduce happens here, overlapping the backward pass
            if sync == "manual":
                average_gradients(model)
            optimizer.step()
            if schedule is not None:
                schedule.step()
            loss_sum += loss.detach() * len(labels)
            seen, steps = seen + len(labels), steps + 1
    return {"train_loss": loss_sum.item() / max(seen, 1), "steps": steps, "seconds": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> dict | None:
    """Entry of ``torchrun ... -m tutorial_utils.distributed``: train with DDP, rank 0 prints one
    JSON line (and saves the model with ``--save``)."""
    import argparse
    import json
    import shlex
    import sys

    from . import config
    from .keyword_spotting import FSDD_LABELS, FrontEnd, FrontEndConfig, fsdd_tensors
    from .models import kws_model
    from .train import evaluate, make_loader, one_cycle, save_atomically, seed_everything

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="torchrun --nproc_per_node N -m tutorial_utils.distributed",
                                     description=main.__doc__)
    parser.add_argument("--synthetic", action="store_true", help="a small MLP on random data, plain SGD")
    parser.add_argument("--epochs", type=int, default=config.by_profile(ci=1, cpu=10, gpu=40))
    parser.add_argument("--batch-size", type=int, default=32, help="per process; the effective batch is N times it")
    parser.add_argument("--lr", type=float, help="default: 0.1 (synthetic, plain SGD) or 3e-3 (FSDD: AdamW, the "
                        "one-cycle peak); scale it with the effective batch")
    parser.add_argument("--sync", choices=["ddp", "manual"], default="ddp",
                        help="gradient averaging by DistributedDataParallel or by the from-scratch all-reduce")
    parser.add_argument("--limit", type=int, help="at most this many FSDD clips per split")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    parser.add_argument("--threads", type=int, help="CPU threads per process")
    parser.add_argument("--save", help="rank 0 writes the trained model's state_dict here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    rank, world_size, device = init_distributed(args.device)
    try:
        seed_everything(args.seed)
        if args.synthetic:
            dataset, model, features = synthetic_problem(seed=args.seed), synthetic_model(seed=args.seed), None
            lr, scheduler = args.lr or 0.1, None
            make_optimizer = lambda params: torch.optim.SGD(params, lr=lr)  # noqa: E731
        else:
            splits = fsdd_tensors(limit=args.limit)
            dataset = TensorDataset(*splits["train"])
            model, features = kws_model("res8", len(FSDD_LABELS)), FrontEnd(FrontEndConfig())
            lr = args.lr or 3e-3
            scheduler = one_cycle(lr)  # warm-up, then cosine annealing: what a scaled-up learning rate needs
            make_optimizer = lambda params: torch.optim.AdamW(params, lr=lr)  # noqa: E731
        result = train_data_parallel(
            model, dataset, rank=rank, world_size=world_size, device=device, epochs=args.epochs,
            batch_size=args.batch_size, make_optimizer=make_optimizer, features=features, scheduler=scheduler, sync=args.sync,
            seed=args.seed,
        )
        # Every copy must hold the same weights: gather a checksum of each and compare on rank 0.
        flat = torch.cat([p.detach().flatten() for p in model.parameters()]).double()
        gathered = [torch.zeros_like(flat) for _ in range(world_size)]
        dist.all_gather(gathered, flat)
        record = None
        if rank == 0:
            record = {
                "command": shlex.join(["torchrun", f"--nproc_per_node={world_size}", "-m", "tutorial_utils.distributed", *argv]),
                "device": config.device_name(device),
                "profile": config.profile(),
                "backend": dist.get_backend(),
                "world_size": world_size,
                "sync": args.sync,
                "problem": "synthetic" if args.synthetic else "fsdd",
                "batch_size_per_process": args.batch_size,
                "effective_batch_size": args.batch_size * world_size,
                "lr": lr,
                "epochs": args.epochs,
                "steps_per_process": result["steps"],
                "train_loss_rank0": round(result["train_loss"], 4),
                "max_parameter_difference_between_ranks": max((g - gathered[0]).abs().max().item() for g in gathered),
                "train_seconds": round(result["seconds"], 2),
            }
            if not args.synthetic:
                test = make_loader(TensorDataset(*splits["test"]), 256, shuffle=False, device=device)
                record["test_accuracy"] = round(evaluate(model, test, features, device)["accuracy"], 4)
            if args.save:
                save_atomically(model.state_dict(), args.save)
            print(json.dumps(record), flush=True)
        return record
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
