"""Listen, Attend and Spell (Chan et al. 2016): an attention encoder-decoder without CTC.

The *listener* turns the audio into vectors ``h_1 .. h_T``; here it is the book's residual 1-D
conv recogniser (:class:`~tutorial_utils.models.asr.SpeechRecognizer`) whose output layer gives
``dim`` numbers per frame instead of log-probabilities (the paper's listener is a pyramidal BLSTM).
The *speller* is an LSTM that emits one label at a time:

    s_u = LSTM(s_(u-1), [embed(y_(u-1)); c_(u-1)])
    alpha_u = softmax_t(query(s_u) . key(h_t) / sqrt(dim))      (padding frames masked)
    c_u = sum_t alpha_u,t h_t
    p(y_u | y_<u, x) = softmax(W [s_u; c_u] + b)

Label 0, the CTC blank of the book's vocabularies, is never a target, so it serves as the speller's
start and end symbol: the speller starts from 0 and says 0 when the utterance is over.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .asr import DIGIT_MODEL, RecognizerConfig, SpeechRecognizer
from .sequence import padding_mask

__all__ = ["AttentionSpeller", "ListenAttendSpell", "END"]

#: The start and end symbol: the vocabularies' label 0 (CTC's blank).
END = 0


class AttentionSpeller(nn.Module):
    """The speller over ``classes`` labels (``END`` included) reading listener outputs of width ``dim``."""

    def __init__(self, classes: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.embed = nn.Embedding(classes, dim)
        self.cell = nn.LSTMCell(2 * dim, dim)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.output = nn.Linear(2 * dim, classes)

    def step(self, previous: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], context: torch.Tensor,
             keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor):
        """One label: ``previous`` ``(batch,)``, the LSTM ``state`` and last ``context`` ``(batch, dim)``,
        ``keys``/``values`` ``(batch, T, dim)``, ``mask`` ``(batch, T)`` (True on padding) ->
        logits ``(batch, classes)``, new state, new context and the attention weights ``(batch, T)``."""
        h, c = self.cell(torch.cat([self.embed(previous), context], dim=-1), state)
        scores = (keys @ self.query(h).unsqueeze(-1)).squeeze(-1) / math.sqrt(self.dim)
        weights = scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
        context = (weights.unsqueeze(1) @ values).squeeze(1)
        return self.output(torch.cat([h, context], dim=-1)), (h, c), context, weights

    def start(self, values: torch.Tensor):
        """The first input, state and context for a batch of listener outputs ``(batch, T, dim)``."""
        zeros = values.new_zeros(values.shape[0], self.dim)
        return torch.full((values.shape[0],), END, device=values.device), (zeros, zeros), zeros

    def forward(self, values: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: the true previous label is fed at every step. ``targets`` ``(batch, U)``
        are the labels followed by ``END`` (padding after it is ignored by the caller). Returns
        logits ``(batch, U, classes)`` and attention ``(batch, U, T)``."""
        keys = self.key(values)
        previous, state, context = self.start(values)
        logits, attention = [], []
        for u in range(targets.shape[1]):
            out, state, context, weights = self.step(previous, state, context, keys, values, mask)
            logits.append(out)
            attention.append(weights)
            previous = targets[:, u]
        return torch.stack(logits, dim=1), torch.stack(attention, dim=1)

    @torch.no_grad()
    def greedy(self, values: torch.Tensor, mask: torch.Tensor, max_labels: int) -> tuple[list[list[int]], torch.Tensor]:
        """The most likely label at each step until ``END`` (at most ``max_labels``): the labels of
        each utterance and the attention ``(batch, steps, T)``."""
        keys = self.key(values)
        previous, state, context = self.start(values)
        labels, attention = [], []
        for _ in range(max_labels):
            out, state, context, weights = self.step(previous, state, context, keys, values, mask)
            previous = out.argmax(dim=-1)
            labels.append(previous)
            attention.append(weights)
            if (torch.stack(labels, dim=1) == END).any(dim=1).all():
                break
        spelled = []
        for row in torch.stack(labels, dim=1).tolist():
            spelled.append(row[: row.index(END)] if END in row else row)
        return spelled, torch.stack(attention, dim=1)


class ListenAttendSpell(nn.Module):
    """Waveforms ``(batch, samples)`` and their ``lengths`` -> the listener's outputs, and the speller
    on top. ``config``: the listener (default: the digit recogniser's front end and residual conv)."""

    def __init__(self, classes: int, config: RecognizerConfig = DIGIT_MODEL) -> None:
        super().__init__()
        self.listener = SpeechRecognizer(config.channels, config)
        self.speller = AttentionSpeller(classes, config.channels)

    def listen(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Listener outputs ``(batch, T, dim)`` and the padding mask ``(batch, T)``."""
        encoded, frames = self.listener.encode(waveforms, lengths)
        return encoded.transpose(1, 2), padding_mask(frames, encoded.shape[-1])

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits ``(batch, U, classes)`` and attention ``(batch, U, T)``."""
        return self.speller(*self.listen(waveforms, lengths), targets)

    @torch.no_grad()
    def transcribe(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None,
                   max_labels: int | None = None) -> tuple[list[list[int]], torch.Tensor]:
        """Greedy decoding: each utterance's labels and the attention ``(batch, steps, T)``. At most
        ``max_labels`` steps (default: one per listener frame of the longest utterance, CTC's limit)."""
        values, mask = self.listen(waveforms, lengths)
        return self.speller.greedy(values, mask, max_labels or values.shape[1])
