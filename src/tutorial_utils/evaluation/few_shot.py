"""Few-shot recognition with prototypes (Snell et al. 2017): a word the network never trained on is
*enrolled* with a few recordings, the mean of their embeddings is its prototype, and a new
recording gets the word of the nearest prototype. This is how a custom wake word is added to a
trained spotter without training it again.
"""

from __future__ import annotations

import torch

__all__ = ["class_prototypes", "nearest_prototype"]


def class_prototypes(embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The classes present in ``labels`` ``(n,)`` (sorted) and their prototypes ``(classes, dim)``,
    each the mean of its embeddings ``(n, dim)``."""
    classes = labels.unique()
    return classes, torch.stack([embeddings[labels == c].mean(dim=0) for c in classes])


def nearest_prototype(queries: torch.Tensor, classes: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """The class of the prototype nearest (Euclidean) to each query ``(n, dim)``: ``(n,)``."""
    return classes[torch.cdist(queries, prototypes).argmin(dim=1)]
