"""A bidirectional LSTM encoder for CTC, Deep Speech's family (Hannun et al. 2014; Amodei et al. 2016).

An LSTM reads the frames one after another and carries a memory along; a bidirectional one reads
them forwards and backwards, so each frame's output knows the whole utterance. The gates of the
LSTM, not an ``x +``, are what let its gradient travel far in time.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["BLSTMEncoder"]


class BLSTMEncoder(nn.Module):
    """``layers`` bidirectional LSTM layers of ``dim / 2`` units each way: ``(batch, frames, dim)`` and a
    padding mask ``(batch, frames)`` -> ``(batch, frames, dim)``. Padding is packed away, so the
    backward direction starts at each utterance's own last frame."""

    def __init__(self, dim: int, layers: int, dropout: float = 0.1) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"dim must be even (half of it each way), got {dim}.")
        self.lstm = nn.LSTM(dim, dim // 2, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        if padding_mask is None:
            return self.lstm(x)[0]
        lengths = (~padding_mask).sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])[0]
