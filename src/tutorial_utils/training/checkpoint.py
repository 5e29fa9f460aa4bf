"""One checkpoint format for every file the book saves: trained spotters, trained recognisers and
resumable training runs (and the bare weights of a data-parallel run).

A checkpoint is a dict of plain Python values and tensors, written atomically (a crash or a full
disk leaves the previous file intact) and read with ``torch.load(weights_only=True)``, which never
unpickles code. Its header says what it is::

    {"format": "resnet-speech-book", "version": 1, "kind": "spotter" | "recogniser" | "training-run" | "weights", ...}

A saved model also stores how to rebuild it (model name or config), its labels, its front end and
its **clip policy** (:data:`tutorial_utils.data.CLIP_POLICIES`), so that ``predict`` and
``transcribe`` serve it with the input it was trained on. Each command refuses a file of another
kind with a sentence that says which command writes the right one.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from ..data.audio import CLIP_POLICIES
from ..front_end import FrontEnd, FrontEndConfig
from ..models.asr import RecognizerConfig, SpeechRecognizer
from ..models.kws import kws_model

FORMAT = "resnet-speech-book"
VERSION = 1
#: Each kind of checkpoint and the command that writes it (for the error messages).
KINDS = {
    "spotter": "python -m tutorial_utils.train --save PATH",
    "recogniser": "python -m tutorial_utils.train --task asr --save PATH",
    "training-run": "python -m tutorial_utils.train --checkpoint PATH",
    "weights": "torchrun --nproc_per_node N -m tutorial_utils.distributed --save PATH",
}


class CheckpointError(ValueError):
    """A file is missing, not a checkpoint of this book, or of another kind; the message says the fix."""


def save_atomically(obj: object, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``: a crash
    mid-write leaves the previous file intact and no partial one. The file gets the usual
    permissions (``0666`` less the umask), not a temporary file's ``0600``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, (stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH) & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, kind: str, **contents: object) -> None:
    """Write a checkpoint of ``kind`` (one of :data:`KINDS`) holding ``contents``, atomically."""
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; the book's are {', '.join(KINDS)}")
    save_atomically({"format": FORMAT, "version": VERSION, "kind": kind, **contents}, path)


def load_checkpoint(path: str | Path, kind: str | None = None, map_location: torch.device | str = "cpu") -> dict:
    """Read a checkpoint with ``weights_only=True``; with ``kind``, refuse one of another kind.

    Raises :class:`CheckpointError` with one sentence for a missing path, a folder, a truncated or
    foreign file, or the wrong kind.
    """
    path = Path(path)
    advice = KINDS.get(kind or "", "the command that wrote it")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found: write one with {advice}")
    try:
        saved = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # the weights-only unpickler fails in many ways on a file that is not ours
        raise CheckpointError(
            f"{path} is not a checkpoint of this book (truncated or not a PyTorch file): retrain with {advice}"
        ) from error
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a checkpoint of this book (no {FORMAT!r} header): retrain with {advice}")
    if saved.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {saved.get('version')}, this book reads {VERSION}: retrain with {advice}")
    if kind is not None and saved.get("kind") != kind:
        raise CheckpointError(f"{path} is a {saved.get('kind')} checkpoint, not a {kind}: write a {kind} with {advice}")
    return saved


def check_resumable(path: str | Path, settings: dict | None) -> dict:
    """The training-run checkpoint at ``path``, if it can continue a run with ``settings``: a
    checkpoint of another kind, or of a run with other settings, is refused with a
    :class:`CheckpointError` that names each setting that differs (a finished run cannot be
    extended to more epochs: the schedule was planned for its own number)."""
    saved = load_checkpoint(path, "training-run")
    stored = saved.get("settings") or {}
    if settings is not None:
        differ = [f"{key}: {stored.get(key)!r} in the checkpoint, {settings.get(key)!r} now"
                  for key in sorted(set(stored) | set(settings)) if stored.get(key) != settings.get(key)]
        if differ:
            raise CheckpointError(
                f"{path} is a run with other settings ({'; '.join(differ)}): resume with the same settings, "
                "or start a new run with another --checkpoint"
            )
    return saved


def _clip(length: int | None, policy: str) -> dict:
    if policy not in CLIP_POLICIES:
        raise ValueError(f"unknown clip policy {policy!r}; the book's are {', '.join(CLIP_POLICIES)}")
    return {"length": length, "policy": policy}


def save_spotter(path: str | Path, model: nn.Module, model_name: str, residual: bool, labels: Sequence[str],
                 front_end: FrontEndConfig, length: int, clip_policy: str = "centre", instance_norm: int = 0) -> None:
    """Save a trained keyword spotter: the model's name and weights, its labels, front end and clip."""
    save_checkpoint(
        path, "spotter", model=model_name, residual=residual, instance_norm=instance_norm, labels=list(labels),
        front_end=asdict(front_end),
        clip=_clip(length, clip_policy), state_dict=model.state_dict(),
    )


def load_spotter(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, FrontEnd, dict]:
    """The model and front end (in eval mode, on ``device``) and the checkpoint (labels, clip, ...)."""
    saved = load_checkpoint(path, "spotter", map_location=device)
    model = kws_model(saved["model"], len(saved["labels"]), residual=saved["residual"],
                      instance_norm=saved.get("instance_norm", 0))
    model.load_state_dict(saved["state_dict"])
    front_end = FrontEnd(FrontEndConfig(**saved["front_end"]))
    return model.to(device).eval(), front_end.to(device).eval(), saved


def save_recogniser(path: str | Path, model: SpeechRecognizer, vocabulary: Sequence[str], word_level: bool) -> None:
    """Save a trained CTC recogniser: its config and weights, its vocabulary and clip policy (``whole``)."""
    save_checkpoint(
        path, "recogniser", config=asdict(model.config), classes=model.classes, vocabulary=list(vocabulary),
        word_level=word_level, clip=_clip(None, "whole"), state_dict=model.state_dict(),
    )


def load_recogniser(path: str | Path, device: torch.device | str = "cpu") -> tuple[SpeechRecognizer, dict]:
    """Rebuild a saved :class:`~tutorial_utils.models.asr.SpeechRecognizer` in eval mode; returns it and the checkpoint."""
    saved = load_checkpoint(path, "recogniser", map_location=device)
    model = SpeechRecognizer(saved["classes"], RecognizerConfig.from_dict(saved["config"]))
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), saved
