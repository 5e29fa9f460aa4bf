"""``python -m tutorial_utils.benchmark``: samples per second of res8 training with each pipeline
configuration of :mod:`tutorial_utils.training.benchmark`, one JSON line each."""

from __future__ import annotations

import sys

import torch
from torch import nn

from .. import config
from . import common
from ..book.measured import record
from ..data import fsdd_recordings
from ..models import SPOTTER_MODELS, kws_model
from ..training.benchmark import CONFIGS, benchmark
from ..training.loop import seed_everything


def main(argv: list[str] | None = None) -> list[dict]:
    """``python -m tutorial_utils.benchmark``: samples per second of res8 training with each
    pipeline configuration, one JSON line each."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = common.parser("python -m tutorial_utils.benchmark", main.__doc__)
    default_configs = config.by_profile(ci="naive,optimised", cpu="naive,naive-workers,optimised", gpu=",".join(CONFIGS))
    parser.add_argument("--configs", default=default_configs, help=f"comma-separated among {', '.join(CONFIGS)}")
    parser.add_argument("--model", choices=SPOTTER_MODELS, default="res8")
    parser.add_argument("--batch-size", type=common.positive("--batch-size"), default=config.by_profile(ci=8, cpu=64, gpu=256))
    parser.add_argument("--steps", type=common.positive("--steps"), default=config.by_profile(ci=3, cpu=10, gpu=50), help="timed steps")
    parser.add_argument("--warmup", type=int, default=config.by_profile(ci=1, cpu=2, gpu=10), help="untimed steps")
    parser.add_argument("--workers", type=int, help="DataLoader workers of naive-workers (default 2)")
    parser.add_argument("--limit", type=common.positive("--limit"), help="at most this many training clips (default: all, ci: 48)")
    parser.add_argument("--device", help="cpu, cuda, mps (default: the fastest available)")
    parser.add_argument("--threads", type=common.positive("--threads"), help="CPU threads for PyTorch (default: its own choice)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    configs = args.configs.split(",")
    if unknown := [c for c in configs if c not in CONFIGS]:
        parser.error(f"--configs: unknown {unknown}; choose among {', '.join(CONFIGS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = common.usable_device(parser, args.device)
    recordings = fsdd_recordings(limit=args.limit or config.by_profile(ci=48, cpu=None, gpu=None))["train"]

    def make_model() -> nn.Module:
        seed_everything(args.seed)
        return kws_model(args.model, 10)

    results = []
    for name in configs:
        seed_everything(args.seed)
        result = benchmark(name, make_model, [r.path for r in recordings], [r.digit for r in recordings],
                           batch_size=args.batch_size, steps=args.steps, warmup=args.warmup, device=device,
                           workers=args.workers)
        results.append(record(
            ("python", "-m", "tutorial_utils.benchmark"), argv, device, model=args.model, train_clips=len(recordings),
            threads=torch.get_num_threads(), torch=torch.__version__, **result,
        ))
    return results

