"""``torchrun --nproc_per_node N -m tutorial_utils.distributed``: data-parallel training (see
:mod:`tutorial_utils.training.distributed`); rank 0 prints one JSON line and, with ``--save``,
writes the weights."""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch.utils.data import TensorDataset

from .. import config
from . import common
from ..book.measured import record
from ..data import FSDD_LABELS, fsdd_tensors
from ..front_end import FrontEnd, FrontEndConfig
from ..models import kws_model
from ..training.checkpoint import save_checkpoint
from ..training.distributed import init_distributed, synthetic_model, synthetic_problem, train_data_parallel
from ..training.loop import evaluate, make_loader, one_cycle, seed_everything


def main(argv: list[str] | None = None) -> dict | None:
    """Entry of ``torchrun ... -m tutorial_utils.distributed``: train with DDP, rank 0 prints one
    JSON line (and saves the model with ``--save``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = common.parser("torchrun --nproc_per_node N -m tutorial_utils.distributed", main.__doc__)
    parser.add_argument("--synthetic", action="store_true", help="a small MLP on random data, plain SGD")
    parser.add_argument("--epochs", type=common.positive("--epochs"), default=config.by_profile(ci=1, cpu=10, gpu=40))
    parser.add_argument("--batch-size", type=common.positive("--batch-size"), default=32, help="per process; the effective batch is N times it")
    parser.add_argument("--lr", type=float, help="default: 0.1 (synthetic, plain SGD) or 3e-3 (FSDD: AdamW, the "
                        "one-cycle peak); scale it with the effective batch")
    parser.add_argument("--sync", choices=["ddp", "manual"], default="ddp",
                        help="gradient averaging by DistributedDataParallel or by the from-scratch all-reduce")
    parser.add_argument("--limit", type=common.positive("--limit"), help="at most this many FSDD clips per split")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    parser.add_argument("--threads", type=common.positive("--threads"), help="CPU threads per process")
    parser.add_argument("--save", help="rank 0 writes the trained weights here (a 'weights' checkpoint)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not config.launched_by_torchrun():
        parser.error("start it with torchrun, which runs one process per copy of the model: "
                     "torchrun --nproc_per_node 2 -m tutorial_utils.distributed ...")
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
        line = None
        if rank == 0:
            results = {
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
                results["test_accuracy"] = round(evaluate(model, test, features, device)["accuracy"], 4)
            if args.save:
                save_checkpoint(args.save, "weights", model="synthetic-mlp" if args.synthetic else "res8",
                                state_dict=model.state_dict())
            line = record(("torchrun", f"--nproc_per_node={world_size}", "-m", "tutorial_utils.distributed"), argv,
                          device, **results)
        return line
    finally:
        dist.destroy_process_group()

