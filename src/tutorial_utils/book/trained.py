"""Trained models that ship with the package, each with the record of the run that made it.

A full-length training run takes longer than a chapter may (each record's ``train_seconds`` says
how long it took), so the authors ran each once with
the package's own command and ship the result in ``trained/``: ``NAME.pt`` (the model, as
``--save`` wrote it) and ``NAME.json`` (the JSON line the command printed: its ``command``,
``commit``, device, profile, FSDD speakers and clip counts, test results, per-epoch history, and
the model file's ``model_sha256``). Rerun the record's ``command`` to train the model yourself.

Loading checks the file's SHA-256 against the record, then reads it with ``weights_only=True``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch

from ..data.download import ChecksumError, sha256sum
from ..training.checkpoint import load_recogniser, load_spotter


def _folder() -> Path:
    return Path(str(resources.files(__package__) / "trained"))


def names() -> list[str]:
    """The shipped models, e.g. ``["ctc-digits", "res8-fsdd", ...]``."""
    return sorted(p.stem for p in _folder().glob("*.json"))


def record(name: str) -> dict:
    """The record of shipped model ``name``: the JSON line its training command printed."""
    path = _folder() / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no shipped model {name!r}; available: {names()}")
    return json.loads(path.read_text())


def model_file(name: str) -> Path:
    """The path of shipped model ``name``, after checking its SHA-256 against its record."""
    expected = record(name)["model_sha256"]
    path = _folder() / f"{name}.pt"
    actual = sha256sum(path) if path.is_file() else "missing"
    if actual != expected:
        raise ChecksumError(
            f"{path}: SHA-256 {actual} is not the record's {expected}; reinstall tutorial_utils "
            "(or retrain the model with the record's command)"
        )
    return path


def model_path(given: str | Path) -> Path:
    """``given`` as a file, or, if there is no such file, the file of the shipped model of that name
    (e.g. ``"res8-fsdd"``): how the commands read ``--checkpoint`` and ``--teacher``."""
    path = Path(given).expanduser()
    if path.is_file() or str(given) not in names():
        return path
    return model_file(str(given))


def load_shipped_spotter(name: str, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    """A shipped keyword spotter: ``(model, front_end, record)``, in eval mode on ``device``."""
    model, front_end, _ = load_spotter(model_file(name), device=device)
    return model, front_end, record(name)


def load_shipped_recogniser(name: str, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """A shipped CTC recogniser: ``(model, record)``, in eval mode on ``device``."""
    model, _ = load_recogniser(model_file(name), device=device)
    return model, record(name)
