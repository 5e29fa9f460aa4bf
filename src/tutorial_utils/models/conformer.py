"""The Conformer (Gulati et al. 2020): a Transformer layer with a convolution module inside, for CTC.

Attention sees the whole utterance; a depthwise convolution along time sees the few frames around
each one, which is where most of speech's structure is. A Conformer layer sandwiches both between
two half-weighted feed-forward networks, each part in a residual connection:

``x + ½ FFN(x)  ->  x + attention(LN(x))  ->  x + conv(x)  ->  x + ½ FFN(x)  ->  LayerNorm``

It follows :class:`torchaudio.models.Conformer` exactly (same parts, same parameter names, so a
state dict of one loads into the other), written out so that ``residual=False`` can remove every
``x +`` for the ablation of the rivals chapter. Like torchaudio's, it adds no positions: the
convolutions give the frames their order.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import FeedForward, MultiHeadSelfAttention

__all__ = ["ConvolutionModule", "ConformerLayer", "ConformerEncoder"]


class ConvolutionModule(nn.Module):
    """``LayerNorm -> pointwise conv to 2 dim -> GLU -> depthwise conv (kernel_size along time) ->
    BatchNorm -> SiLU -> pointwise conv -> dropout``: ``(batch, frames, dim) -> (batch, frames, dim)``."""

    def __init__(self, dim: int, kernel_size: int, dropout: float = 0.0) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the frames keep their places), got {kernel_size}.")
        self.layer_norm = nn.LayerNorm(dim)
        self.sequential = nn.Sequential(
            nn.Conv1d(dim, 2 * dim, 1),
            nn.GLU(dim=1),
            nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim),
            nn.BatchNorm1d(dim),
            nn.SiLU(),
            nn.Conv1d(dim, dim, 1),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequential(self.layer_norm(x).transpose(1, 2)).transpose(1, 2)


class ConformerLayer(nn.Module):
    """One Conformer layer, ``(batch, frames, dim)`` and a padding mask ``(batch, frames)`` -> ``(batch,
    frames, dim)``; ``residual=False``: the same parts without their ``x +``."""

    def __init__(self, dim: int, hidden: int, heads: int, kernel_size: int, dropout: float = 0.0,
                 residual: bool = True) -> None:
        super().__init__()
        self.residual = residual
        self.ffn1 = FeedForward(dim, hidden, dropout)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.self_attn = MultiHeadSelfAttention(dim, heads, dropout)
        self.self_attn_dropout = nn.Dropout(dropout)
        self.conv_module = ConvolutionModule(dim, kernel_size, dropout)
        self.ffn2 = FeedForward(dim, hidden, dropout)
        self.final_layer_norm = nn.LayerNorm(dim)

    def _add(self, x: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
        return x + change if self.residual else change

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self._add(x, 0.5 * self.ffn1(x))
        x = self._add(x, self.self_attn_dropout(self.self_attn(self.self_attn_layer_norm(x), padding_mask)))
        x = self._add(x, self.conv_module(x))
        x = self._add(x, 0.5 * self.ffn2(x))
        return self.final_layer_norm(x)


class ConformerEncoder(nn.Module):
    """``layers`` :class:`ConformerLayer` s: ``(batch, frames, dim)`` and a padding mask -> ``(batch, frames, dim)``."""

    def __init__(self, dim: int, layers: int, heads: int, hidden: int | None = None, kernel_size: int = 15,
                 dropout: float = 0.1, residual: bool = True) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            ConformerLayer(dim, hidden or 4 * dim, heads, kernel_size, dropout, residual) for _ in range(layers)
        )

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, padding_mask)
        return x
