"""``python -m tutorial_utils.train``: train a keyword spotter (or, with ``--task asr``, the CTC
recogniser) from the command line and print one JSON line of results (see
:func:`tutorial_utils.book.measured.record`). Parsing and printing only: the work is done by
:func:`tutorial_utils.training.spotter.train_spotter` and :func:`tutorial_utils.training.asr.train_connected_digits`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.data import Subset

from .. import config
from . import common
from ..book import trained
from ..book.measured import record
from ..data import FSDD_LABELS, FSDD_VERSION, SpeechCommandsKWS, fsdd_speakers, fsdd_tensors, load_fsdd_tensors, sha256sum
from ..data import synthetic
from ..front_end import AugmentConfig, FrontEnd, FrontEndConfig
from ..evaluation.tta import speed_tta_probabilities
from ..models import ASR_MODELS, KWS_MODELS, SPOTTER_MODELS, kws_model
from ..models.asr import NORMALIZATIONS as ASR_NORMALIZATIONS
from ..training.asr import train_connected_digits
from ..compression.distill import distillation_step
from ..training.checkpoint import check_resumable, load_checkpoint, load_spotter, save_spotter
from ..training.loop import make_loader, seed_everything
from ..training.spotter import as_dataset, train_spotter

TRAIN = ("python", "-m", "tutorial_utils.train")
ASR_TRAIN = ("python", "-m", "tutorial_utils.train", "--task", "asr")
AVERAGE_HELP = ("stochastic weight averaging: the last EPOCHS of --epochs run at a tenth of --lr, and the model "
                "is the average of their weights (default 0: off)")
ENGINE_HELP = "the text-to-speech program of --synthetic-voices: espeak-ng (default) or flite"
SPEAKERS_HELP = ("FSDD: comma-separated speakers to use, the others ignored (default: all present); "
                 "repeats a record's run on a download with more speakers")
#: Synthetic voices in the default recipe (``--synthetic-voices``): the best of the speaker study.
SYNTHETIC_VOICES = 40
#: The options that make a keyword-spotting run what it is: a resume must repeat them.
RUN_SETTINGS = ("dataset", "model", "plain", "speakers", "test_speakers", "epochs", "batch_size", "lr", "weight_decay",
                "label_smoothing", "mixup", "normalize", "specaugment_masks", "instance_norm", "train_on_validation", "synthetic_voices", "synthetic_engine", "early_stopping", "average_last", "seed", "limit",
                "teacher", "temperature", "distill_weight")


def main(argv: Sequence[str] | None = None) -> dict | list[dict]:
    """``python -m tutorial_utils.train``: train a keyword spotter (or, with ``--task asr``, the CTC
    recogniser of :mod:`tutorial_utils.training.asr`) and print a JSON line of results."""
    argv = sys.argv[1:] if argv is None else list(argv)
    task = argparse.ArgumentParser(add_help=False)
    task.add_argument("--task", choices=["kws", "asr"], default="kws")
    known, rest = task.parse_known_args(argv)
    if known.task == "asr":  # the CTC recogniser of chapter 9 on connected digits
        return train_recogniser(rest)

    parser = common.parser("python -m tutorial_utils.train", main.__doc__)
    parser.add_argument("--task", choices=["kws", "asr"], default="kws",
                        help="kws: keyword spotter (these options); asr: CTC recogniser (see --task asr --help)")
    parser.add_argument("--dataset", choices=["fsdd", "speech-commands-12", "speech-commands-35"], default="fsdd",
                        help="FSDD digits (8 kHz), or Speech Commands v0.02 (16 kHz): 12 classes or all 35 words")
    parser.add_argument("--download", action="store_true", help="fetch Speech Commands (2.3 GB) if it is absent")
    parser.add_argument("--model", choices=SPOTTER_MODELS, default="res8")
    parser.add_argument("--plain", action="store_true", help="no shortcuts: the plain CNN of the same shape")
    parser.add_argument("--speakers", help=SPEAKERS_HELP)
    parser.add_argument("--test-speakers", help="FSDD: comma-separated held-out speakers (default: official split)")
    parser.add_argument("--epochs", type=common.positive("--epochs"), default=config.by_profile(ci=1, cpu=25, gpu=60),
                        help="training epochs (default: 25 in the cpu profile, 60 gpu, 1 ci)")
    parser.add_argument("--batch-size", type=common.positive("--batch-size"), default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--mixup", type=float, default=0.2, metavar="ALPHA",
                        help="mixup: mix each batch with a shuffled copy, weight ~ Beta(ALPHA, ALPHA) (0: off; default 0.2)")
    parser.add_argument("--augment", default="speed,shift,noise,specaugment",
                        help="comma-separated augmentations among speed, shift, noise, vtlp, pitch, specaugment; or none")
    parser.add_argument("--normalize", choices=["utterance", "band", "pcen", "none"], default="utterance",
                        help="per-utterance normalisation: the whole spectrogram, each Mel band (CMVN), per-channel "
                             "energy normalisation in place of the log (PCEN), or none")
    parser.add_argument("--specaugment-masks", type=common.positive("--specaugment-masks"), default=1, metavar="N",
                        help="SpecAugment: N frequency and N time masks per clip (default 1 of each)")
    parser.add_argument("--instance-norm", type=int, default=0, metavar="BLOCKS",
                        help="res models: normalise half the channels of the first BLOCKS blocks per clip (IBN-a)")
    parser.add_argument("--tta-speeds", metavar="RATES",
                        help="FSDD: also test with class probabilities averaged over these speeds, e.g. 0.9,1,1.1")
    parser.add_argument("--train-on-validation", action="store_true", help="train on the validation takes too")
    parser.add_argument("--synthetic-voices", type=int, default=None, metavar="N",
                        help="FSDD: add N synthetic voices (every digit, 3 takes each; see --synthetic-engine) to the "
                             f"training data only (default {SYNTHETIC_VOICES} for FSDD, 0 in the ci profile)")
    parser.add_argument("--synthetic-engine", choices=list(synthetic.ENGINES), default="espeak-ng", help=ENGINE_HELP)
    parser.add_argument("--early-stopping", type=common.positive("--early-stopping"), metavar="EPOCHS",
                        help="patience on the validation loss")
    parser.add_argument("--average-last", type=int, default=0, metavar="EPOCHS", help=AVERAGE_HELP)
    parser.add_argument("--teacher", metavar="CHECKPOINT",
                        help="distil from this trained spotter (a file saved with --save, or a shipped model's name)")
    parser.add_argument("--temperature", type=float, default=4.0, help="with --teacher: the softmax temperature")
    parser.add_argument("--distill-weight", type=float, default=0.9,
                        help="with --teacher: the weight of the teacher's soft targets (the labels get the rest)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the fastest available)")
    parser.add_argument("--amp", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--checkpoint", help="save a resumable checkpoint here after every epoch (a new file, "
                        "or with --resume the checkpoint of this same run)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --checkpoint")
    parser.add_argument("--save", help="write the trained spotter here (for python -m tutorial_utils.predict)")
    parser.add_argument("--threads", type=common.positive("--threads"), help="CPU threads for PyTorch (default: its own choice)")
    parser.add_argument("--limit", type=common.positive("--limit"), help="at most this many clips per split (quick tests)")
    parser.add_argument("--workers", type=int, help="DataLoader processes (default: 0 for FSDD, held in memory; 4 otherwise)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.synthetic_voices is None:
        args.synthetic_voices = config.by_profile(ci=0, cpu=SYNTHETIC_VOICES, gpu=SYNTHETIC_VOICES) if args.dataset == "fsdd" else 0
    if (args.test_speakers or args.speakers) and args.dataset != "fsdd":
        parser.error("--speakers and --test-speakers select FSDD speakers; Speech Commands has its own split")
    if args.synthetic_voices and args.dataset != "fsdd":
        parser.error("--synthetic-voices adds digits to FSDD's training data; Speech Commands has its own words")
    check_synthetic_voices(parser, args.synthetic_voices, args.synthetic_engine)
    if args.workers is not None and args.workers < 0:
        parser.error(f"--workers must be 0 or more, not {args.workers}")
    augmentations = set() if args.augment == "none" else set(args.augment.split(","))
    known = {"speed", "shift", "noise", "vtlp", "pitch", "specaugment"}
    if augmentations - known:
        parser.error(f"--augment: unknown {sorted(augmentations - known)}; choose among {sorted(known)} or none")
    if args.instance_norm and args.model not in KWS_MODELS:
        parser.error(f"--instance-norm is for {', '.join(KWS_MODELS)}; {args.model} has its own normalisation")
    if args.model in KWS_MODELS and not 0 <= args.instance_norm <= KWS_MODELS[args.model].blocks:
        parser.error(f"--instance-norm {args.instance_norm}: {args.model} has {KWS_MODELS[args.model].blocks} blocks")
    check_average(parser, args.average_last, args.epochs)
    if args.average_last and args.early_stopping:
        parser.error("--average-last keeps the last epochs and --early-stopping may stop before them: drop one")
    tta_speeds = parse_speeds(parser, args.tta_speeds)
    if tta_speeds and args.dataset != "fsdd":
        parser.error("--tta-speeds is measured on FSDD's test clips")
    teacher = check_teacher(parser, args)
    # Everything a user can get wrong is checked here, before any data is read or trained on.
    device = common.usable_device(parser, args.device)
    save = common.writable_file(parser, "--save", args.save)
    checkpoint = common.writable_file(parser, "--checkpoint", args.checkpoint)
    settings = {key: getattr(args, key) for key in RUN_SETTINGS}
    settings["augment"] = sorted(augmentations)
    if args.resume and checkpoint is None:
        parser.error("--resume continues the run saved in --checkpoint: name it")
    if args.resume and not checkpoint.exists():
        parser.error(f"--resume: {checkpoint} does not exist; drop --resume to start a new run there")
    if checkpoint is not None and checkpoint.exists() and not args.resume:
        parser.error(f"--checkpoint {checkpoint} exists: add --resume to continue that run, or choose another file")
    if args.resume:
        common.run(parser.prog, args.debug, lambda: check_resumable(checkpoint, settings))
    if args.threads:
        torch.set_num_threads(args.threads)
    return common.run(parser.prog, args.debug,
                      lambda: _train_spotter(args, argv, device, save, checkpoint, augmentations, settings, teacher, tta_speeds))


def parse_speeds(parser: argparse.ArgumentParser, text: str | None) -> tuple[float, ...]:
    """``--tta-speeds`` as numbers (empty if not given), each a playback rate between 0.5 and 2."""
    if not text:
        return ()
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        parser.error(f"--tta-speeds {text!r}: give comma-separated playback rates, e.g. 0.9,1,1.1")
    if not all(0.5 <= rate <= 2 for rate in rates):
        parser.error(f"--tta-speeds {text!r}: each rate must be between 0.5 and 2 (1: as recorded)")
    return rates


def check_teacher(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path | None:
    """The file of ``--teacher`` (checked: it exists, and its front end is the student's), or ``None``."""
    if args.teacher is None:
        return None
    if args.mixup:
        parser.error(f"--teacher with --mixup {args.mixup}: distillation mixes no batches; add --mixup 0")
    if args.temperature <= 0 or not 0 <= args.distill_weight <= 1:
        parser.error("--temperature must be positive and --distill-weight between 0 and 1")
    path = trained.model_path(args.teacher)
    if not path.is_file():
        parser.error(f"--teacher {args.teacher}: no such file (a spotter saved with --save, or a shipped model's name)")
    saved = common.run(parser.prog, args.debug, lambda: load_checkpoint(path, "spotter"))
    normalize = saved["front_end"]["normalize"] or "none"
    if normalize != args.normalize or args.dataset != "fsdd" or len(saved["labels"]) != len(FSDD_LABELS):
        parser.error(f"--teacher {args.teacher} was trained on FSDD with --normalize {normalize}: "
                     f"train the student the same way (--dataset fsdd --normalize {normalize})")
    return path


def check_average(parser: argparse.ArgumentParser, average_last: int, epochs: int) -> None:
    """Stop with one line unless ``--average-last`` is 0, or leaves at least one epoch before it."""
    if not 0 <= average_last < epochs:
        parser.error(f"--average-last {average_last}: give 0 (off) or fewer epochs than --epochs {epochs}, "
                     "so that the schedule has epochs of its own before the averaging")


def check_synthetic_voices(parser: argparse.ArgumentParser, voices: int, engine: str = "espeak-ng") -> None:
    """Stop with one line unless ``--synthetic-voices`` is 0, or positive with ``engine``'s program installed."""
    if voices < 0:
        parser.error(f"--synthetic-voices must be 0 or more, not {voices}")
    if voices:
        try:
            synthetic.check_program(engine)
        except synthetic.SynthesisError as error:
            parser.error(f"--synthetic-voices {voices}: {error}; or train without them: --synthetic-voices 0")


def _train_spotter(args: argparse.Namespace, argv: list[str], device: torch.device, save, checkpoint,
                   augmentations: set[str], settings: dict, teacher_path: Path | None, tta_speeds: tuple[float, ...]) -> dict:
    default = AugmentConfig()
    augmentation = AugmentConfig(
        speed=default.speed if "speed" in augmentations else (1.0, 1.0),
        time_shift=default.time_shift if "shift" in augmentations else 0.0,
        noise_p=default.noise_p if "noise" in augmentations else 0.0,
        vtlp=(0.9, 1.1) if "vtlp" in augmentations else (1.0, 1.0),
        pitch_semitones=4.0 if "pitch" in augmentations else 0.0,
        freq_mask=default.freq_mask if "specaugment" in augmentations else 0,
        time_mask=default.time_mask if "specaugment" in augmentations else 0,
        masks=args.specaugment_masks,
    )

    began, began_cpu = time.perf_counter(), time.process_time()
    speakers = args.test_speakers.split(",") if args.test_speakers else None
    used = args.speakers.split(",") if args.speakers else None
    normalize = None if args.normalize == "none" else args.normalize
    data = {}
    if args.dataset == "fsdd":
        splits, labels, length = fsdd_tensors(test_speakers=speakers, limit=args.limit, speakers=used), FSDD_LABELS, 8000
        data = {"fsdd_version": FSDD_VERSION, "fsdd_speakers": sorted(used or fsdd_speakers())}
        front_end_config = FrontEndConfig(normalize=normalize)
        if args.synthetic_voices:  # extra voices for training only: validation and test stay real
            voices = load_fsdd_tensors(synthetic.ensure_synthetic_digits(
                args.synthetic_voices, progress=not args.quiet, engine=args.synthetic_engine))
            splits["train"] = tuple(torch.cat(pair) for pair in zip(splits["train"], voices))
        absent = sorted(set(range(len(labels))) - set(splits["train"][1].tolist()))
        if absent and args.limit is None:  # (a --limit subset may miss some on purpose)
            raise ValueError(f"the training data has no recording of digit(s) {absent}: restore them "
                             "(run ensure_fsdd() with a network connection, or copy them from a good copy of FSDD)")
    else:  # Speech Commands: 16 kHz, 30 ms frames every 10 ms, as in Tang & Lin (2018)
        subsets = {"train": "training", "validation": "validation", "test": "testing"}
        task = args.dataset.rsplit("-", 1)[1]
        splits = {name: SpeechCommandsKWS(subset=subset, task=task, download=args.download, unknown_fraction=0.1)
                  for name, subset in subsets.items()}
        labels, length = splits["train"].labels, 16000
        if args.limit:
            splits = {name: Subset(data, range(0, len(data), max(1, len(data) // args.limit))[: args.limit])
                      for name, data in splits.items()}
        front_end_config = FrontEndConfig(sample_rate=16000, n_fft=480, hop_length=160, normalize=normalize)
    workers = args.workers if args.workers is not None else (0 if args.dataset == "fsdd" else 4)
    seed_everything(args.seed)
    front_end = FrontEnd(front_end_config, augmentation if augmentations else None)
    model = kws_model(args.model, len(labels), residual=not args.plain, instance_norm=args.instance_norm)
    distillation = None
    if teacher_path is not None:
        teacher, _, _ = load_spotter(teacher_path, device)
        distillation = distillation_step(teacher, front_end, args.temperature, args.distill_weight, args.label_smoothing)
    history, test = train_spotter(
        model, front_end, splits, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, label_smoothing=args.label_smoothing, mixup=args.mixup,
        train_on_validation=args.train_on_validation, seed=args.seed, device=device,
        amp={"auto": "auto", "on": True, "off": False}[args.amp], compile=args.compile,
        channels_last=args.channels_last, checkpoint_path=checkpoint, resume=args.resume, run_settings=settings,
        early_stopping_patience=args.early_stopping, progress=not args.quiet, workers=workers, loss_step=distillation,
        average_last=args.average_last, average_lr=args.lr / 10,
    )
    sizes = {name: len(as_dataset(split)) for name, split in splits.items()}
    train_examples = sizes["train"] + (sizes["validation"] if args.train_on_validation else 0)
    tta = {}
    if tta_speeds:
        test_loader = make_loader(as_dataset(splits["test"]), args.batch_size, shuffle=False, device=device)
        probabilities, test_labels = speed_tta_probabilities(model, test_loader, front_end, tta_speeds, device)
        tta = {"tta_speeds": list(tta_speeds),
               "test_accuracy_tta": round((probabilities.argmax(1) == test_labels).float().mean().item(), 4),
               "tta_predictions": probabilities.argmax(1).tolist()}
    if save:
        save_spotter(save, model, args.model, not args.plain, labels, front_end_config, length, instance_norm=args.instance_norm)
    train_seconds = sum(history["epoch_seconds"])
    return record(
        TRAIN, argv, device,
        dataset=args.dataset,
        split=f"speaker-independent:{','.join(speakers)}" if speakers else "official",
        **data,
        classes=len(labels),
        model=args.model + ("-plain" if args.plain else ""),
        augment=sorted(augmentations),
        label_smoothing=args.label_smoothing,
        mixup=args.mixup,
        normalize=args.normalize,
        **({"specaugment_masks": args.specaugment_masks} if args.specaugment_masks != 1 else {}),
        **({"instance_norm": args.instance_norm} if args.instance_norm else {}),
        **({"average_last": args.average_last} if args.average_last else {}),
        synthetic_voices=args.synthetic_voices,
        **({"synthetic_engine": args.synthetic_engine} if args.synthetic_engine != "espeak-ng" else {}),
        **({"teacher": args.teacher, "temperature": args.temperature, "distill_weight": args.distill_weight}
           if teacher_path else {}),
        epochs=len(history["epoch"]),
        train_examples=train_examples,
        test_examples=sizes["test"],
        test_accuracy=round(test["accuracy"], 4),
        # FSDD: each test clip's predicted digit, in the order of fsdd_recordings(...)["test"]
        **({"test_predictions": test["predictions"]} if args.dataset == "fsdd" else {}),
        **tta,
        val_accuracy=round(history["val_acc"][-1], 4) if "val_acc" in history else None,
        seed=args.seed,
        train_seconds=round(train_seconds, 1),
        wall_seconds=round(time.perf_counter() - began, 1),
        cpu_seconds=round(time.process_time() - began_cpu, 1),  # all threads; a shared machine inflates wall time
        samples_per_second=round(len(history["epoch"]) * train_examples / train_seconds, 1),
        history={key: [round(x, 4) for x in values] for key, values in history.items()
                 if key in ("train_loss", "train_acc", "val_loss", "val_acc")},
        **({"model_file": save.name, "model_sha256": sha256sum(save)} if save else {}),
    )


def train_recogniser(argv: Sequence[str]) -> list[dict]:
    """``python -m tutorial_utils.train --task asr`` (or ``python -m tutorial_utils.asr_train``): train a
    CTC recogniser on connected FSDD digits and print one JSON line of results per run (with
    ``--leave-one-out``: per held-out speaker, then the mean)."""
    parser = common.parser("python -m tutorial_utils.train --task asr", train_recogniser.__doc__)
    parser.add_argument("--model", choices=list(ASR_MODELS), default="conv",
                        help="the acoustic model: the residual 1-D conv, or a rival of about its size")
    parser.add_argument("--plain", action="store_true", help="without skip connections (conv, transformer, conformer)")
    parser.add_argument("--normalize", choices=ASR_NORMALIZATIONS, default="band",
                        help="per-utterance normalisation: each Mel band (CMVN), or the whole spectrogram at once")
    parser.add_argument("--vtlp", action="store_true",
                        help="vocal tract length perturbation in training: Mel filterbank warps uniform in (0.9, 1.1)")
    parser.add_argument("--speakers", help=SPEAKERS_HELP)
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--test-speakers", help="comma-separated: speaker-independent split (default: speaker-dependent)")
    split.add_argument("--leave-one-out", action="store_true", help="hold out each speaker in turn; report the mean WER")
    parser.add_argument("--epochs", type=common.positive("--epochs"), default=config.by_profile(ci=1, cpu=16, gpu=30))
    parser.add_argument("--utterances", type=common.positive("--utterances"), default=config.by_profile(ci=20, cpu=600, gpu=600),
                        help="training utterances per speaker")
    parser.add_argument("--batch-size", type=common.positive("--batch-size"), default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--beam", type=common.positive("--beam"), default=8, help="beam width of the prefix beam search")
    parser.add_argument("--no-augment", action="store_true", help="no speed perturbation, noise or SpecAugment")
    parser.add_argument("--synthetic-voices", type=int, default=0, metavar="N",
                        help="add N synthetic voices (see --synthetic-engine) to the training utterances only (default 0)")
    parser.add_argument("--synthetic-engine", choices=list(synthetic.ENGINES), default="espeak-ng", help=ENGINE_HELP)
    parser.add_argument("--average-last", type=int, default=0, metavar="EPOCHS", help=AVERAGE_HELP)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the fastest available)")
    parser.add_argument("--save", help="write the trained model here (for python -m tutorial_utils.transcribe)")
    parser.add_argument("--cache-dir", help="where the rendered utterances are cached (default: the user's cache, "
                        "~/.cache/resnet-speech-book/derived, else the system's temporary folder)")
    args = parser.parse_args(argv)
    if args.save and args.leave_one_out:
        parser.error("--save saves one model; it cannot be combined with --leave-one-out")
    if args.plain and args.model == "blstm":
        parser.error("--plain removes skip connections, and the blstm model has none; use it with conv, transformer or conformer")
    if args.vtlp and args.no_augment:
        parser.error("--vtlp is an augmentation, and --no-augment turns augmentation off; drop one of them")
    check_synthetic_voices(parser, args.synthetic_voices, args.synthetic_engine)
    check_average(parser, args.average_last, args.epochs)
    device = common.usable_device(parser, args.device)
    save = common.writable_file(parser, "--save", args.save)
    return common.run(parser.prog, args.debug, lambda: _train_recognisers(args, argv, device, save))


def _train_recognisers(args: argparse.Namespace, argv: Sequence[str], device: torch.device, save) -> list[dict]:
    counts = {"train": args.utterances, **config.by_profile(ci={"validation": 5, "test": 5}, cpu={}, gpu={})}
    used = args.speakers.split(",") if args.speakers else None
    if args.leave_one_out:
        folds = [[s] for s in sorted(used or fsdd_speakers())]
    else:
        folds = [args.test_speakers.split(",") if args.test_speakers else None]
    results = []
    for fold in folds:
        _, _, result = train_connected_digits(
            fold, epochs=args.epochs, counts=counts, batch_size=args.batch_size, learning_rate=args.lr,
            beam_width=args.beam, seed=args.seed, augment=not args.no_augment, save=save, cache=args.cache_dir,
            device=device, progress=True, speakers=used, synthetic_voices=args.synthetic_voices,
            synthetic_engine=args.synthetic_engine, average_last=args.average_last,
            model_config=replace(ASR_MODELS[args.model], residual=not args.plain, normalize=args.normalize,
                                 vtlp=(0.9, 1.1) if args.vtlp else (1.0, 1.0)),
        )
        result.pop("profile"), result.pop("device")
        if save:
            result.update(model_file=save.name, model_sha256=sha256sum(save))
        results.append(record(ASR_TRAIN, argv, device, **result))
    if len(folds) > 1:
        mean = {key: round(sum(r[key] for r in results) / len(results), 4) for key in ("test_wer_greedy", "test_wer_beam")}
        results.append(record(ASR_TRAIN, argv, device, task="asr", split="leave-one-speaker-out", folds=len(results),
                              **{f"mean_{key}": value for key, value in mean.items()}))
    return results
