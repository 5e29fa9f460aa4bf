"""Weight initialisation schemes, written from their formulas.

For a weight tensor of shape ``(out_features, in_features)`` (linear) or
``(out_channels, in_channels / groups, *kernel_size)`` (convolution), with ``k`` the number of
kernel taps (``prod(kernel_size)``, 1 for linear layers)::

    fan_in  = in_channels * k      (inputs that feed one output unit)
    fan_out = out_channels * k     (outputs that one input unit feeds)

* small normal (the seed post's "random" init): ``N(0, 0.01^2)``, whatever the layer size;
* Xavier/Glorot uniform (Glorot & Bengio 2010): ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``;
* Kaiming/He normal (He et al. 2015): ``N(0, std^2)``, ``std = gain / sqrt(fan)``, ``gain = sqrt(2)``
  for ReLU and ``sqrt(2 / (1 + slope^2))`` for Leaky ReLU ``max(slope * x, x)``.

The in-place functions accept a ``torch.Generator`` and draw exactly as ``torch.nn.init`` does,
so the same seed gives the same values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "fan_in_and_fan_out",
    "gain",
    "xavier_uniform_limit",
    "kaiming_std",
    "small_normal_",
    "xavier_uniform_",
    "kaiming_normal_",
    "SCHEMES",
    "initialise",
    "zero_init_residual_branches",
]


def fan_in_and_fan_out(weight: torch.Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a linear ``(out, in)`` or convolution ``(out, in, *kernel)`` weight."""
    if weight.dim() < 2:
        raise ValueError(
            f"fan in/out needs a weight of at least 2 dimensions (out, in, *kernel); got shape "
            f"{tuple(weight.shape)} (biases and norm scales have no fan)"
        )
    taps = math.prod(weight.shape[2:])
    return weight.shape[1] * taps, weight.shape[0] * taps


def gain(nonlinearity: str, negative_slope: float = 0.01) -> float:
    """The factor that keeps the variance through ``nonlinearity``: linear 1, relu sqrt(2),
    leaky_relu ``sqrt(2 / (1 + negative_slope^2))``, tanh 5/3 (as ``torch.nn.init.calculate_gain``)."""
    gains = {
        "linear": 1.0,
        "relu": math.sqrt(2.0),
        "leaky_relu": math.sqrt(2.0 / (1.0 + negative_slope**2)),
        "tanh": 5.0 / 3.0,
    }
    if nonlinearity not in gains:
        raise ValueError(f"no gain for {nonlinearity!r}; use one of {', '.join(gains)}")
    return gains[nonlinearity]


def xavier_uniform_limit(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """Bound ``a`` of Xavier/Glorot uniform ``U(-a, a)``: ``gain * sqrt(6 / (fan_in + fan_out))``."""
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def kaiming_std(fan: int, gain: float = math.sqrt(2.0)) -> float:
    """Standard deviation of Kaiming/He normal: ``gain / sqrt(fan)`` (``gain = sqrt(2)`` for ReLU)."""
    return gain / math.sqrt(fan)


def small_normal_(
    weight: torch.Tensor, std: float = 0.01, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill ``weight`` in place from ``N(0, std^2)``, independent of the layer's size."""
    with torch.no_grad():
        return weight.normal_(0.0, std, generator=generator)


def xavier_uniform_(
    weight: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill ``weight`` in place from ``U(-a, a)`` with ``a = xavier_uniform_limit(fan_in, fan_out, gain)``."""
    limit = xavier_uniform_limit(*fan_in_and_fan_out(weight), gain=gain)
    with torch.no_grad():
        return weight.uniform_(-limit, limit, generator=generator)


def kaiming_normal_(
    weight: torch.Tensor,
    nonlinearity: str = "relu",
    mode: str = "fan_in",
    negative_slope: float = 0.01,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``weight`` in place from ``N(0, std^2)``, ``std = gain(nonlinearity) / sqrt(fan)``.

    ``mode="fan_in"`` keeps the variance of activations in the forward pass, ``"fan_out"`` that of
    gradients in the backward pass.
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode={mode!r}; use 'fan_in' or 'fan_out'")
    fan_in, fan_out = fan_in_and_fan_out(weight)
    std = kaiming_std(fan_in if mode == "fan_in" else fan_out, gain(nonlinearity, negative_slope))
    with torch.no_grad():
        return weight.normal_(0.0, std, generator=generator)


#: Name -> function filling one conv/linear weight in place (``weight, generator``).
SCHEMES: dict[str, Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "normal(0, 0.01)": lambda w, g: small_normal_(w, 0.01, generator=g),
    "xavier_uniform": lambda w, g: xavier_uniform_(w, generator=g),
    "kaiming_normal": lambda w, g: kaiming_normal_(w, "relu", generator=g),
}


def initialise(
    model: nn.Module, scheme: str, generator: torch.Generator | None = None
) -> nn.Module:
    """Initialise every conv/linear weight of ``model`` by ``scheme`` (a key of :data:`SCHEMES`,
    or ``"pytorch_default"`` for each layer's own ``reset_parameters``).

    Biases become 0 (PyTorch's default draws them uniformly) and BatchNorm layers start as the
    identity (scale 1, shift 0). Returns ``model``.
    """
    names = [*SCHEMES, "pytorch_default"]
    if scheme not in names:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(names)}")
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            if scheme == "pytorch_default":
                module.reset_parameters()
                continue
            SCHEMES[scheme](module.weight, generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def zero_init_residual_branches(model: nn.Module) -> int:
    """Make every residual branch output zero at initialisation (Goyal et al. 2017).

    Applies to modules with ``residual = True`` and a ``branch`` ``nn.Sequential`` (the blocks of
    :mod:`tutorial_utils.models.depth`): the scale of the branch's last BatchNorm is set to 0, or,
    where the branch ends in a convolution (pre-activation blocks), that convolution's weight.
    A block with an identity shortcut then computes the identity. Returns the number of branches.
    """
    count = 0
    for module in model.modules():
        branch = getattr(module, "branch", None)
        if not (getattr(module, "residual", False) and isinstance(branch, nn.Sequential)):
            continue
        last = next(
            m for m in reversed(branch) if isinstance(m, (nn.BatchNorm2d, nn.Conv2d))
        )
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)
        count += 1
    return count
