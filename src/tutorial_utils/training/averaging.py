"""Stochastic weight averaging (Izmailov et al. 2018): train the last epochs at a constant learning
rate, average the weights the model passes through, and use the average.

Gradient descent at a constant learning rate bounces around a wide minimum without settling; the
mean of the points it visits lies nearer the minimum's centre, where a small change of the input
(a new voice) changes the loss least. The average is an ensemble in weight space: one model, at
no extra cost per prediction. BatchNorm's running statistics belong to no single point, so they are
measured again for the averaged weights with one pass over the training data
(:func:`recompute_batch_norm`).

:func:`tutorial_utils.training.loop.fit` uses it through ``average_last``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


class WeightAverage:
    """The running mean of a model's floating-point parameters and buffers, one snapshot at a time:
    after ``n`` snapshots ``mean = mean + (weights - mean) / n``."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def add(self, model: nn.Module) -> None:
        """Add the model's current weights to the average."""
        self.count += 1
        for name, value in model.state_dict().items():
            if not value.is_floating_point():
                continue
            if name not in self.mean:
                self.mean[name] = value.detach().clone()
            else:
                self.mean[name] += (value - self.mean[name]) / self.count

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged weights into ``model`` (its integer buffers, such as BatchNorm's counters, stay)."""
        if not self.count:
            raise ValueError("no weights have been averaged yet")
        state = model.state_dict()
        state.update(self.mean)
        model.load_state_dict(state)

    def state_dict(self) -> dict:
        return {"count": self.count, "mean": self.mean}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.mean = state["count"], dict(state["mean"])


@torch.no_grad()
def recompute_batch_norm(model: nn.Module, batches: Iterable, forward: Callable[[object], object]) -> None:
    """Measure every BatchNorm layer's running mean and variance again, as plain averages over
    ``batches`` (``forward(batch)`` runs the model on one, in training mode). Models without
    BatchNorm are left as they are."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # None: a cumulative average over all batches, not an exponential one
    was_training = model.training
    model.train()
    for batch in batches:
        forward(batch)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    model.train(was_training)
