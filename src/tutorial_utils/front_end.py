"""The keyword spotters' front end: waveforms in, normalised (and, in training, augmented) log-Mel
features out, computed on the device.

:class:`FrontEndConfig` and :class:`AugmentConfig` describe it; a saved spotter stores the first
(see :mod:`tutorial_utils.training.checkpoint`), so that it is served with the features it was
trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import augment, features
from .features import LogMelSpectrogram

NORMALIZATIONS = ("band", "utterance", "pcen", None)


@dataclass
class FrontEndConfig:
    """Log-Mel front end: ``n_mels`` bands from ``n_fft``-point frames every ``hop_length`` samples
    (defaults: 32 ms frames, 10 ms hop at 8 kHz). ``normalize`` (per utterance): ``"utterance"``
    scales the waveform to unit RMS (quiet and loud speakers then sit equally far above the log's
    floor) and normalises the whole log-Mel spectrogram with one mean and one variance, keeping its
    spectral shape; ``"band"`` scales to unit RMS and normalises each Mel band separately over the
    frames (CMVN); ``"pcen"`` scales to unit RMS and replaces the log by per-channel energy
    normalisation (:func:`tutorial_utils.features.pcen`); ``None``: none of these. On FSDD's
    held-out speakers ``"utterance"`` did better than ``"band"``."""

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
    in ``snr_db`` (white, pink, brown, and background recordings if found); vocal tract length
    perturbation by a factor uniform in ``vtlp`` (off by default: (1, 1); Jaitly and Hinton used
    (0.9, 1.1)); a pitch shift of up to ``pitch_semitones`` either way that keeps the formants (off
    by default: 0); ``masks`` SpecAugment masks of each kind, of up to ``freq_mask`` Mel bands and
    ``time_mask`` frames."""

    speed: tuple[float, float] = (0.9, 1.1)
    time_shift: float = 0.1
    noise_p: float = 0.8
    snr_db: tuple[float, float] = (5.0, 30.0)
    noise_recordings: bool = True
    vtlp: tuple[float, float] = (1.0, 1.0)
    pitch_semitones: float = 0.0
    freq_mask: int = 7
    time_mask: int = 10
    masks: int = 1
    colors: tuple[str, ...] = field(default=("white", "pink", "brown"))


class FrontEnd(nn.Module):
    """Waveforms ``(batch, samples)`` -> features ``(batch, n_mels, frames)``: speed, time shift and
    noise (training only) -> unit RMS -> log-Mel (in training, its power spectrogram pitch-shifted
    and its Mel filterbank warped per example by VTLP) -> normalisation (see :class:`FrontEndConfig`) -> SpecAugment (training only);
    augmentation only if ``augmentation`` is given."""

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
        self.vtlp = augment.RandomVTLP((1.0, 1.0) if augmentation is None else augmentation.vtlp,
                                       config.sample_rate, config.n_fft, config.n_mels)
        self.pitch = augment.RandomPitch(0.0 if augmentation is None else augmentation.pitch_semitones)
        self.spec_augment: nn.Module = nn.Identity()
        if augmentation is not None:
            self.spec_augment = augment.SpecAugment(augmentation.freq_mask, augmentation.time_mask,
                                                    augmentation.masks, augmentation.masks)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        x = self.waveform_augment(waveforms)
        if self.config.normalize:
            x = features.unit_rms(x)
        fbank = self.vtlp(x.shape[0], x.device)
        if self.config.normalize == "pcen":
            x = features.pcen(self.log_mel.mel_power(x, fbank, self.pitch))
        else:
            x = self.log_mel(x, fbank, self.pitch)
        if self.config.normalize == "utterance":
            x = (x - x.mean(dim=(-2, -1), keepdim=True)) / x.std(dim=(-2, -1), keepdim=True).clamp(min=1e-5)
        return self.spec_augment(x)
