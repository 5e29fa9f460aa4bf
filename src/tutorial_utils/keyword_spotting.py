"""Keyword spotting end to end: clips of fixed length, the front end that turns waveforms into a
model's input on the device (augmentation, log-Mel spectrogram, per-utterance normalisation,
SpecAugment), FSDD splits as tensors, and saving/loading a trained spotter for prediction.

Used by ``python -m tutorial_utils.train`` and ``python -m tutorial_utils.predict`` and by the
keyword-spotting chapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import ConcatDataset, Dataset, TensorDataset

from . import augment
from .data import FsddRecording, list_fsdd, load_audio, split_fsdd
from .features import LogMelSpectrogram
from .models import kws_model
from .train import evaluate, fit, load_checkpoint, make_loader, one_cycle, save_atomically, seed_everything

FSDD_LABELS = tuple(str(digit) for digit in range(10))
NORMALIZATIONS = ("band", "utterance", None)


def fit_clip(waveform: torch.Tensor, length: int) -> torch.Tensor:
    """A clip of exactly ``length`` samples: a shorter waveform is centred between zeros; of a
    longer one the ``length``-sample window with the most energy is kept (where the word is)."""
    excess = waveform.shape[-1] - length
    if excess <= 0:
        before = -excess // 2
        return nn.functional.pad(waveform, (before, -excess - before))
    energy = torch.cat([torch.zeros(1), waveform.pow(2).cumsum(0)])
    start = int((energy[length:] - energy[:-length]).argmax())
    return waveform[start : start + length]


def load_clips(paths: Sequence[str | Path], sample_rate: int, length: int) -> torch.Tensor:
    """Read audio files (any rate: resampled; any channels: averaged) as clips ``(files, length)``."""
    clips = [fit_clip(load_audio(path, sample_rate=sample_rate, resample=True)[0], length) for path in paths]
    return torch.stack(clips) if clips else torch.zeros(0, length)


def fsdd_recordings(
    test_speakers: Sequence[str] | None = None, root: str | Path | None = None, limit: int | None = None,
) -> dict[str, list[FsddRecording]]:
    """FSDD's ``train``/``validation``/``test`` recordings (see :func:`tutorial_utils.data.split_fsdd`).
    ``limit``: at most that many per split, evenly spread over it (for quick tests)."""
    splits = split_fsdd(list_fsdd(root), test_speakers=test_speakers)
    if limit is not None:
        splits = {name: [rs[i * len(rs) // limit] for i in range(min(limit, len(rs)))] for name, rs in splits.items()}
    return splits


def fsdd_tensors(
    test_speakers: Sequence[str] | None = None, length: int = 8000, root: str | Path | None = None,
    limit: int | None = None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The splits of :func:`fsdd_recordings`, in the same order, as ``(waveforms (n, length),
    digits (n,))`` at 8 kHz, each clip centred by :func:`fit_clip`."""
    splits = fsdd_recordings(test_speakers, root, limit)
    return {
        name: (load_clips([r.path for r in recordings], 8000, length), torch.tensor([r.digit for r in recordings]))
        for name, recordings in splits.items()
    }


def fsdd_speakers(root: str | Path | None = None) -> list[str]:
    """The FSDD speakers present in the data directory."""
    recordings: list[FsddRecording] = list_fsdd(root)
    return sorted({r.speaker for r in recordings})


@dataclass
class FrontEndConfig:
    """Log-Mel front end: ``n_mels`` bands from ``n_fft``-point frames every ``hop_length`` samples
    (defaults: 32 ms frames, 10 ms hop at 8 kHz). ``normalize`` (per utterance): ``"utterance"``
    scales the waveform to unit RMS (quiet and loud speakers then sit equally far above the log's
    floor) and normalises the whole log-Mel spectrogram with one mean and one variance, keeping its
    spectral shape; ``"band"`` scales to unit RMS and normalises each Mel band separately over the
    frames (CMVN); ``None``: neither. On FSDD's held-out speakers ``"utterance"`` did better."""

    sample_rate: int = 8000
    n_fft: int = 256
    hop_length: int = 80
    n_mels: int = 40
    normalize: str | None = "utterance"

    def __post_init__(self):
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, not {self.normalize!r}")


@dataclass
class AugmentConfig:
    """Training-time augmentation: a speed change by a factor uniform in ``speed`` ((1, 1): none); a
    random shift of up to ``time_shift`` seconds; with probability ``noise_p`` noise at an SNR uniform
    in ``snr_db`` (white, pink, brown, and background recordings if found); SpecAugment masks of up
    to ``freq_mask`` Mel bands and ``time_mask`` frames."""

    speed: tuple[float, float] = (0.9, 1.1)
    time_shift: float = 0.1
    noise_p: float = 0.8
    snr_db: tuple[float, float] = (5.0, 30.0)
    noise_recordings: bool = True
    freq_mask: int = 7
    time_mask: int = 10
    colors: tuple[str, ...] = field(default=("white", "pink", "brown"))


class FrontEnd(nn.Module):
    """Waveforms ``(batch, samples)`` -> features ``(batch, n_mels, frames)``: speed, time shift and
    noise (training only) -> unit RMS -> log-Mel -> normalisation (see :class:`FrontEndConfig`) ->
    SpecAugment (training only); augmentation only if ``augmentation`` is given."""

    def __init__(self, config: FrontEndConfig = FrontEndConfig(), augmentation: AugmentConfig | None = None,
                 data_dir: str | Path | None = None):
        super().__init__()
        self.config = config
        self.waveform_augment: nn.Module = nn.Identity()
        if augmentation is not None:
            recordings = augment.load_noise_recordings(config.sample_rate, data_dir) if augmentation.noise_recordings else []
            self.waveform_augment = nn.Sequential(
                augment.RandomSpeed(augmentation.speed),
                augment.RandomTimeShift(round(augmentation.time_shift * config.sample_rate)),
                augment.AddNoise(augmentation.snr_db, augmentation.noise_p, augmentation.colors, recordings),
            )
        self.log_mel = LogMelSpectrogram(
            sample_rate=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length, n_mels=config.n_mels,
            normalize=config.normalize == "band",
        )
        self.spec_augment: nn.Module = nn.Identity()
        if augmentation is not None:
            self.spec_augment = augment.SpecAugment(augmentation.freq_mask, augmentation.time_mask)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        x = self.waveform_augment(waveforms)
        if self.config.normalize:
            x = x / x.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp(min=1e-8)
        x = self.log_mel(x)
        if self.config.normalize == "utterance":
            x = (x - x.mean(dim=(-2, -1), keepdim=True)) / x.std(dim=(-2, -1), keepdim=True).clamp(min=1e-5)
        return self.spec_augment(x)


#: A split: waveforms ``(n, samples)`` and labels ``(n,)`` held in memory (FSDD), or a dataset of
#: ``(waveform (samples,), label)`` pairs read from disk as needed (Speech Commands).
Split = tuple[torch.Tensor, torch.Tensor] | Dataset


def as_dataset(split: Split) -> Dataset:
    """A :data:`Split` as a dataset."""
    return split if isinstance(split, Dataset) else TensorDataset(*split)


def train_spotter(
    model: nn.Module,
    front_end: FrontEnd,
    splits: dict[str, Split],
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    label_smoothing: float = 0.1,
    train_on_validation: bool = False,
    seed: int = 0,
    device: torch.device | str | None = None,
    workers: int = 0,
    **fit_options,
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Train ``model`` on ``splits["train"]`` (plus ``"validation"`` if ``train_on_validation``, else
    validate on it) with AdamW and a one-cycle schedule peaking at ``lr``, the ``front_end``
    computing features on the device; return the history and the test set's loss and accuracy.
    ``workers``: DataLoader processes (worth it for datasets read from disk, not for tensors).
    ``fit_options`` go to :func:`tutorial_utils.train.fit`."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    train_set = as_dataset(splits["train"])
    if train_on_validation:
        train_set = ConcatDataset([train_set, as_dataset(splits["validation"])])

    def loader(dataset: Dataset, shuffle: bool):
        return make_loader(dataset, batch_size, shuffle=shuffle, device=device, workers=workers)

    seed_everything(seed)
    history = fit(
        model, loader(train_set, True), epochs=epochs, lr=lr, scheduler=one_cycle(lr),
        val_loader=None if train_on_validation else loader(as_dataset(splits["validation"]), False),
        features=front_end, device=device, label_smoothing=label_smoothing, seed=seed, **fit_options,
    )
    return history, evaluate(model, loader(as_dataset(splits["test"]), False), front_end, device)


def save_spotter(path: str | Path, model: nn.Module, model_name: str, residual: bool, labels: Sequence[str],
                 front_end: FrontEndConfig, length: int) -> None:
    """Save what :func:`load_spotter` needs to rebuild a trained spotter (atomically; plain types
    and tensors only, so it loads with ``weights_only=True``)."""
    save_atomically(
        {
            "model": model_name, "residual": residual, "labels": list(labels), "front_end": asdict(front_end),
            "length": length, "state_dict": model.state_dict(),
        },
        path,
    )


def load_spotter(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, FrontEnd, dict]:
    """The model and front end (in eval mode, on ``device``) and the saved dict (labels, length...)."""
    saved = load_checkpoint(path, map_location=device)
    model = kws_model(saved["model"], len(saved["labels"]), residual=saved["residual"])
    model.load_state_dict(saved["state_dict"])
    front_end = FrontEnd(FrontEndConfig(**saved["front_end"]))
    return model.to(device).eval(), front_end.to(device).eval(), saved
