"""``python -m tutorial_utils.enrol``: few-shot keyword spotting (chapter 11, section 6), measured.

A spotter is trained on FSDD without some digits and without one speaker; every recording is
embedded; then the missing digits are enrolled from a few recordings each and recognised by the
nearest prototype, in the three tests of
:func:`~tutorial_utils.evaluation.few_shot.enrolment_sessions`, with plain embeddings and with
SimpleShot's centring and normalisation. One JSON line of results.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

import torch

from .. import config
from . import common
from ..book.measured import record
from ..data import FSDD_VERSION, evenly_spaced, fsdd_recordings, fsdd_speakers, load_fsdd_tensors, synthetic
from ..evaluation.few_shot import embed_recordings, enrolment_accuracy, enrolment_sessions
from ..front_end import AugmentConfig, FrontEnd, FrontEndConfig
from ..models import KWS_MODELS, kws_model
from ..training.loop import seed_everything
from ..training.spotter import train_spotter
from .train import check_synthetic_voices

ENROL = ("python", "-m", "tutorial_utils.enrol")


def main(argv: Sequence[str] | None = None) -> dict:
    """``python -m tutorial_utils.enrol``: train a spotter without some digits and one speaker, then
    enrol those digits from a few recordings each; print a JSON line of accuracies."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = common.parser("python -m tutorial_utils.enrol", main.__doc__)
    parser.add_argument("--model", choices=list(KWS_MODELS), default="res8")
    parser.add_argument("--new-digits", default="3,8", help="comma-separated digits left out of training and enrolled")
    parser.add_argument("--held-out", default="george", help="the speaker left out of training (enrols in their own voice)")
    parser.add_argument("--speakers", help="FSDD: comma-separated speakers to use (default: all present)")
    parser.add_argument("--epochs", type=common.positive("--epochs"), default=config.by_profile(ci=1, cpu=10, gpu=10),
                        help="training epochs (default: 10, 1 in the ci profile)")
    parser.add_argument("--synthetic-voices", type=int, default=0, metavar="N",
                        help="add N synthetic voices from espeak-ng (the known digits only) to the training data")
    parser.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA", help="mixup while training (0: off)")
    parser.add_argument("--shots", default="1,3,5", help="comma-separated numbers of enrolment recordings per digit")
    parser.add_argument("--draws", type=common.positive("--draws"), default=config.by_profile(ci=3, cpu=20, gpu=20),
                        help="random choices of the enrolment recordings (default: 20, 3 in the ci profile)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the fastest available)")
    parser.add_argument("--threads", type=common.positive("--threads"), help="CPU threads for PyTorch")
    parser.add_argument("--limit", type=common.positive("--limit"), help="at most this many training clips (quick tests)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    new_digits = parse_integers(parser, "--new-digits", args.new_digits)
    if not set(new_digits) <= set(range(10)) or not 1 <= len(new_digits) <= 8:
        parser.error(f"--new-digits {args.new_digits}: one to eight different digits from 0 to 9, such as 3,8")
    shots = parse_integers(parser, "--shots", args.shots)
    if min(shots) < 1 or max(shots) > 25:
        parser.error(f"--shots {args.shots}: each from 1 to 25 (the held-out speaker enrols from 25 takes)")
    check_synthetic_voices(parser, args.synthetic_voices)
    device = common.usable_device(parser, args.device)
    chosen = args.speakers.split(",") if args.speakers else None
    speakers = common.run(parser.prog, args.debug, lambda: sorted(set(chosen or fsdd_speakers())))
    if args.held_out not in speakers:
        parser.error(f"--held-out {args.held_out}: not among the speakers used ({', '.join(speakers)})")
    if args.threads:
        torch.set_num_threads(args.threads)
    return common.run(parser.prog, args.debug, lambda: _enrol(args, argv, device, new_digits, shots, speakers))


def parse_integers(parser: argparse.ArgumentParser, option: str, text: str) -> list[int]:
    """``"3,8"`` as ``[3, 8]``; a usage error for anything else or for repeats."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        parser.error(f"{option} {text!r}: comma-separated whole numbers, such as 3,8")
    if len(set(values)) != len(values):
        parser.error(f"{option} {text}: a number is repeated")
    return values


def _enrol(args: argparse.Namespace, argv: list[str], device: torch.device, new_digits: list[int], shots: list[int],
           speakers: list[str]) -> dict:
    known = [d for d in range(10) if d not in new_digits]
    split = fsdd_recordings(test_speakers=[args.held_out], speakers=speakers)

    def known_tensors(pool):
        waveforms, digits = load_fsdd_tensors(evenly_spaced([r for r in pool if r.digit in known], args.limit))
        return waveforms, torch.tensor([known.index(int(d)) for d in digits])

    voices = synthetic.ensure_synthetic_digits(args.synthetic_voices, progress=not args.quiet) if args.synthetic_voices else []
    train_splits = {"train": known_tensors(split["train"] + voices), "validation": known_tensors(split["validation"])}
    train_splits["test"] = train_splits["validation"]
    seed_everything(args.seed)
    spotter = kws_model(args.model, len(known))
    began = time.perf_counter()
    history, _ = train_spotter(spotter, FrontEnd(FrontEndConfig(), AugmentConfig()), train_splits, epochs=args.epochs,
                               mixup=args.mixup, seed=args.seed, device=device, progress=not args.quiet)
    train_seconds = time.perf_counter() - began

    clean = FrontEnd(FrontEndConfig()).to(device)  # the same features, no augmentation
    pool = split["train"] + split["validation"] + split["test"]
    embedding_of = embed_recordings(spotter, clean, pool)
    known_train = [r for r in split["train"] if r.digit in known]
    support = torch.stack([embedding_of[r.path] for r in known_train])
    support_labels = torch.tensor([r.digit for r in known_train])
    centres = {"euclidean": None, "cl2n": support.mean(dim=0)}
    results = {}
    for name, centre in centres.items():
        for test, sessions in enrolment_sessions(split, new_digits).items():
            for k in shots:
                new, old = enrolment_accuracy(embedding_of, support, support_labels, sessions, new_digits, k, args.draws,
                                              seed=args.seed, centre=centre)
                results[f"{name}/{test}/{k}"] = {"new": round(statistics.mean(new), 4), "new_min": round(min(new), 4),
                                                 "new_max": round(max(new), 4), "known": round(statistics.mean(old), 4)}
    return record(
        ENROL, argv, device, task="few-shot", dataset="fsdd", fsdd_version=FSDD_VERSION,
        fsdd_speakers=speakers, held_out=args.held_out, new_digits=new_digits,
        model=args.model, epochs=args.epochs, synthetic_voices=args.synthetic_voices, mixup=args.mixup, seed=args.seed,
        train_clips=len(train_splits["train"][1]),
        validation_accuracy=round(history["val_acc"][-1], 4), train_seconds=round(train_seconds, 1),
        shots=shots, draws=args.draws, accuracy=results,
    )
