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
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval().to(device)
    front_ends = [AtSpeed(front_end, rate).eval().to(device) for rate in rates]
    probabilities, labels = [], []
    with torch.no_grad():
        for waveforms, batch_labels in loader:
            waveforms = waveforms.to(device)
            mean = sum(model(at_speed(waveforms)).float().softmax(1) for at_speed in front_ends) / len(rates)
            probabilities.append(mean.cpu())
            labels.append(batch_labels)
    return torch.cat(probabilities), torch.cat(labels)
