"""A residual 1-D convolutional acoustic model for CTC, in the Jasper / QuartzNet family.

Speech is a sequence of log-Mel frames ``(batch, n_mels, frames)``: the Mel bands are the input
channels and the convolutions slide along time only. Each residual block repeats
``separable conv -> batch norm -> ReLU -> dropout``; a *separable* convolution is a depthwise
convolution (one filter per channel, along time) followed by a pointwise 1x1 convolution (mixing
channels), QuartzNet's trick for long kernels with few weights. The shortcut adds the block's input
(through a 1x1 convolution and batch norm, QuartzNet-style) before the last ReLU.

Its rivals, a bidirectional LSTM, a Transformer and a Conformer (:mod:`.recurrent`,
:mod:`.attention`, :mod:`.conformer`), take its place through :func:`acoustic_model`; the
config's ``encoder`` says which (:data:`ASR_MODELS`: each at about the conv model's size).

:class:`SpeechRecognizer` puts the front end (log-Mel spectrogram, per-utterance normalisation)
and the acoustic model together: waveforms in, per-frame log-probabilities over labels out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from ..augment import RandomVTLP, SpecAugment
from ..features import LogMelSpectrogram, unit_rms
from .attention import TransformerEncoder
from .conformer import ConformerEncoder
from .recurrent import BLSTMEncoder
from .sequence import SequenceCTC, padding_mask

__all__ = [
    "SeparableConv1d",
    "ResidualBlock1d",
    "ConvCTC",
    "ENCODERS",
    "acoustic_model",
    "SpeechRecognizer",
    "RecognizerConfig",
    "DIGIT_MODEL",
    "ASR_MODELS",
    "NORMALIZATIONS",
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
    the last ReLU and dropout after the addition; ``residual=False``: ``relu(F(x))``, no shortcut.
    Shape ``(batch, in, frames) -> (batch, out, frames)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, repeats: int, dropout: float,
                 residual: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(repeats):
            conv = SeparableConv1d(in_channels if i == 0 else out_channels, out_channels, kernel_size)
            layers += [conv, nn.BatchNorm1d(out_channels)]
            if i < repeats - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
        self.branch = nn.Sequential(*layers)
        self.shortcut = (nn.Sequential(nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.BatchNorm1d(out_channels))
                         if residual else None)
        self.activation = nn.Sequential(nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        return self.activation(out + self.shortcut(x) if self.shortcut is not None else out)


class ConvCTC(nn.Module):
    """Prologue (strided separable conv), residual blocks, epilogue, 1x1 classifier.

    ``(batch, n_mels, frames) -> (batch, classes, ceil(frames / stride))`` logits. ``kernels``: one
    kernel size per block; all blocks have ``channels`` channels; ``residual=False``: blocks without
    shortcuts.
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
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.prologue = nn.Sequential(SeparableConv1d(n_mels, channels, 11, stride), nn.BatchNorm1d(channels), nn.ReLU())
        self.blocks = nn.Sequential(*(ResidualBlock1d(channels, channels, k, repeats, dropout, residual) for k in kernels))
        self.epilogue = nn.Sequential(
            SeparableConv1d(channels, 2 * channels, 29), nn.BatchNorm1d(2 * channels), nn.ReLU(), nn.Dropout(dropout)
        )
        self.classifier = nn.Conv1d(2 * channels, classes, 1)

    def output_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames out for ``frames`` in: the strided prologue keeps ``ceil(frames / stride)``."""
        return torch.div(frames + self.stride - 1, self.stride, rounding_mode="floor")

    def forward(self, features: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """``frames`` (each utterance's valid frames) is not needed: convolutions see padding as
        silence. It is accepted so that every acoustic model is called alike."""
        return self.classifier(self.epilogue(self.blocks(self.prologue(features))))


def _masked_normalize(features: torch.Tensor, frames: torch.Tensor, per_band: bool = True, eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance mean and variance normalisation over each utterance's own frames only: of each
    Mel band (``per_band``, CMVN) or of the whole spectrogram at once (one mean and one variance,
    keeping the spectral shape).

    ``features``: ``(batch, n_mels, frames)``; padded frames are set to zero.
    """
    mask = ~padding_mask(frames, features.shape[-1]).unsqueeze(1)
    dims = -1 if per_band else (-2, -1)
    count = (frames.clamp(min=1) * (1 if per_band else features.shape[-2])).view(-1, 1, 1).to(features.dtype)
    mean = (features * mask).sum(dims, keepdim=True) / count
    var = (((features - mean) * mask) ** 2).sum(dims, keepdim=True) / count
    return (features - mean) / (var + eps).sqrt() * mask


@dataclass(frozen=True)
class RecognizerConfig:
    """What builds a :class:`SpeechRecognizer`: the front end (log-Mel at ``sample_rate`` from
    ``n_fft``-point frames every ``hop_length`` samples, ``n_mels`` bands), SpecAugment's keyword
    arguments in training (``augment``; ``None``: none) and the acoustic model: ``encoder`` names it
    (:data:`ENCODERS`). ``"conv"``, :class:`ConvCTC`: ``channels``, one block per entry of
    ``kernels``, ``repeats`` convolutions per block, ``stride``, ``dropout``. The others are
    :class:`~tutorial_utils.models.sequence.SequenceCTC` around an encoder of ``layers`` layers
    of width ``channels`` (``heads`` attention heads for ``"transformer"`` and ``"conformer"``).
    ``residual=False`` removes the skip connections (of the conv blocks, Transformer and Conformer
    layers; an LSTM has none). ``normalize``, per utterance: ``"band"`` normalises each Mel band
    over the frames (CMVN); ``"utterance"`` scales the waveform to unit RMS and normalises the whole
    log-Mel spectrogram with one mean and one variance (the keyword spotters' default, see
    :class:`tutorial_utils.front_end.FrontEndConfig`). ``vtlp``: in training, vocal tract length
    perturbation by a warp uniform in this range per utterance (:class:`tutorial_utils.augment.RandomVTLP`;
    (1, 1): none)."""

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
    encoder: str = "conv"
    layers: int = 4
    heads: int = 4
    residual: bool = True
    normalize: str = "band"
    vtlp: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self):
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, not {self.normalize!r}")

    @classmethod
    def from_dict(cls, values: dict) -> RecognizerConfig:
        """The config saved as a dict (lists back to tuples)."""
        return cls(**{**values, "kernels": tuple(values["kernels"]), "vtlp": tuple(values.get("vtlp", (1.0, 1.0)))})


#: The per-utterance normalisations a :class:`RecognizerConfig` can name.
NORMALIZATIONS = ("band", "utterance")

#: The acoustic models a :class:`RecognizerConfig` can name, a residual 1-D conv and its rivals.
ENCODERS = ("conv", "blstm", "transformer", "conformer")


def acoustic_model(n_mels: int, classes: int, config: RecognizerConfig) -> nn.Module:
    """The acoustic model ``config.encoder`` names: ``(batch, n_mels, frames)`` and each utterance's
    frames -> logits ``(batch, classes, ceil(frames / 2))``, with ``output_frames`` and ``stride``."""
    c = config
    if c.encoder == "conv":
        return ConvCTC(n_mels, classes, c.channels, c.kernels, c.repeats, c.stride, c.dropout, c.residual)
    if c.stride != SequenceCTC.stride:
        raise ValueError(f"the {c.encoder} encoder subsamples by {SequenceCTC.stride}, not {c.stride}.")
    if c.encoder == "blstm":
        if not c.residual:
            raise ValueError("an LSTM has no skip connections to remove (residual=False is for conv, transformer, conformer).")
        encoder: nn.Module = BLSTMEncoder(c.channels, c.layers, c.dropout)
    elif c.encoder == "transformer":
        encoder = TransformerEncoder(c.channels, c.layers, c.heads, dropout=c.dropout, residual=c.residual)
    elif c.encoder == "conformer":
        encoder = ConformerEncoder(c.channels, c.layers, c.heads, dropout=c.dropout, residual=c.residual)
    else:
        raise ValueError(f"unknown encoder {c.encoder!r}; one of {', '.join(ENCODERS)}.")
    return SequenceCTC(n_mels, classes, c.channels, encoder)


#: The recogniser trained on connected digits: 40 log-Mel bands at 8 kHz, 5 residual blocks.
DIGIT_MODEL = RecognizerConfig(augment=dict(freq_masks=2, freq_mask_param=7, time_masks=2, time_mask_param=10))

#: The digit recogniser and its rivals, each within 10 % of its parameters, with the same front end
#: and SpecAugment (``python -m tutorial_utils.train --task asr --model NAME``).
ASR_MODELS = {
    "conv": DIGIT_MODEL,
    "blstm": replace(DIGIT_MODEL, encoder="blstm", channels=128, layers=3),
    "transformer": replace(DIGIT_MODEL, encoder="transformer", channels=96, layers=3, heads=4),
    "conformer": replace(DIGIT_MODEL, encoder="conformer", channels=80, layers=2, heads=4),
}


class SpeechRecognizer(nn.Module):
    """Waveforms ``(batch, samples)`` at ``sample_rate`` -> log-probabilities ``(batch, frames, classes)``.

    Front end: log-Mel spectrogram (its Mel filterbank warped by VTLP in training, if the config
    asks), normalised per utterance, masked by
    :class:`tutorial_utils.augment.SpecAugment` in training mode; then the acoustic model
    (:func:`acoustic_model`: :class:`ConvCTC` unless the config names another encoder).
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
        self.vtlp = (RandomVTLP(config.vtlp, config.sample_rate, config.n_fft, config.n_mels)
                     if config.vtlp != (1.0, 1.0) else None)
        self.acoustic = acoustic_model(config.n_mels, classes, config)

    def feature_frames(self, samples: torch.Tensor) -> torch.Tensor:
        """Spectrogram frames of ``samples``-long waveforms (centred frames: ``1 + samples // hop``)."""
        return 1 + torch.div(samples, self.hop_length, rounding_mode="floor")

    def encode(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The acoustic model's raw outputs ``(batch, classes, out_frames)`` and each utterance's
        valid output frames ``(batch,)``; ``lengths``: each waveform's samples (default: all)."""
        if lengths is None:
            lengths = torch.full((waveforms.shape[0],), waveforms.shape[-1], device=waveforms.device)
        frames = self.feature_frames(lengths)
        per_band = self.config.normalize == "band"
        if not per_band:
            waveforms = unit_rms(waveforms, lengths)
        fbank = self.vtlp(waveforms.shape[0], waveforms.device) if self.vtlp is not None else None
        log_mel = self.features(waveforms, fbank)
        features = self.spec_augment(_masked_normalize(log_mel, frames, per_band))
        return self.acoustic(features, frames), self.acoustic.output_frames(frames)

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        logits, frames = self.encode(waveforms, lengths)
        return logits.transpose(1, 2).log_softmax(-1), frames
