"""One readable training loop for classifiers: features on the device, mixed precision,
learning-rate schedules, early stopping and checkpoint/resume.

Loaders yield ``(inputs, labels)``. ``inputs`` are either waveforms ``(batch, samples)`` --
then ``features`` (an ``nn.Module``) turns them into model inputs *on the device* -- or
ready-made features such as ``(batch, n_mels, frames)`` with ``features=None``.
``features`` follows the model's train/eval mode, so augmentation modules inside it (see
:mod:`tutorial_utils.augment`) act during training only, like dropout.

Run ``python -m tutorial_utils.train --help`` for the command-line entry.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

Scheduler = Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and every GPU) random number generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast_dtype(device: torch.device, amp: bool | str = "auto") -> torch.dtype | None:
    """The mixed-precision type for ``device``: on CUDA bfloat16 where the GPU computes it natively
    (compute capability 8.0, Ampere, or newer), else float16 (e.g. Colab's T4, which would only
    emulate bfloat16, slowly); ``None`` (full float32) on other devices unless ``amp=True`` (then
    bfloat16), or if ``amp=False``."""
    if amp is False:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.get_device_capability(device)[0] >= 8 else torch.float16
    return torch.bfloat16 if amp is True else None


def make_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool, device: torch.device | str | None = None, workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader with pinned memory when the batches go to a GPU, and ``workers`` processes
    (kept alive between epochs). Shuffling draws from PyTorch's global generator, so
    :func:`seed_everything` makes it repeatable and a checkpoint can resume it."""
    pin = torch.device(device).type == "cuda" if device is not None else False
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
        pin_memory=pin, persistent_workers=workers > 0, drop_last=drop_last,
    )


def _model_inputs(inputs: torch.Tensor, features: nn.Module | None, device: torch.device) -> torch.Tensor:
    """Move a batch to the device and compute features there, in float32 (outside autocast)."""
    inputs = inputs.to(device, non_blocking=True)
    return inputs if features is None else features(inputs)


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: DataLoader,
    features: nn.Module | None = None,
    device: torch.device | str | None = None,
    amp: bool | str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(examples, classes)`` (float32, on the CPU) and labels ``(examples,)`` of a loader."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval().to(device)
    if features is not None:
        features.eval().to(device)
    dtype = autocast_dtype(device, amp)
    all_logits, all_labels = [], []
    for inputs, labels in loader:
        x = _model_inputs(inputs, features, device)
        with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
            logits = model(x)
        all_logits.append(logits.float().cpu())
        all_labels.append(labels)
    return torch.cat(all_logits), torch.cat(all_labels)


def backward_and_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                      scaler: torch.amp.GradScaler | None = None) -> None:
    """Clear the gradients, backpropagate ``loss`` and step: with a float16 ``scaler``, the loss is
    scaled up before ``backward`` (so that small gradients do not underflow) and the gradients are
    unscaled, and the step skipped if any is inf or NaN, by ``scaler.step``."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    features: nn.Module | None = None,
    device: torch.device | str | None = None,
    amp: bool | str = "auto",
) -> dict[str, float]:
    """Mean cross-entropy ``loss`` and ``accuracy`` (a fraction) of ``model`` over ``loader``."""
    logits, labels = predict(model, loader, features, device, amp)
    return {
        "loss": F.cross_entropy(logits, labels).item(),
        "accuracy": (logits.argmax(1) == labels).float().mean().item(),
    }


def one_cycle(max_lr: float) -> Scheduler:
    """A scheduler factory for :func:`fit`: warm up for 20 % of the steps, then anneal (cosine).
    Momentum (or Adam's beta1) is cycled against the learning rate only if the optimizer has some:
    plain SGD, AdaGrad and RMSprop keep theirs at zero."""

    def make(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
        has_momentum = "betas" in optimizer.defaults or optimizer.defaults.get("momentum", 0) > 0
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=0.2, cycle_momentum=has_momentum
        )

    return make


def _rng_state(loader: DataLoader) -> dict:
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in np.random.get_state()],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if getattr(loader, "generator", None) is not None:
        state["loader"] = loader.generator.get_state()
    return state


def _set_rng_state(state: dict, loader: DataLoader) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(tuple(a.numpy() if isinstance(a, torch.Tensor) else a for a in state["numpy"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "loader" in state:
        loader.generator.set_state(state["loader"])


def save_atomically(obj: object, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``: a crash
    mid-write leaves the previous file intact and no partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, map_location: torch.device | str = "cpu") -> dict:
    """Load a checkpoint written by :func:`fit` or :func:`save_atomically`. ``weights_only=True``:
    only tensors and plain Python containers are unpickled, never arbitrary code."""
    return torch.load(path, map_location=map_location, weights_only=True)


def _improved(metric: str, value: float, best: float | None) -> bool:
    return best is None or (value < best if metric == "val_loss" else value > best)


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    val_loader: DataLoader | None = None,
    features: nn.Module | None = None,
    device: torch.device | str | None = None,
    scheduler: Scheduler | None = None,
    label_smoothing: float = 0.0,
    amp: bool | str = "auto",
    compile: bool = False,
    channels_last: bool = False,
    seed: int = 0,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    early_stopping_patience: int | None = None,
    monitor: str = "val_loss",
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` with cross-entropy; return the history, one list entry per epoch:
    ``epoch``, ``train_loss``, ``train_acc``, ``lr`` (at the epoch's end), ``epoch_seconds`` and,
    with a ``val_loader``, ``val_loss`` and ``val_acc``.

    - ``optimizer``: default AdamW(``lr``, ``weight_decay``). ``scheduler``: a factory
      ``(optimizer, total_steps) -> LRScheduler`` (e.g. :func:`one_cycle`), stepped every batch.
    - ``amp``: ``"auto"`` uses :func:`autocast_dtype` (bf16/fp16 on CUDA, with a gradient scaler
      for fp16; float32 elsewhere), ``True`` forces it (bf16 on the CPU), ``False`` disables it.
    - ``compile`` wraps the model in ``torch.compile``; ``channels_last`` changes its memory layout.
    - ``early_stopping_patience``: stop after that many epochs without improving ``monitor``
      (``"val_loss"`` or ``"val_acc"``) and restore the best epoch's weights.
    - ``checkpoint_path``: after every epoch, save everything needed to resume (weights,
      optimizer, scheduler, scaler, random states, history) atomically; with ``resume=True`` an
      existing checkpoint is loaded and training goes on from the next epoch, reproducing the
      uninterrupted run.
    """
    if early_stopping_patience is not None and val_loader is None:
        raise ValueError("early stopping needs a val_loader to monitor")
    if monitor not in ("val_loss", "val_acc"):
        raise ValueError(f"monitor must be 'val_loss' or 'val_acc', not {monitor!r}")
    seed_everything(seed)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if features is not None:
        features.to(device)
    forward = torch.compile(model) if compile else model
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = scheduler(optimizer, epochs * len(train_loader)) if scheduler else None
    dtype = autocast_dtype(device, amp)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    history: dict[str, list[float]] = {key: [] for key in ("epoch", "train_loss", "train_acc", "lr", "epoch_seconds")}
    if val_loader is not None:
        history.update(val_loss=[], val_acc=[])
    best, best_state, stale, start_epoch = None, None, 0, 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if schedule is not None:
            schedule.load_state_dict(state["scheduler"])
        if scaler is not None:
            scaler.load_state_dict(state["scaler"])
        history, best, best_state, stale = state["history"], state["best"], state["best_model"], state["stale"]
        start_epoch = state["epoch"] + 1
        _set_rng_state(state["rng"], train_loader)

    for epoch in tqdm(range(start_epoch, epochs), desc="epochs", disable=not progress):
        began = time.perf_counter()
        model.train()
        if features is not None:
            features.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        for inputs, labels in tqdm(train_loader, desc=f"epoch {epoch + 1}", leave=False, disable=not progress):
            x = _model_inputs(inputs, features, device)
            y = labels.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
                logits = forward(x)
                loss = loss_fn(logits.float(), y)
            backward_and_step(loss, optimizer, scaler)
            if schedule is not None:
                schedule.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)

        history["epoch"].append(epoch + 1)
        history["train_loss"].append(loss_sum.item() / seen)
        history["train_acc"].append(correct.item() / seen)
        history["lr"].append(optimizer.param_groups[0]["lr"])
        if val_loader is not None:
            result = evaluate(forward, val_loader, features, device, amp)
            history["val_loss"].append(result["loss"])
            history["val_acc"].append(result["accuracy"])
        history["epoch_seconds"].append(time.perf_counter() - began)

        stop = False
        if early_stopping_patience is not None:
            value = history[monitor][-1]
            if _improved(monitor, value, best):
                best, stale = value, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                stop = stale >= early_stopping_patience
        if checkpoint_path is not None:
            save_atomically(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": schedule.state_dict() if schedule is not None else None,
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "rng": _rng_state(train_loader),
                    "history": history,
                    "epoch": epoch,
                    "best": best,
                    "best_model": best_state,
                    "stale": stale,
                },
                checkpoint_path,
            )
        if progress:
            shown = {k: round(v[-1], 4) for k, v in history.items() if k not in ("epoch", "lr", "epoch_seconds")}
            tqdm.write(f"epoch {epoch + 1}/{epochs} {shown} {history['epoch_seconds'][-1]:.1f} s")
        if stop:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def main(argv: list[str] | None = None) -> dict | list[dict]:
    """``python -m tutorial_utils.train``: train a keyword spotter (or, with ``--task asr``, the CTC
    recogniser of :mod:`tutorial_utils.asr_train`) and print a JSON line of results."""
    import argparse
    import json
    import shlex
    import sys

    from . import config
    from .data import SpeechCommandsKWS
    from .keyword_spotting import (
        FSDD_LABELS, AugmentConfig, FrontEnd, FrontEndConfig, as_dataset, fsdd_tensors, save_spotter, train_spotter,
    )
    from .models import KWS_MODELS, kws_model

    argv = sys.argv[1:] if argv is None else list(argv)
    task = argparse.ArgumentParser(add_help=False)
    task.add_argument("--task", choices=["kws", "asr"], default="kws")
    known, rest = task.parse_known_args(argv)
    if known.task == "asr":  # the CTC recogniser of chapter 9 on connected digits
        from .asr_train import main as train_recognizer

        return train_recognizer(rest)

    parser = argparse.ArgumentParser(prog="python -m tutorial_utils.train", description=main.__doc__)
    parser.add_argument("--task", choices=["kws", "asr"], default="kws",
                        help="kws: keyword spotter (these options); asr: CTC recogniser (see --task asr --help)")
    parser.add_argument("--dataset", choices=["fsdd", "speech-commands-12", "speech-commands-35"], default="fsdd",
                        help="FSDD digits (8 kHz), or Speech Commands v0.02 (16 kHz): 12 classes or all 35 words")
    parser.add_argument("--download", action="store_true", help="fetch Speech Commands (2.3 GB) if it is absent")
    parser.add_argument("--model", choices=list(KWS_MODELS), default="res8")
    parser.add_argument("--plain", action="store_true", help="no shortcuts: the plain CNN of the same shape")
    parser.add_argument("--test-speakers", help="FSDD: comma-separated held-out speakers (default: official split)")
    parser.add_argument("--epochs", type=int, default=config.by_profile(ci=1, cpu=40, gpu=60))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--augment", default="speed,shift,noise,specaugment",
                        help="comma-separated augmentations among speed, shift, noise, specaugment; or none")
    parser.add_argument("--normalize", choices=["utterance", "band", "none"], default="utterance",
                        help="per-utterance normalisation: the whole spectrogram, each Mel band (CMVN), or none")
    parser.add_argument("--train-on-validation", action="store_true", help="train on the validation takes too")
    parser.add_argument("--early-stopping", type=int, metavar="EPOCHS", help="patience on the validation loss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the fastest available)")
    parser.add_argument("--amp", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--checkpoint", help="save a resumable checkpoint here after every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    parser.add_argument("--save", help="write the trained spotter here (for python -m tutorial_utils.predict)")
    parser.add_argument("--threads", type=int, help="CPU threads for PyTorch (default: its own choice)")
    parser.add_argument("--limit", type=int, help="at most this many clips per split (quick tests)")
    parser.add_argument("--workers", type=int, help="DataLoader processes (default: 0 for FSDD, held in memory; 4 otherwise)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.test_speakers and args.dataset != "fsdd":
        parser.error("--test-speakers selects FSDD speakers; Speech Commands has its own speaker-independent split")
    if args.threads:
        torch.set_num_threads(args.threads)
    augmentations = set() if args.augment == "none" else set(args.augment.split(","))
    known = {"speed", "shift", "noise", "specaugment"}
    if augmentations - known:
        parser.error(f"--augment: unknown {sorted(augmentations - known)}; choose among {sorted(known)} or none")
    default = AugmentConfig()
    augmentation = AugmentConfig(
        speed=default.speed if "speed" in augmentations else (1.0, 1.0),
        time_shift=default.time_shift if "shift" in augmentations else 0.0,
        noise_p=default.noise_p if "noise" in augmentations else 0.0,
        freq_mask=default.freq_mask if "specaugment" in augmentations else 0,
        time_mask=default.time_mask if "specaugment" in augmentations else 0,
    )

    began, began_cpu = time.perf_counter(), time.process_time()
    device = torch.device(args.device) if args.device else config.device()
    speakers = args.test_speakers.split(",") if args.test_speakers else None
    normalize = None if args.normalize == "none" else args.normalize
    if args.dataset == "fsdd":
        splits, labels, length = fsdd_tensors(test_speakers=speakers, limit=args.limit), FSDD_LABELS, 8000
        front_end_config = FrontEndConfig(normalize=normalize)
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
    model = kws_model(args.model, len(labels), residual=not args.plain)
    history, test = train_spotter(
        model, front_end, splits, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, label_smoothing=args.label_smoothing,
        train_on_validation=args.train_on_validation, seed=args.seed, device=device,
        amp={"auto": "auto", "on": True, "off": False}[args.amp], compile=args.compile,
        channels_last=args.channels_last, checkpoint_path=args.checkpoint, resume=args.resume,
        early_stopping_patience=args.early_stopping, progress=not args.quiet, workers=workers,
    )
    sizes = {name: len(as_dataset(split)) for name, split in splits.items()}
    train_examples = sizes["train"] + (sizes["validation"] if args.train_on_validation else 0)
    if args.save:
        save_spotter(args.save, model, args.model, not args.plain, labels, front_end_config, length)
    train_seconds = sum(history["epoch_seconds"])
    result = {
        "command": shlex.join(["python", "-m", "tutorial_utils.train", *argv]),
        "dataset": args.dataset,
        "split": f"speaker-independent:{','.join(speakers)}" if speakers else "official",
        "classes": len(labels),
        "model": args.model + ("-plain" if args.plain else ""),
        "augment": sorted(augmentations),
        "label_smoothing": args.label_smoothing,
        "normalize": args.normalize,
        "profile": config.profile(),
        "device": config.device_name(device),
        "epochs": len(history["epoch"]),
        "train_examples": train_examples,
        "test_examples": sizes["test"],
        "test_accuracy": round(test["accuracy"], 4),
        "val_accuracy": round(history["val_acc"][-1], 4) if "val_acc" in history else None,
        "seed": args.seed,
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - began, 1),
        "cpu_seconds": round(time.process_time() - began_cpu, 1),  # all threads; a shared machine inflates wall time
        "samples_per_second": round(len(history["epoch"]) * train_examples / train_seconds, 1),
    }
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
