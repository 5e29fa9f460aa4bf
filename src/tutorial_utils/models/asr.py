"""A residual 1-D convolutional acoustic model for CTC, in the Jasper / QuartzNet family.

Speech is a sequence of log-Mel frames ``(batch, n_mels, frames)``: the Mel bands are the input
channels and the convolutions slide along time only. Each residual block repeats
``separable conv -> batch norm -> ReLU -> dropout``; a *separable* convolution is a depthwise
convolution (one filter per channel, along time) followed by a pointwise 1x1 convolution (mixing
channels), QuartzNet's trick for long kernels with few weights. The shortcut adds the block's input
(through a 1x1 convolution and batch norm, QuartzNet-style) before the last ReLU.

:class:`SpeechRecognizer` puts the front end (log-Mel spectrogram, per-utterance normalisation)
and the acoustic model together: waveforms in, per-frame log-probabilities over labels out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from ..augment import SpecAugment
from ..features import LogMelSpectrogram

__all__ = [
    "SeparableConv1d",
    "ResidualBlock1d",
    "ConvCTC",
    "SpeechRecognizer",
    "RecognizerConfig",
    "DIGIT_MODEL",
]


class SeparableConv1d(nn.Sequential):
    """Depthwise conv along time (``kernel_size`` taps per channel) then a pointwise 1x1 conv.

    ``(batch, in_channels, frames) -> (batch, out_channels, ceil(frames / stride))`` for odd kernels.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv1d(in_channels, in_channels, kernel_size, stride, padding=kernel_size // 2, groups=in_channels, bias=False),
            nn.Conv1d(in_channels, out_channels, 1, bias=False),
        )


class ResidualBlock1d(nn.Module):
    """``relu(F(x) + shortcut(x))`` with ``F`` = ``repeats`` x (separable conv, BN, ReLU, dropout),
    the last ReLU and dropout after the addition. Shape ``(batch, in, frames) -> (batch, out, frames)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, repeats: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(repeats):
            conv = SeparableConv1d(in_channels if i == 0 else out_channels, out_channels, kernel_size)
            layers += [conv, nn.BatchNorm1d(out_channels)]
            if i < repeats - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
        self.branch = nn.Sequential(*layers)
        self.shortcut = nn.Sequential(nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.BatchNorm1d(out_channels))
        self.activation = nn.Sequential(nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.branch(x) + self.shortcut(x))


class ConvCTC(nn.Module):
    """Prologue (strided separable conv), residual blocks, epilogue, 1x1 classifier.

    ``(batch, n_mels, frames) -> (batch, classes, ceil(frames / stride))`` logits. ``kernels``: one
    kernel size per block; all blocks have ``channels`` channels.
    """

    def __init__(
        self,
        n_mels: int,
        classes: int,
        channels: int = 128,
        kernels: Sequence[int] = (13, 15, 17, 21, 25),
        repeats: int = 2,
        stride: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.prologue = nn.Sequential(SeparableConv1d(n_mels, channels, 11, stride), nn.BatchNorm1d(channels), nn.ReLU())
        self.blocks = nn.Sequential(*(ResidualBlock1d(channels, channels, k, repeats, dropout) for k in kernels))
        self.epilogue = nn.Sequential(
            SeparableConv1d(channels, 2 * channels, 29), nn.BatchNorm1d(2 * channels), nn.ReLU(), nn.Dropout(dropout)
        )
        self.classifier = nn.Conv1d(2 * channels, classes, 1)

    def output_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames out for ``frames`` in: the strided prologue keeps ``ceil(frames / stride)``."""
        return torch.div(frames + self.stride - 1, self.stride, rounding_mode="floor")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.epilogue(self.blocks(self.prologue(features))))


def _masked_normalize(features: torch.Tensor, frames: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance, per-band mean and variance normalisation over each utterance's own frames only.

    ``features``: ``(batch, n_mels, frames)``; padded frames are set to zero.
    """
    mask = (torch.arange(features.shape[-1], device=features.device) < frames.unsqueeze(1)).unsqueeze(1)
    count = frames.clamp(min=1).view(-1, 1, 1).to(features.dtype)
    mean = (features * mask).sum(-1, keepdim=True) / count
    var = (((features - mean) * mask) ** 2).sum(-1, keepdim=True) / count
    return (features - mean) / (var + eps).sqrt() * mask


@dataclass(frozen=True)
class RecognizerConfig:
    """What builds a :class:`SpeechRecognizer`: the front end (log-Mel at ``sample_rate`` from
    ``n_fft``-point frames every ``hop_length`` samples, ``n_mels`` bands), SpecAugment's keyword
    arguments in training (``augment``; ``None``: none) and the acoustic model :class:`ConvCTC`
    (``channels``, one block per entry of ``kernels``, ``repeats`` convolutions per block, ``stride``,
    ``dropout``)."""

    sample_rate: int = 8000
    n_fft: int = 256
    hop_length: int = 80
    n_mels: int = 40
    channels: int = 128
    kernels: tuple[int, ...] = (13, 15, 17, 21, 25)
    repeats: int = 2
    stride: int = 2
    dropout: float = 0.1
    augment: dict | None = None

    @classmethod
    def from_dict(cls, values: dict) -> RecognizerConfig:
        """The config saved as a dict (lists back to tuples)."""
        return cls(**{**values, "kernels": tuple(values["kernels"])})


#: The recogniser trained on connected digits: 40 log-Mel bands at 8 kHz, 5 residual blocks.
DIGIT_MODEL = RecognizerConfig(augment=dict(freq_masks=2, freq_mask_param=7, time_masks=2, time_mask_param=10))


class SpeechRecognizer(nn.Module):
    """Waveforms ``(batch, samples)`` at ``sample_rate`` -> log-probabilities ``(batch, frames, classes)``.

    Front end: log-Mel spectrogram normalised per utterance, masked by
    :class:`tutorial_utils.augment.SpecAugment` in training mode; then :class:`ConvCTC`.
    ``forward`` also returns the valid output frames of each utterance. ``config`` (a
    :class:`RecognizerConfig`, or its fields as keyword arguments, which override it) is kept, so a
    checkpoint can rebuild the model.
    """

    def __init__(self, classes: int, config: RecognizerConfig | None = None, **options) -> None:
        super().__init__()
        config = replace(config or RecognizerConfig(), **options)
        self.classes, self.config = classes, config
        self.spec_augment = SpecAugment(**config.augment) if config.augment is not None else nn.Identity()
        self.sample_rate = config.sample_rate
        self.hop_length = config.hop_length
        self.features = LogMelSpectrogram(
            sample_rate=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length, n_mels=config.n_mels
        )
        self.acoustic = ConvCTC(config.n_mels, classes, config.channels, config.kernels, config.repeats,
                                config.stride, config.dropout)

    def feature_frames(self, samples: torch.Tensor) -> torch.Tensor:
        """Spectrogram frames of ``samples``-long waveforms (centred frames: ``1 + samples // hop``)."""
        return 1 + torch.div(samples, self.hop_length, rounding_mode="floor")

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if lengths is None:
            lengths = torch.full((waveforms.shape[0],), waveforms.shape[-1], device=waveforms.device)
        frames = self.feature_frames(lengths)
        features = self.spec_augment(_masked_normalize(self.features(waveforms), frames))
        logits = self.acoustic(features)
        return logits.transpose(1, 2).log_softmax(-1), self.acoustic.output_frames(frames)
