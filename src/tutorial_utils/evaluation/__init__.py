"""Evaluation: how well a model does, with honest uncertainty, and what is inside it.

* :mod:`.classification` -- accuracy with Wilson and bootstrap intervals, per group, confusion
  matrices, precision/recall per class (re-exported here: ``evaluation.wilson_interval``, ...)
* :mod:`.streaming` -- keywords in a long recording: sliding windows, posteriors, detections
* :mod:`.activations` -- per-layer statistics of activations and gradients (:func:`layer_statistics`)
* :mod:`.inference` -- one recording through a trained spotter or recogniser
* :mod:`.few_shot` -- new words from a few recordings, by the nearest class prototype
* :mod:`.tta` -- test-time augmentation: class probabilities averaged over playback speeds
"""

from . import streaming
from .activations import LayerStatistics, layer_statistics, layers_of_type
from .classification import (
    Accuracy,
    accuracy,
    accuracy_by_group,
    bootstrap_interval,
    confusion_matrix,
    per_class_metrics,
    wilson_interval,
)

__all__ = [
    "Accuracy",
    "LayerStatistics",
    "accuracy",
    "accuracy_by_group",
    "bootstrap_interval",
    "confusion_matrix",
    "layer_statistics",
    "layers_of_type",
    "per_class_metrics",
    "streaming",
    "wilson_interval",
]
