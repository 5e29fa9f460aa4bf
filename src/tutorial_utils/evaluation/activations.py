"""Per-layer statistics of activations and gradients, recorded with hooks.

A forward hook on a module sees its output; a hook registered on that output tensor sees the
gradient of the loss with respect to it during the backward pass. :func:`layer_statistics`
runs one forward and backward pass on a batch and returns, for each chosen module, the mean and
standard deviation of its output, the norm of the gradient of the loss at its output and the
norm of the gradient of its weight. The model's ``.grad`` fields are left untouched.

Standard deviations are per element: the right scale for activations, which initialisation
schemes keep constant element by element. Gradients are given as norms over the whole output
tensor, which stay comparable across layers whose outputs differ in size (a stride-2 layer or
global pooling spreads the same gradient over more or fewer elements).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LayerStatistics", "layers_of_type", "layer_statistics"]


@dataclass
class LayerStatistics:
    """Statistics of one forward/backward pass, one list entry per module, in call order.

    ``activation_mean`` and ``activation_std``: of the module's output, over all its elements;
    ``gradient_norm``: Frobenius norm of the loss's gradient with respect to the output;
    ``weight_grad_norm``: norm of the gradient of the module's ``weight`` (``nan`` if it has none).
    """

    names: list[str] = field(default_factory=list)
    activation_mean: list[float] = field(default_factory=list)
    activation_std: list[float] = field(default_factory=list)
    gradient_norm: list[float] = field(default_factory=list)
    weight_grad_norm: list[float] = field(default_factory=list)


def layers_of_type(
    model: nn.Module, types: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)
) -> dict[str, nn.Module]:
    """``{qualified name: module}`` of every module of ``model`` that is an instance of ``types``."""
    return {name: m for name, m in model.named_modules() if isinstance(m, types)}


def layer_statistics(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    modules: Mapping[str, nn.Module] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> LayerStatistics:
    """Activation and gradient statistics of ``modules`` for one batch (see :class:`LayerStatistics`).

    Args:
        model: the network; its train/eval mode is used as it is (BatchNorm in train mode uses
            batch statistics, as during training).
        inputs: a batch, e.g. ``(batch, n_mels, frames)``.
        targets: what ``loss_fn(model(inputs), targets)`` expects, e.g. class indices ``(batch,)``.
        modules: ``{name: module}`` to observe; default every ``Conv2d`` and ``Linear`` layer.
            Each must be called exactly once per forward pass.
        loss_fn: the loss whose gradients are measured.
    """
    modules = dict(layers_of_type(model) if modules is None else modules)
    outputs: dict[str, torch.Tensor] = {}
    order: list[str] = []
    gradient_norm: dict[str, float] = {}

    def observe(name: str):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if name in outputs:
                raise RuntimeError(f"module {name!r} ran twice in one forward pass")
            outputs[name] = output.detach()
            order.append(name)
            if output.requires_grad:
                output.register_hook(lambda grad: gradient_norm.__setitem__(name, grad.norm().item()))

        return hook

    handles = [m.register_forward_hook(observe(name)) for name, m in modules.items()]
    try:
        loss = loss_fn(model(inputs), targets)
        parameters = [p for p in model.parameters() if p.requires_grad]
        grads = dict(zip(map(id, parameters), torch.autograd.grad(loss, parameters, allow_unused=True)))
    finally:
        for handle in handles:
            handle.remove()

    missing = sorted(set(modules) - set(outputs))
    if missing:
        raise ValueError(f"modules {missing} were not called in the forward pass")
    stats = LayerStatistics()
    for name in order:
        out = outputs[name].float()
        weight = getattr(modules[name], "weight", None)
        grad = grads.get(id(weight)) if isinstance(weight, nn.Parameter) else None
        stats.names.append(name)
        stats.activation_mean.append(out.mean().item())
        stats.activation_std.append(out.std().item())
        stats.gradient_norm.append(gradient_norm.get(name, math.nan))
        stats.weight_grad_norm.append(grad.norm().item() if grad is not None else math.nan)
    return stats
