"""Knowledge distillation (Hinton, Vinyals and Dean 2015): a small student learns from a trained
teacher's softened probabilities as well as from the labels.

With temperature ``T``, ``p_T = softmax(z / T)``. The loss is
``alpha * T**2 * KL(p_T(teacher) || p_T(student)) + (1 - alpha) * cross_entropy(student, labels)``;
the ``T**2`` keeps the soft term's gradients the same size as ``T`` changes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F
from torch import nn

from ..training.loop import LossStep


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float = 4.0, alpha: float = 0.9, label_smoothing: float = 0.0) -> torch.Tensor:
    """The distillation loss of a batch: logits ``(batch, classes)``, labels ``(batch,)``."""
    if temperature <= 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"temperature must be positive and alpha in [0, 1], got {temperature} and {alpha}")
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=-1), F.log_softmax(teacher_logits / temperature, dim=-1),
                    reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits, labels, label_smoothing=label_smoothing)
    return alpha * temperature**2 * soft + (1 - alpha) * hard


def distillation_step(teacher: nn.Module, features: nn.Module, temperature: float = 4.0, alpha: float = 0.9,
                      label_smoothing: float = 0.0) -> LossStep:
    """A :data:`~tutorial_utils.training.loop.LossStep` for ``fit``: the batch's features go to the
    student being trained and to the frozen ``teacher`` (in eval mode, no gradients)."""
    teacher.eval().requires_grad_(False)

    def step(student: nn.Module, batch, device: torch.device, autocast: Callable[[], AbstractContextManager]):
        inputs, labels = batch
        x = features(inputs.to(device, non_blocking=True))
        y = labels.to(device, non_blocking=True)
        with torch.no_grad():
            teacher_logits = teacher(x).float()
        with autocast():
            logits = student(x)
        loss = distillation_loss(logits.float(), teacher_logits, y, temperature, alpha, label_smoothing)
        return loss, len(y), (logits.argmax(1) == y).sum()

    return step
