"""Test-time augmentation by speed: classify each clip played at several speeds and average the
class probabilities. Playing a clip faster raises its pitch and formants, as a shorter vocal tract
does, so the average asks the model about the clip as if spoken by several voices near the real one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..augment import change_speed
from ..training.loop import predict


class AtSpeed(nn.Module):
    """``front_end`` applied to waveforms ``(batch, samples)`` played ``rate`` times as fast
    (:func:`~tutorial_utils.augment.change_speed`)."""

    def __init__(self, front_end: nn.Module, rate: float):
        super().__init__()
        self.front_end, self.rate = front_end, rate

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        return self.front_end(change_speed(waveforms, waveforms.new_full((waveforms.shape[0],), self.rate)))


def speed_tta_probabilities(
    model: nn.Module, loader: DataLoader, front_end: nn.Module, rates: Sequence[float],
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities ``(examples, classes)`` averaged over the clip played at each of ``rates``
    (1.0: as recorded), and the labels ``(examples,)``, in loader order."""
    if not rates:
        raise ValueError("speed_tta_probabilities needs at least one rate, e.g. (0.9, 1.0, 1.1)")
    total = labels = None
    for rate in rates:
        logits, labels = predict(model, loader, AtSpeed(front_end, rate), device, amp=False)
        total = logits.softmax(1) if total is None else total + logits.softmax(1)
    return total / len(rates), labels
