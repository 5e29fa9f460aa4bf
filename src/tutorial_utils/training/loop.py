"""The book's one training loop, :func:`fit`: features on the device, mixed precision,
learning-rate schedules, gradient clipping, early stopping and checkpoint/resume. What a batch is
and how it becomes a loss is pluggable (a :data:`LossStep`); the default classifies.

For classifiers, loaders yield ``(inputs, labels)``. ``inputs`` are either waveforms ``(batch, samples)`` --
then ``features`` (an ``nn.Module``) turns them into model inputs *on the device* -- or
ready-made features such as ``(batch, n_mels, frames)`` with ``features=None``.
``features`` follows the model's train/eval mode, so augmentation modules inside it (see
:mod:`tutorial_utils.augment`) act during training only, like dropout.

``python -m tutorial_utils.train`` (:mod:`tutorial_utils.cli.train`) runs it from the command line.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .amp import autocast_dtype, backward_and_step
from .averaging import WeightAverage, recompute_batch_norm
from .checkpoint import check_resumable, save_checkpoint

Scheduler = Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]
#: One batch's loss: ``(forward, batch, device, autocast) -> (mean loss, examples, correct or None)``;
#: ``autocast()`` opens the mixed-precision context the forward pass runs in.
LossStep = Callable[[nn.Module, object, torch.device, Callable[[], "ContextManager"]],
                    tuple[torch.Tensor, int, "torch.Tensor | None"]]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and every GPU) random number generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool, device: torch.device | str | None = None, workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader with pinned memory when the batches go to a GPU, and ``workers`` processes
    (kept alive between epochs). Shuffling draws from PyTorch's global generator, so
    :func:`seed_everything` makes it repeatable and a checkpoint can resume it."""
    pin = torch.device(device).type == "cuda" if device is not None else False
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
        pin_memory=pin, persistent_workers=workers > 0, drop_last=drop_last,
    )


def _model_inputs(inputs: torch.Tensor, features: nn.Module | None, device: torch.device) -> torch.Tensor:
    """Move a batch to the device and compute features there, in float32 (outside autocast)."""
    inputs = inputs.to(device, non_blocking=True)
    return inputs if features is None else features(inputs)


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: DataLoader,
    features: nn.Module | None = None,
    device: torch.device | str | None = None,
    amp: bool | str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(examples, classes)`` (float32, on the CPU) and labels ``(examples,)`` of a loader."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval().to(device)
    if features is not None:
        features.eval().to(device)
    dtype = autocast_dtype(device, amp)
    all_logits, all_labels = [], []
    for inputs, labels in loader:
        x = _model_inputs(inputs, features, device)
        with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
            logits = model(x)
        all_logits.append(logits.float().cpu())
        all_labels.append(labels)
    return torch.cat(all_logits), torch.cat(all_labels)


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    features: nn.Module | None = None,
    device: torch.device | str | None = None,
    amp: bool | str = "auto",
    keep_predictions: bool = False,
) -> dict:
    """Mean cross-entropy ``loss`` and ``accuracy`` (a fraction) of ``model`` over ``loader``; with
    ``keep_predictions`` also ``predictions``, the predicted class of every example in loader order."""
    logits, labels = predict(model, loader, features, device, amp)
    result = {
        "loss": F.cross_entropy(logits, labels).item(),
        "accuracy": (logits.argmax(1) == labels).float().mean().item(),
    }
    if keep_predictions:
        result["predictions"] = logits.argmax(1).tolist()
    return result


def one_cycle(max_lr: float) -> Scheduler:
    """A scheduler factory for :func:`fit`: warm up for 20 % of the steps, then anneal (cosine).
    Momentum (or Adam's beta1) is cycled against the learning rate only if the optimizer has some:
    plain SGD, AdaGrad and RMSprop keep theirs at zero."""

    def make(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
        has_momentum = "betas" in optimizer.defaults or optimizer.defaults.get("momentum", 0) > 0
        # OneCycleLR divides by zero when the warm-up is exactly one step (20 % of 5): make it 1.5
        warmup = 0.3 if total_steps == 5 else 0.2
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=warmup, cycle_momentum=has_momentum
        )

    return make


def prepare(
    model: nn.Module, device: torch.device, features: nn.Module | None = None, amp: bool | str = "auto",
    compile: bool = False, channels_last: bool = False,
) -> tuple[nn.Module, torch.dtype | None, torch.amp.GradScaler | None]:
    """Move ``model`` (and ``features``) to ``device``, in channels-last layout if asked; return the
    function to call (``torch.compile``-d if asked), the autocast type (see
    :func:`~tutorial_utils.training.amp.autocast_dtype`) and a gradient scaler for float16."""
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if features is not None:
        features.to(device)
    dtype = autocast_dtype(device, amp)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    return (torch.compile(model) if compile else model), dtype, scaler


def mix_batch(x: torch.Tensor, weight: float, permutation: torch.Tensor) -> torch.Tensor:
    """Mixup's input (Zhang et al. 2018): ``weight * x + (1 - weight) * x[permutation]``, any shape
    ``(batch, ...)``."""
    return weight * x + (1 - weight) * x[permutation]


def classification_step(features: nn.Module | None = None, label_smoothing: float = 0.0,
                        mixup: float = 0.0) -> LossStep:
    """The default :data:`LossStep` of :func:`fit`: batches ``(inputs, labels)``, features computed
    on the device in float32, then cross-entropy (with ``label_smoothing``) under autocast.
    ``mixup`` > 0: each batch's features are mixed with a shuffled copy by a weight drawn from
    Beta(mixup, mixup), and the loss is the same mix of the two labels' losses (:func:`mix_batch`)."""
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    beta = torch.distributions.Beta(torch.tensor(float(mixup)), torch.tensor(float(mixup))) if mixup > 0 else None

    def step(forward: nn.Module, batch, device: torch.device, autocast: Callable[[], ContextManager]):
        inputs, labels = batch
        x = _model_inputs(inputs, features, device)
        y = labels.to(device, non_blocking=True)
        if beta is not None:
            weight, permutation = beta.sample().item(), torch.randperm(len(y)).to(device)
            x = mix_batch(x, weight, permutation)
        with autocast():
            logits = forward(x)
            loss = loss_fn(logits.float(), y)
            if beta is not None:
                loss = weight * loss + (1 - weight) * loss_fn(logits.float(), y[permutation])
        return loss, len(y), (logits.argmax(1) == y).sum()

    return step


def _generators(loader: DataLoader) -> list[torch.Generator]:
    """The random generators a loader draws its order from (its own, or its batch sampler's)."""
    found = [getattr(loader, "generator", None), getattr(getattr(loader, "batch_sampler", None), "generator", None)]
    return [g for g in found if isinstance(g, torch.Generator)]


def _rng_state(loader: DataLoader) -> dict:
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in np.random.get_state()],
        "loader": [g.get_state() for g in _generators(loader)],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, loader: DataLoader) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(tuple(a.numpy() if isinstance(a, torch.Tensor) else a for a in state["numpy"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for generator, saved in zip(_generators(loader), state["loader"]):
        generator.set_state(saved)


def _improved(metric: str, value: float, best: float | None) -> bool:
    """Lower is better, except for accuracies (``..._acc``)."""
    return best is None or (value > best if metric.endswith("acc") else value < best)


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    val_loader: DataLoader | None = None,
    features: nn.Module | None = None,
    device: torch.device | str | None = None,
    scheduler: Scheduler | None = None,
    label_smoothing: float = 0.0,
    loss_step: LossStep | None = None,
    validate: Callable[[nn.Module], dict[str, float]] | None = None,
    clip_grad_norm: float | None = None,
    after_backward: Callable[[], None] | None = None,
    amp: bool | str = "auto",
    compile: bool = False,
    channels_last: bool = False,
    seed: int = 0,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    run_settings: dict | None = None,
    early_stopping_patience: int | None = None,
    monitor: str = "val_loss",
    average_last: int = 0,
    average_lr: float | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model``; return the history, one list entry per epoch: ``epoch``, ``train_loss``,
    ``train_acc`` (when the step counts correct answers), ``lr`` (at the epoch's end),
    ``epoch_seconds``, ``epoch_cpu_seconds`` and ``val_<name>`` for each value ``validate`` returns.

    - ``loss_step``: how one batch becomes a loss (a :data:`LossStep`); default
      :func:`classification_step` with ``features`` and ``label_smoothing`` (batches
      ``(inputs, labels)``, cross-entropy). The CTC recogniser and data-parallel training plug in
      their own (:mod:`tutorial_utils.training.asr`, :mod:`tutorial_utils.training.distributed`).
    - ``validate``: ``model -> {name: value}`` after every epoch; default with a ``val_loader``:
      :func:`evaluate`'s ``loss`` and ``acc``.
    - ``optimizer``: default AdamW(``lr``, ``weight_decay``). ``scheduler``: a factory
      ``(optimizer, total_steps) -> LRScheduler`` (e.g. :func:`one_cycle`), stepped every batch.
      ``clip_grad_norm``: clip the gradients' total norm; ``after_backward``: called between the
      backward pass and the step (e.g. to average gradients over processes).
    - ``amp``: ``"auto"`` uses :func:`~tutorial_utils.training.amp.autocast_dtype` (bf16/fp16 on
      CUDA, with a gradient scaler for fp16; float32 elsewhere), ``True`` forces it (bf16 on the
      CPU), ``False`` disables it.
    - ``compile`` wraps the model in ``torch.compile``; ``channels_last`` changes its memory layout.
    - ``early_stopping_patience``: stop after that many epochs without improving ``monitor``
      (a ``val_...`` key; lower is better except for accuracies) and restore the best epoch's weights.
    - ``average_last``: stochastic weight averaging (:mod:`~tutorial_utils.training.averaging`). The
      schedule covers the first ``epochs - average_last`` epochs; the last ``average_last`` run at the
      constant learning rate ``average_lr``, the weights at each one's end are averaged, and the
      model ends with the average and BatchNorm statistics measured again for it.
    - ``checkpoint_path``: after every epoch, save everything needed to resume (weights,
      optimizer, scheduler, scaler, random states, history) atomically; with ``resume=True`` an
      existing checkpoint is loaded and training goes on from the next epoch, reproducing the
      uninterrupted run. ``run_settings`` (plain values: data, seed, learning rate, epochs, ...) are
      stored with it, and a resume with different settings is refused, naming them.
    """
    if validate is None and val_loader is not None:
        def validate(m: nn.Module) -> dict[str, float]:
            result = evaluate(m, val_loader, features, device, amp)
            return {"loss": result["loss"], "acc": result["accuracy"]}
    if early_stopping_patience is not None and validate is None:
        raise ValueError("early stopping needs a val_loader (or validate) to monitor")
    if average_last:
        if not 0 < average_last < epochs or average_lr is None or average_lr <= 0:
            raise ValueError(f"weight averaging needs 0 < average_last < epochs ({average_last} of {epochs}) "
                             f"and a positive average_lr (not {average_lr})")
        if early_stopping_patience is not None:
            raise ValueError("weight averaging keeps every last epoch; it cannot be combined with early stopping")
    if not monitor.startswith("val_"):
        raise ValueError(f"monitor must name a validation value such as 'val_loss' or 'val_acc', not {monitor!r}")
    seed_everything(seed)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    forward, dtype, scaler = prepare(model, device, features, amp, compile, channels_last)
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = scheduler(optimizer, (epochs - average_last) * len(train_loader)) if scheduler else None
    average = WeightAverage() if average_last else None
    loss_step = loss_step or classification_step(features, label_smoothing)

    def autocast() -> ContextManager:
        return torch.autocast(device.type, dtype=dtype) if dtype else nullcontext()

    history: dict[str, list[float]] = {}
    best, best_state, stale, start_epoch = None, None, 0, 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        state = check_resumable(checkpoint_path, run_settings)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if schedule is not None:
            schedule.load_state_dict(state["scheduler"])
        if scaler is not None:
            scaler.load_state_dict(state["scaler"])
        history, best, best_state, stale = state["history"], state["best"], state["best_model"], state["stale"]
        start_epoch = state["epoch"] + 1
        _set_rng_state(state["rng"], train_loader)
        if average is not None and state.get("average"):  # (None in a run saved without averaging)
            average.load_state_dict(state["average"])

    for epoch in tqdm(range(start_epoch, epochs), desc="epochs", disable=not progress):
        began, began_cpu = time.perf_counter(), time.process_time()
        model.train()
        if features is not None:
            features.train()
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)  # a DistributedSampler's shuffle, the same in every process
        averaging = average is not None and epoch >= epochs - average_last
        if averaging:
            for group in optimizer.param_groups:
                group["lr"] = average_lr
        loss_sum = torch.zeros((), device=device)
        correct: torch.Tensor | None = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        for batch in tqdm(train_loader, desc=f"epoch {epoch + 1}", leave=False, disable=not progress):
            loss, examples, right = loss_step(forward, batch, device, autocast)
            backward_and_step(loss, optimizer, scaler, clip_grad_norm=clip_grad_norm, after_backward=after_backward)
            if schedule is not None and not averaging:
                schedule.step()
            loss_sum += loss.detach() * examples
            correct = correct + right if right is not None and correct is not None else None
            seen += examples

        if averaging:
            average.add(model)
        values = {"epoch": epoch + 1, "train_loss": loss_sum.item() / seen}
        if correct is not None:
            values["train_acc"] = correct.item() / seen
        values["lr"] = optimizer.param_groups[0]["lr"]
        if validate is not None:
            values.update({f"val_{name}": value for name, value in validate(forward).items()})
        values["epoch_seconds"] = time.perf_counter() - began
        values["epoch_cpu_seconds"] = time.process_time() - began_cpu
        for key, value in values.items():
            history.setdefault(key, []).append(value)

        stop = False
        if early_stopping_patience is not None:
            value = history[monitor][-1]
            if _improved(monitor, value, best):
                best, stale = value, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                stop = stale >= early_stopping_patience
        if checkpoint_path is not None:
            save_checkpoint(
                checkpoint_path,
                "training-run",
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                scheduler=schedule.state_dict() if schedule is not None else None,
                scaler=scaler.state_dict() if scaler is not None else None,
                rng=_rng_state(train_loader),
                history=history,
                epoch=epoch,
                best=best,
                best_model=best_state,
                stale=stale,
                average=average.state_dict() if average is not None else None,
                settings=run_settings,
            )
        if progress:
            shown = {k: round(v[-1], 4) for k, v in history.items() if k not in ("epoch", "lr", "epoch_seconds", "epoch_cpu_seconds")}
            tqdm.write(f"epoch {epoch + 1}/{epochs} {shown} {history['epoch_seconds'][-1]:.1f} s", file=sys.stderr)
        if stop:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    if average is not None:
        average.copy_to(model)
        if features is not None:
            features.train()
        recompute_batch_norm(model, train_loader, lambda batch: loss_step(forward, batch, device, autocast))
    return history
