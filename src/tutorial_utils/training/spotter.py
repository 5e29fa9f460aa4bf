"""Training a keyword spotter: splits (tensors in memory or datasets read from disk), the loaders,
AdamW with a one-cycle schedule and :func:`~tutorial_utils.training.loop.fit`, then the test set.

Used by ``python -m tutorial_utils.train`` and by the keyword-spotting chapters.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import ConcatDataset, Dataset, TensorDataset

from ..front_end import FrontEnd
from .loop import LossStep, classification_step, evaluate, fit, make_loader, one_cycle, seed_everything


#: A split: waveforms ``(n, samples)`` and labels ``(n,)`` held in memory (FSDD), or a dataset of
#: ``(waveform (samples,), label)`` pairs read from disk as needed (Speech Commands).
Split = tuple[torch.Tensor, torch.Tensor] | Dataset


def as_dataset(split: Split) -> Dataset:
    """A :data:`Split` as a dataset."""
    return split if isinstance(split, Dataset) else TensorDataset(*split)


def train_spotter(
    model: nn.Module,
    front_end: FrontEnd,
    splits: dict[str, Split],
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    label_smoothing: float = 0.1,
    mixup: float = 0.0,
    train_on_validation: bool = False,
    seed: int = 0,
    device: torch.device | str | None = None,
    workers: int = 0,
    loss_step: LossStep | None = None,
    **fit_options,
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Train ``model`` on ``splits["train"]`` (plus ``"validation"`` if ``train_on_validation``, else
    validate on it) with AdamW and a one-cycle schedule peaking at ``lr``, the ``front_end``
    computing features on the device; return the history and the test set's ``loss``, ``accuracy``
    and ``predictions`` (each test example's predicted class, in the split's order).
    ``mixup``: Beta parameter of mixup (0: none; see :func:`~tutorial_utils.training.loop.classification_step`).
    ``workers``: DataLoader processes (worth it for datasets read from disk, not for tensors).
    ``loss_step``: how a batch becomes a loss, instead of classification (e.g. distillation,
    :func:`tutorial_utils.compression.distill.distillation_step`).
    ``fit_options`` go to :func:`tutorial_utils.training.loop.fit`."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    train_set = as_dataset(splits["train"])
    if train_on_validation:
        train_set = ConcatDataset([train_set, as_dataset(splits["validation"])])

    def loader(dataset: Dataset, shuffle: bool):
        return make_loader(dataset, batch_size, shuffle=shuffle, device=device, workers=workers)

    seed_everything(seed)
    history = fit(
        model, loader(train_set, True), epochs=epochs, lr=lr, scheduler=one_cycle(lr),
        val_loader=None if train_on_validation else loader(as_dataset(splits["validation"]), False),
        features=front_end, device=device, seed=seed,
        loss_step=loss_step or classification_step(front_end, label_smoothing, mixup), **fit_options,
    )
    return history, evaluate(model, loader(as_dataset(splits["test"]), False), front_end, device, keep_predictions=True)
