"""What the sequence encoders of the rival CTC models share: a strided convolution that halves the
frame rate, padding masks, and the CTC head around an encoder.

Every CTC acoustic model of the book maps log-Mel features ``(batch, n_mels, frames)`` to logits
``(batch, classes, ceil(frames / 2))``, so that one training loop, one decoder and one WER compare
them. :class:`SequenceCTC` gives an encoder of ``(batch, frames, dim)`` sequences that interface:
subsample, encode, classify each frame.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Subsampling", "padding_mask", "SequenceCTC"]


class Subsampling(nn.Module):
    """A kernel-3 convolution with stride 2 and a ReLU: ``(batch, n_mels, frames) -> (batch,
    ceil(frames / 2), dim)``, half the frames (20 ms apart), each a ``dim``-vector."""

    stride = 2

    def __init__(self, n_mels: int, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(n_mels, dim, kernel_size=3, stride=self.stride, padding=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(features)).transpose(1, 2)


def padding_mask(frames: torch.Tensor, max_frames: int) -> torch.Tensor:
    """``(batch, max_frames)`` booleans, True on the padding after each sequence's ``frames``."""
    return torch.arange(max_frames, device=frames.device) >= frames.unsqueeze(1)


class SequenceCTC(nn.Module):
    """:class:`Subsampling`, then ``encoder`` (``(batch, frames, dim)`` and a padding mask in,
    the same shape out), then a linear classifier per frame.

    ``(batch, n_mels, frames) -> (batch, classes, ceil(frames / 2))`` logits, as
    :class:`~tutorial_utils.models.asr.ConvCTC`; ``frames`` (each utterance's valid input frames)
    keeps the encoder from looking at padding.
    """

    stride = Subsampling.stride

    def __init__(self, n_mels: int, classes: int, dim: int, encoder: nn.Module) -> None:
        super().__init__()
        self.subsample = Subsampling(n_mels, dim)
        self.encoder = encoder
        self.classifier = nn.Linear(dim, classes)

    def output_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames out for ``frames`` in: ``ceil(frames / 2)``."""
        return torch.div(frames + self.stride - 1, self.stride, rounding_mode="floor")

    def forward(self, features: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        x = self.subsample(features)
        if frames is None:
            frames = torch.full((features.shape[0],), features.shape[-1], device=features.device)
        x = self.encoder(x, padding_mask(self.output_frames(frames), x.shape[1]))
        return self.classifier(x).transpose(1, 2)
