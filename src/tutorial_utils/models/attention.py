"""Self-attention over speech frames, and the Transformer encoder built from it (Vaswani et al.
2017), for CTC.

Attention lets each frame gather from every frame of the utterance, weighted by how well its
*query* matches their *keys*: ``softmax(Q Kᵀ / √d) V``. A Transformer layer is that (in several
*heads*), then a feed-forward network applied to each frame, each wrapped in a residual
connection, ``x + f(LayerNorm(x))`` (the *pre-norm* form); ``residual=False`` drops the ``x +``,
for the ablation of the rivals chapter. Attention knows nothing of order, so sinusoidal positions
are added to the frames first.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "scaled_dot_product_attention",
    "MultiHeadSelfAttention",
    "sinusoidal_positions",
    "FeedForward",
    "TransformerLayer",
    "TransformerEncoder",
]


def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, padding_mask: torch.Tensor | None = None,
    dropout: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(Q Kᵀ / √d) V`` and the weights.

    ``query`` ``(batch, heads, queries, d)``, ``key`` and ``value`` ``(batch, heads, keys, d)``;
    ``padding_mask`` ``(batch, keys)``, True where a key is padding (it gets weight 0). Returns
    ``(batch, heads, queries, d)`` and the weights ``(batch, heads, queries, keys)``, each row
    summing to 1. ``dropout``: that fraction of the weights is zeroed (the rest scaled up) before
    they average the values, in training (``torch.nn.functional.scaled_dot_product_attention``'s
    ``dropout_p``).
    """
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    if padding_mask is not None:
        scores = scores.masked_fill(padding_mask[:, None, None, :], float("-inf"))
    weights = scores.softmax(dim=-1)
    return F.dropout(weights, dropout) @ value if dropout else weights @ value, weights


class MultiHeadSelfAttention(nn.Module):
    """``heads`` attentions of ``dim / heads`` dimensions side by side, on one sequence.

    ``(batch, frames, dim) -> (batch, frames, dim)``. Its parameters have the names and shapes of
    :class:`torch.nn.MultiheadAttention`'s (``in_proj_weight`` stacks the query, key and value
    projections), so that the state dict of one loads into the other. The weights of the last call
    stay in ``last_weights`` ``(batch, heads, frames, frames)``, for plots.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads}).")
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        self.dropout = dropout
        self.last_weights: torch.Tensor | None = None
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        batch, frames, dim = x.shape
        heads = lambda t: t.reshape(batch, frames, self.heads, dim // self.heads).transpose(1, 2)  # noqa: E731
        query, key, value = map(heads, F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1))
        attended, weights = scaled_dot_product_attention(query, key, value, padding_mask,
                                                         self.dropout if self.training else 0.0)
        self.last_weights = weights.detach()
        return self.out_proj(attended.transpose(1, 2).reshape(batch, frames, dim))


def sinusoidal_positions(frames: int, dim: int) -> torch.Tensor:
    """``(frames, dim)``: ``sin(t / 10000^(2i/dim))`` in even columns, ``cos`` in odd ones."""
    position = torch.arange(frames, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(frames, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class FeedForward(nn.Module):
    """``LayerNorm -> Linear(dim, hidden) -> SiLU -> dropout -> Linear(hidden, dim) -> dropout``, on
    each frame alone: ``(..., dim) -> (..., dim)``. (The Conformer's; torchaudio names it alike.)"""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.sequential = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.SiLU(), nn.Dropout(dropout), nn.Linear(hidden, dim), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequential(x)


class TransformerLayer(nn.Module):
    """``x + attention(LayerNorm(x))``, then ``x + FeedForward(x)``; without ``residual``, the same
    without the ``x +``. ``(batch, frames, dim) -> (batch, frames, dim)``."""

    def __init__(self, dim: int, heads: int, hidden: int, dropout: float = 0.1, residual: bool = True) -> None:
        super().__init__()
        self.residual = residual
        self.attention_norm = nn.LayerNorm(dim)
        self.attention = MultiHeadSelfAttention(dim, heads, dropout)
        self.attention_dropout = nn.Dropout(dropout)
        self.feed_forward = FeedForward(dim, hidden, dropout)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        attended = self.attention_dropout(self.attention(self.attention_norm(x), padding_mask))
        x = x + attended if self.residual else attended
        return x + self.feed_forward(x) if self.residual else self.feed_forward(x)


class TransformerEncoder(nn.Module):
    """Sinusoidal positions, ``layers`` :class:`TransformerLayer` s, a final LayerNorm:
    ``(batch, frames, dim)`` and a padding mask ``(batch, frames)`` -> ``(batch, frames, dim)``."""

    def __init__(self, dim: int, layers: int, heads: int, hidden: int | None = None, dropout: float = 0.1,
                 residual: bool = True) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TransformerLayer(dim, heads, hidden or 4 * dim, dropout, residual) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + sinusoidal_positions(x.shape[1], x.shape[2]).to(x)
        for layer in self.layers:
            x = layer(x, padding_mask)
        return self.norm(x)
