"""Evaluating a classifier: accuracy with a confidence interval, the confusion matrix, per-class
precision and recall, and accuracy per group of examples (per speaker, per recording condition).

Predictions and labels are class indices ``(examples,)`` (tensors or sequences of ints). Intervals
are Wilson score intervals (Wilson 1927), which keep their coverage near 0 % and 100 % where the
textbook normal interval fails; :func:`bootstrap_interval` is a distribution-free alternative.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import torch


def _z(confidence: float) -> float:
    """The two-sided standard-normal quantile, e.g. 1.96 for ``confidence=0.95``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for a proportion of ``successes`` in ``trials``.

    It is the set of proportions ``p`` whose normal test ``|k/n - p| <= z sqrt(p (1 - p) / n)``
    does not reject; ``trials == 0`` gives ``(0.0, 1.0)``: no data, no knowledge.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    z = _z(confidence)
    if trials == 0:
        return 0.0, 1.0
    p, n = successes / trials, trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half_width = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else centre - half_width  # exact at the edges, where rounding would miss 0 or 1
    high = 1.0 if successes == trials else centre + half_width
    return low, high


def bootstrap_interval(
    correct: torch.Tensor, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of the mean of ``correct`` ``(examples,)`` (0/1):
    resample the examples with replacement ``resamples`` times and take the middle ``confidence``
    of the resampled accuracies."""
    correct = torch.as_tensor(correct, dtype=torch.float64).flatten()
    _z(confidence)  # validates confidence
    if len(correct) == 0:
        return 0.0, 1.0
    generator = torch.Generator().manual_seed(seed)
    chunk = max(1, 10_000_000 // len(correct))  # resamples per step, to bound memory on large test sets
    means = torch.cat([
        correct[torch.randint(len(correct), (min(chunk, resamples - start), len(correct)), generator=generator)].mean(dim=1)
        for start in range(0, resamples, chunk)
    ])
    tail = (1 - confidence) / 2
    low, high = torch.quantile(means, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    return low.item(), high.item()


@dataclass(frozen=True)
class Accuracy:
    """``correct`` of ``total`` examples and the Wilson interval ``(low, high)`` at ``confidence``."""

    correct: int
    total: int
    low: float
    high: float
    confidence: float = 0.95

    @property
    def value(self) -> float:
        """The fraction correct (NaN for no examples)."""
        return self.correct / self.total if self.total else math.nan

    def __str__(self) -> str:
        return (f"{self.value:6.1%} [{self.low:6.1%}, {self.high:6.1%}] "
                f"({self.correct}/{self.total}, {self.confidence:.0%} Wilson)")


def _as_indices(values: torch.Tensor | Sequence[int], name: str) -> torch.Tensor:
    tensor = torch.as_tensor(values).detach().cpu()
    if tensor.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    if tensor.ndim != 1:
        raise ValueError(f"{name} must have shape (examples,), got {tuple(tensor.shape)}; take argmax of logits first")
    if tensor.is_floating_point():
        raise TypeError(f"{name} must hold class indices (integers), got {tensor.dtype}; take argmax of logits first")
    return tensor.long()


def _pair(predictions: torch.Tensor | Sequence[int], labels: torch.Tensor | Sequence[int]):
    predictions, labels = _as_indices(predictions, "predictions"), _as_indices(labels, "labels")
    if predictions.shape != labels.shape:
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    return predictions, labels


def accuracy(
    predictions: torch.Tensor | Sequence[int], labels: torch.Tensor | Sequence[int], confidence: float = 0.95
) -> Accuracy:
    """The accuracy of ``predictions`` against ``labels`` (both ``(examples,)``) with its Wilson interval."""
    predictions, labels = _pair(predictions, labels)
    correct, total = int((predictions == labels).sum()), len(labels)
    return Accuracy(correct, total, *wilson_interval(correct, total, confidence), confidence=confidence)


def accuracy_by_group(
    predictions: torch.Tensor | Sequence[int],
    labels: torch.Tensor | Sequence[int],
    groups: Sequence[Hashable],
    confidence: float = 0.95,
) -> dict[Hashable, Accuracy]:
    """:func:`accuracy` separately for each group key (e.g. the speaker of each example), in sorted
    key order; ``groups`` holds one key per example."""
    predictions, labels = _pair(predictions, labels)
    if len(groups) != len(labels):
        raise ValueError(f"{len(groups)} group keys for {len(labels)} examples")
    members: dict[Hashable, list[int]] = {}
    for index, key in enumerate(groups):
        members.setdefault(key, []).append(index)
    return {key: accuracy(predictions[members[key]], labels[members[key]], confidence) for key in sorted(members)}


def confusion_matrix(
    labels: torch.Tensor | Sequence[int], predictions: torch.Tensor | Sequence[int], num_classes: int
) -> torch.Tensor:
    """Counts ``(num_classes, num_classes)``: entry ``[i, j]`` is how many examples of true class ``i``
    were predicted as ``j`` (rows: truth, columns: prediction, as in scikit-learn)."""
    predictions, labels = _pair(predictions, labels)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if len(values) and not (0 <= int(values.min()) and int(values.max()) < num_classes):
            raise ValueError(f"{name} must lie in 0..{num_classes - 1}")
    return torch.bincount(labels * num_classes + predictions, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_metrics(matrix: torch.Tensor) -> dict[str, torch.Tensor]:
    """From a confusion matrix (rows: truth), per class ``(classes,)``: ``support`` (true examples),
    ``recall`` (= the class's accuracy: correct / support), ``precision`` (correct / times predicted)
    and ``f1`` (their harmonic mean). A ratio with nothing to divide by is NaN, e.g. the precision of
    a class that is never predicted."""
    matrix = torch.as_tensor(matrix, dtype=torch.float64)
    correct = matrix.diagonal()
    support, predicted = matrix.sum(dim=1), matrix.sum(dim=0)
    recall = correct / support
    precision = correct / predicted
    f1 = 2 * correct / (support + predicted)
    return {"support": support.long(), "precision": precision, "recall": recall, "f1": f1}
