"""Optimizers written from their update rules, each a small ``torch.optim.Optimizer``.

Every class updates one parameter at a time, so the rule reads like its formula; ``g`` is the
parameter's gradient (from a mini-batch: stochastic gradient descent), ``lr`` the learning rate.

- ``SGD``: ``p -= lr * g`` (``torch.optim.SGD``);
- ``HeavyBall``: ``v = mu * v + g; p -= lr * v`` (``torch.optim.SGD(momentum=mu)``);
- ``Nesterov``: ``v = mu * v + g; p -= lr * (g + mu * v)`` (``SGD(momentum=mu, nesterov=True)``);
- ``AdaGrad``: ``s += g**2; p -= lr * g / (sqrt(s) + eps)`` (``torch.optim.Adagrad``);
- ``RMSprop``: ``s = alpha * s + (1 - alpha) * g**2; p -= lr * g / (sqrt(s) + eps)``
  (``torch.optim.RMSprop``);
- ``Adam``: bias-corrected moving averages of ``g`` and ``g**2`` (``torch.optim.Adam``);
- ``AdamW``: Adam with the weight decay applied to ``p`` directly (``torch.optim.AdamW``).

``weight_decay`` is an L2 penalty ``wd / 2 * |p|**2`` added to the loss (its gradient
``wd * p`` joins ``g``), except in ``AdamW``, where it shrinks ``p`` outside the adaptive step.
Parameter groups (a list of dicts, each with its own options) work as in ``torch.optim``, and so
do ``torch.optim.lr_scheduler`` schedules and ``state_dict()`` (``OneCycleLR`` cycles the momentum
too; for ``SGD``, ``AdaGrad`` and ``RMSprop``, which have none, pass ``cycle_momentum=False``).

:func:`lr_range_test` is Smith's learning-rate range test.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Optimizer

__all__ = ["AdaGrad", "Adam", "AdamW", "HeavyBall", "Nesterov", "ParameterwiseOptimizer", "RMSprop", "SGD", "lr_range_test"]


def _check_range(name: str, value: float, low: float, high: float = math.inf) -> None:
    """Raise ``ValueError`` unless ``low <= value < high``."""
    if not low <= value < high:
        raise ValueError(f"{name} must be in [{low}, {high}), got {value}")


class ParameterwiseOptimizer(Optimizer):
    """The loop every optimizer here shares: for each parameter group, for each parameter that
    has a gradient, call ``self.update(param, grad, state, group)`` without recording gradients.
    ``state`` is the parameter's own dict (moving averages, step count), kept between steps."""

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]):
        _check_range("lr", defaults["lr"], 0.0)
        _check_range("weight_decay", defaults.get("weight_decay", 0.0), 0.0)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter; ``closure`` (optional) recomputes and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                self.update(param, param.grad, self.state[param], group)
        return loss

    def update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Change ``param`` in place, given its gradient, its state and its group's options."""
        raise NotImplementedError


class SGD(ParameterwiseOptimizer):
    """Gradient descent ``p -= lr * g``: stochastic when ``g`` comes from a mini-batch."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    def update(self, param, grad, state, group):
        grad = grad + group["weight_decay"] * param
        param -= group["lr"] * grad


class HeavyBall(ParameterwiseOptimizer):
    """Polyak's momentum: a velocity ``v = mu * v + g`` accumulates past gradients, ``p -= lr * v``."""

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        _check_range("momentum", momentum, 0.0, 1.0)
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def update(self, param, grad, state, group):
        grad = grad + group["weight_decay"] * param
        if not state:
            state["velocity"] = torch.zeros_like(param)
        velocity = state["velocity"]
        velocity.mul_(group["momentum"]).add_(grad)
        param -= group["lr"] * velocity


class Nesterov(ParameterwiseOptimizer):
    """Nesterov's momentum: like :class:`HeavyBall`, but the step looks ahead along the velocity,
    ``p -= lr * (g + mu * v)`` (PyTorch's form, Sutskever et al. 2013)."""

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        _check_range("momentum", momentum, 0.0, 1.0)
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def update(self, param, grad, state, group):
        grad = grad + group["weight_decay"] * param
        if not state:
            state["velocity"] = torch.zeros_like(param)
        velocity = state["velocity"]
        velocity.mul_(group["momentum"]).add_(grad)
        param -= group["lr"] * (grad + group["momentum"] * velocity)


class AdaGrad(ParameterwiseOptimizer):
    """Duchi et al.'s AdaGrad: each coordinate's step is divided by the root of the *sum* of its
    squared gradients so far, so steps only shrink."""

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0):
        _check_range("eps", eps, 0.0)
        super().__init__(params, dict(lr=lr, eps=eps, weight_decay=weight_decay))

    def update(self, param, grad, state, group):
        grad = grad + group["weight_decay"] * param
        if not state:
            state["sum_sq"] = torch.zeros_like(param)
        sum_sq = state["sum_sq"]
        sum_sq += grad * grad
        param -= group["lr"] * grad / (sum_sq.sqrt() + group["eps"])


class RMSprop(ParameterwiseOptimizer):
    """Tieleman & Hinton's RMSprop: AdaGrad with an exponential moving *average* of squared
    gradients (decay ``alpha``), so old gradients are forgotten."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0):
        _check_range("alpha", alpha, 0.0, 1.0)
        _check_range("eps", eps, 0.0)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay))

    def update(self, param, grad, state, group):
        grad = grad + group["weight_decay"] * param
        if not state:
            state["mean_sq"] = torch.zeros_like(param)
        mean_sq, alpha = state["mean_sq"], group["alpha"]
        mean_sq.mul_(alpha).add_((1 - alpha) * grad * grad)
        param -= group["lr"] * grad / (mean_sq.sqrt() + group["eps"])


class Adam(ParameterwiseOptimizer):
    """Kingma & Ba's Adam: moving averages ``m`` of ``g`` and ``v`` of ``g**2``, divided by
    ``1 - beta**t`` to undo their start at zero, and the step ``lr * m_hat / (sqrt(v_hat) + eps)``.
    ``weight_decay`` is an L2 penalty: its gradient passes through the adaptive scaling."""

    def __init__(
        self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        _check_range("betas[0]", betas[0], 0.0, 1.0)
        _check_range("betas[1]", betas[1], 0.0, 1.0)
        _check_range("eps", eps, 0.0)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def update(self, param, grad, state, group):
        grad = grad + group["weight_decay"] * param
        self.adam_step(param, grad, state, group)

    @staticmethod
    def adam_step(param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        """The Adam update of ``param`` given ``grad``, shared by :class:`Adam` and :class:`AdamW`."""
        if not state:
            state.update(step=0, exp_avg=torch.zeros_like(param), exp_avg_sq=torch.zeros_like(param))
        state["step"] += 1
        (beta1, beta2), t = group["betas"], state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(beta1).add_((1 - beta1) * grad)
        v.mul_(beta2).add_((1 - beta2) * grad * grad)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        param -= group["lr"] * m_hat / (v_hat.sqrt() + group["eps"])


class AdamW(Adam):
    """Loshchilov & Hutter's AdamW: Adam with *decoupled* weight decay, ``p *= 1 - lr * wd``
    before the Adam step, so every weight decays at the same rate whatever its gradient scale."""

    def __init__(
        self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, param, grad, state, group):
        param *= 1 - group["lr"] * group["weight_decay"]
        self.adam_step(param, grad, state, group)


def lr_range_test(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: Optimizer,
    *,
    min_lr: float = 1e-6,
    max_lr: float = 10.0,
    steps: int = 100,
    smoothing: float = 0.9,
    stop_factor: float = 4.0,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> dict[str, list[float]]:
    """Smith's learning-rate range test: train for up to ``steps`` mini-batches while the learning
    rate grows geometrically from ``min_lr`` to ``max_lr``, recording the loss.

    ``batches`` yields ``(inputs, labels)`` already on the model's device (cycled if it is shorter
    than ``steps``). Stops early once the smoothed loss exceeds ``stop_factor`` times its minimum.
    The model's and the optimizer's states (and the model's train/eval mode) are restored afterwards. Returns ``{"lr", "loss",
    "smoothed_loss"}``, one entry per step; the smoothing is an exponential moving average with
    factor ``smoothing``, bias-corrected like Adam's.
    """
    if not 0 < min_lr < max_lr:
        raise ValueError(f"need 0 < min_lr < max_lr, got {min_lr} and {max_lr}")
    saved_model, saved_optimizer = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    growth = (max_lr / min_lr) ** (1 / max(steps - 1, 1))
    history: dict[str, list[float]] = {"lr": [], "loss": [], "smoothed_loss": []}
    average, best = 0.0, math.inf
    was_training = model.training
    model.train()
    try:
        for step, (inputs, labels) in zip(range(steps), itertools.cycle(batches)):
            lr = min_lr * growth**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = loss_fn(model(inputs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history["lr"].append(lr)
            history["loss"].append(loss.item())
            average = smoothing * average + (1 - smoothing) * history["loss"][-1]
            smoothed = average / (1 - smoothing ** (step + 1))
            history["smoothed_loss"].append(smoothed)
            best = min(best, smoothed)
            if not math.isfinite(smoothed) or smoothed > stop_factor * best:
                break
    finally:
        model.load_state_dict(saved_model)
        model.train(was_training)
        optimizer.load_state_dict(saved_optimizer)
    return history
