"""Few-shot recognition with prototypes (Snell et al. 2017): a word the network never trained on is
*enrolled* with a few recordings, the mean of their embeddings is its prototype, and a new
recording gets the word of the nearest prototype. This is how a custom wake word is added to a
trained spotter without training it again.

Before the distances are measured, SimpleShot (Wang et al. 2019) centres every embedding on the
mean embedding of the classes the network trained on and scales it to unit length (CL2N), so that
the distance measures the *direction* in which a clip differs from an average clip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from torch import nn

from ..data.fsdd import FsddRecording, load_fsdd_tensors

__all__ = ["Sessions", "centre_and_normalise", "class_prototypes", "embed_recordings", "enrolment_accuracy",
           "enrolment_sessions", "nearest_prototype"]

#: One enrolment test: (enrolment pool, test clips) pairs, each pair enrolled on its own (one user's
#: phone), the test clips of all pairs scored together.
Sessions = list[tuple[list[FsddRecording], list[FsddRecording]]]


def embed_recordings(model: nn.Module, front_end: nn.Module, recordings: Sequence[FsddRecording],
                     batch_size: int = 250) -> dict[Path, torch.Tensor]:
    """Each recording's embedding ``(dim,)`` (``model.embed`` of ``front_end``'s features, on the
    model's device, in eval mode), keyed by its path; ``batch_size`` clips at a time, to spare memory."""
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        embeddings = [model.embed(front_end(load_fsdd_tensors(recordings[i:i + batch_size])[0].to(device))).cpu()
                      for i in range(0, len(recordings), batch_size)]
    return dict(zip((r.path for r in recordings), torch.cat(embeddings)))


def class_prototypes(embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The classes present in ``labels`` ``(n,)`` (sorted) and their prototypes ``(classes, dim)``,
    each the mean of its embeddings ``(n, dim)``."""
    classes = labels.unique()
    return classes, torch.stack([embeddings[labels == c].mean(dim=0) for c in classes])


def nearest_prototype(queries: torch.Tensor, classes: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """The class of the prototype nearest (Euclidean) to each query ``(n, dim)``: ``(n,)``."""
    return classes[torch.cdist(queries, prototypes).argmin(dim=1)]


def centre_and_normalise(embeddings: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """SimpleShot's CL2N: ``embeddings`` ``(n, dim)`` minus ``centre`` ``(dim,)`` (the mean embedding of
    the training classes' clips), each row scaled to unit length: ``(n, dim)``."""
    return F.normalize(embeddings - centre, dim=-1)


def enrolment_sessions(split: Mapping[str, Sequence[FsddRecording]], new_digits: Sequence[int]) -> dict[str, Sessions]:
    """The three enrolment tests of a split whose ``test`` speakers the network never heard (each
    test scores every digit's clips; enrolment uses the new digits' clips only):

    * ``pooled``: the training speakers' training takes, pooled, enrol; their validation takes are tested;
    * ``own``: each training speaker enrols from their own training takes, tested on their own validation takes;
    * ``held_out``: each test speaker enrols from their takes 25-49, tested on their takes 0-24."""
    def new(pool):
        return [r for r in pool if r.digit in new_digits]

    def by_speaker(pool):
        return {s: [r for r in pool if r.speaker == s] for s in sorted({r.speaker for r in pool})}

    train, validation, test = by_speaker(split["train"]), by_speaker(split["validation"]), by_speaker(split["test"])
    return {
        "pooled": [(new(split["train"]), list(split["validation"]))],
        "own": [(new(train.get(s, [])), clips) for s, clips in validation.items()],
        "held_out": [(new(r for r in clips if r.take >= 25), [r for r in clips if r.take < 25]) for clips in test.values()],
    }


def enrolment_accuracy(
    embedding_of: Mapping[Path, torch.Tensor], support: torch.Tensor, support_labels: torch.Tensor, sessions: Sessions,
    new_digits: Sequence[int], shots: int, draws: int, seed: int = 0, centre: torch.Tensor | None = None,
) -> tuple[list[float], list[float]]:
    """Accuracy on the new digits' test clips and on the known digits', one value per draw: two lists.

    Each draw enrols ``shots`` recordings of each new digit, drawn at random from each session's
    pool, adds their prototypes to the known classes' (from ``support`` ``(n, dim)`` and its
    ``support_labels`` ``(n,)``) and classifies the session's test clips that were not enrolled, by
    the nearest prototype. ``embedding_of`` maps each recording's path to its embedding ``(dim,)``.
    ``centre``: transform every embedding with :func:`centre_and_normalise` first (SimpleShot)."""
    def embed(recordings):
        embeddings = torch.stack([embedding_of[r.path] for r in recordings])
        return embeddings if centre is None else centre_and_normalise(embeddings, centre)

    known = support if centre is None else centre_and_normalise(support, centre)
    generator = np.random.default_rng(seed)
    new_accuracy, known_accuracy = [], []
    for _ in range(draws):
        predicted, truth = [], []
        for enrol_pool, test_pool in sessions:
            enrolled = []
            for digit in new_digits:
                candidates = [r for r in enrol_pool if r.digit == digit]
                if len(candidates) < shots:
                    raise ValueError(f"{shots} enrolment recordings of digit {digit} asked for, {len(candidates)} available")
                enrolled += [candidates[i] for i in generator.choice(len(candidates), shots, replace=False)]
            tested = [r for r in test_pool if r not in enrolled]
            labels = torch.cat([support_labels, torch.tensor([r.digit for r in enrolled])])
            predicted.append(nearest_prototype(embed(tested), *class_prototypes(torch.cat([known, embed(enrolled)]), labels)))
            truth.append(torch.tensor([r.digit for r in tested]))
        predicted, truth = torch.cat(predicted), torch.cat(truth)
        new = torch.isin(truth, torch.tensor(list(new_digits)))
        new_accuracy.append((predicted[new] == truth[new]).float().mean().item())
        known_accuracy.append((predicted[~new] == truth[~new]).float().mean().item())
    return new_accuracy, known_accuracy
