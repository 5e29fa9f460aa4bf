"""Softmax and cross-entropy from their formulas, made numerically stable with the log-sum-exp trick.

For logits ``z`` of ``K`` classes::

    logsumexp(z)   = m + log(sum_k exp(z_k - m)),   m = max_k z_k   (no exp ever exceeds 1)
    log_softmax(z) = z - logsumexp(z)
    cross-entropy  = -log_softmax(z)[y]                              for the true class y

With label smoothing ``eps`` the target is ``(1 - eps)`` on ``y`` plus ``eps / K`` on every class
(Szegedy et al. 2016), as ``torch.nn.functional.cross_entropy(..., label_smoothing=eps)``.
"""

from __future__ import annotations

import torch

__all__ = ["logsumexp", "log_softmax", "softmax", "cross_entropy"]


def logsumexp(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log(sum(exp(logits)))`` along ``dim`` without overflow (the dimension is removed)."""
    shift = logits.amax(dim=dim, keepdim=True).detach()
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    return (shift + torch.log(torch.exp(logits - shift).sum(dim=dim, keepdim=True))).squeeze(dim)


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``logits - logsumexp(logits)`` along ``dim``: log-probabilities, same shape as ``logits``."""
    return logits - logsumexp(logits, dim).unsqueeze(dim)


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``exp(z_k) / sum_j exp(z_j)`` along ``dim``, computed as ``exp(log_softmax(z))``."""
    return torch.exp(log_softmax(logits, dim))


def cross_entropy(
    logits: torch.Tensor,
    targets: torch.Tensor,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy between ``logits`` ``(batch, classes)`` and class indices ``targets`` ``(batch,)``.

    ``label_smoothing`` in ``[0, 1]`` mixes the one-hot target with the uniform distribution.
    ``reduction``: ``"mean"`` (a scalar), ``"sum"`` or ``"none"`` (the ``(batch,)`` losses).
    """
    if logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(
            f"expected logits (batch, classes) and targets (batch,), got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing={label_smoothing} must lie in [0, 1]")
    log_probs = log_softmax(logits, dim=1)
    nll = -log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    losses = (1 - label_smoothing) * nll - label_smoothing * log_probs.mean(dim=1)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction={reduction!r}; use 'mean', 'sum' or 'none'")
