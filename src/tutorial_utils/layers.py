"""The layers of a ResNet written from their formulas: convolution, batch norm, activations,
pooling, linear layer and the residual block.

Every module keeps PyTorch's parameter and buffer names (``weight``, ``bias``, ``running_mean``,
...), so ``ours.load_state_dict(theirs.state_dict())`` copies weights across and the two can be
compared output for output and gradient for gradient.

Image-like tensors are ``(batch, channels, height, width)``; for a log-Mel spectrogram that is
``(batch, 1, n_mels, frames)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "conv_output_size",
    "conv2d",
    "Conv2d",
    "batch_norm",
    "BatchNorm2d",
    "relu",
    "leaky_relu",
    "sigmoid",
    "gelu",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "GELU",
    "avg_pool2d",
    "max_pool2d",
    "adaptive_avg_pool2d",
    "AvgPool2d",
    "MaxPool2d",
    "AdaptiveAvgPool2d",
    "GlobalAvgPool",
    "linear",
    "Linear",
    "ResidualBlock",
]

IntPair = int | tuple[int, int]


def _pair(value: IntPair) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length along one axis: ``floor((size + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``."""
    span = dilation * (kernel_size - 1) + 1
    if size + 2 * padding < span:
        raise ValueError(
            f"a kernel spanning {span} samples does not fit an input of {size} padded by {padding}"
        )
    return (size + 2 * padding - span) // stride + 1


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """2-D cross-correlation as unfold + matrix product (what ``torch.nn.functional.conv2d`` computes).

    ``x``: ``(batch, in_channels, H, W)``; ``weight``: ``(out_channels, in_channels / groups, kh, kw)``;
    ``bias``: ``(out_channels,)``. Returns ``(batch, out_channels, H_out, W_out)`` with
    ``H_out = conv_output_size(H, kh, stride, padding, dilation)`` (likewise ``W_out``).
    """
    batch, in_channels, height, width = x.shape
    out_channels, group_in, kh, kw = weight.shape
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    if in_channels != group_in * groups or out_channels % groups:
        raise ValueError(
            f"weight {tuple(weight.shape)} with groups={groups} does not fit an input of "
            f"{in_channels} channels"
        )
    h_out = conv_output_size(height, kh, stride[0], padding[0], dilation[0])
    w_out = conv_output_size(width, kw, stride[1], padding[1], dilation[1])
    # columns[b, c * kh * kw + i * kw + j, position] = padded x[b, c, row + i * d, col + j * d]
    columns = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    columns = columns.view(batch, groups, group_in * kh * kw, h_out * w_out)
    kernels = weight.reshape(groups, out_channels // groups, group_in * kh * kw)
    out = (kernels @ columns).reshape(batch, out_channels, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def _uniform_fan_in_(tensor: torch.Tensor, fan_in: int) -> None:
    # PyTorch's default for nn.Linear / nn.Conv2d weights (kaiming_uniform_ with a = sqrt(5))
    # and biases comes down to U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)).
    bound = 1.0 / math.sqrt(fan_in)
    nn.init.uniform_(tensor, -bound, bound)


class Conv2d(nn.Module):
    """Drop-in for ``nn.Conv2d`` (zero padding) built on :func:`conv2d`.

    Shapes: ``(batch, in_channels, H, W) -> (batch, out_channels, H_out, W_out)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels and out_channels")
        kh, kw = _pair(kernel_size)
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.groups = groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kh, kw))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        fan_in = in_channels // groups * kh * kw
        _uniform_fan_in_(self.weight, fan_in)
        if self.bias is not None:
            _uniform_fan_in_(self.bias, fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        out_channels, group_in, kh, kw = self.weight.shape
        return (
            f"{group_in * self.groups}, {out_channels}, kernel_size=({kh}, {kw}), stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
            f"bias={self.bias is not None}"
        )


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------


def batch_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Batch normalisation of ``x`` ``(batch, channels, H, W)`` per channel.

    Training: normalise with the batch's mean and (biased) variance over batch, height and
    width, and update the running estimates in place,
    ``running = (1 - momentum) running + momentum batch_statistic``, where the variance that
    enters ``running_var`` is the *unbiased* one (divided by ``n - 1``).
    Evaluation: normalise with ``running_mean`` and ``running_var``. Then scale by ``weight``
    (gamma) and shift by ``bias`` (beta), both ``(channels,)``.
    """
    if training:
        count = x.numel() // x.shape[1]
        if count <= 1:
            raise ValueError(
                f"batch norm in training mode needs more than 1 value per channel, got input "
                f"{tuple(x.shape)}; use a larger batch or call model.eval()"
            )
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * count / (count - 1))
    else:
        mean, var = running_mean, running_var
    out = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)
    if weight is not None:
        out = out * weight.view(1, -1, 1, 1)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


class BatchNorm2d(nn.Module):
    """Drop-in for ``nn.BatchNorm2d`` (affine, with running statistics).

    ``model.train()`` normalises with batch statistics and updates ``running_mean`` and
    ``running_var``; ``model.eval()`` uses the running statistics. Shapes are unchanged.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.num_batches_tracked += 1
        return batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            self.training, self.momentum, self.eps,
        )

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}, momentum={self.momentum}"


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


def relu(x: torch.Tensor) -> torch.Tensor:
    """``max(0, x)`` elementwise."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """``max(negative_slope * x, x)`` elementwise (for ``0 <= negative_slope < 1``).

    Not ``max(0.01, x)``: that is an identity clipped at 0.01, never negative, with zero
    gradient below 0.01.
    """
    return torch.where(x > 0, x, negative_slope * x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``1 / (1 + exp(-x))``, computed through ``z = exp(-|x|) <= 1`` so that nothing overflows."""
    z = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """``x * Phi(x)`` with ``Phi`` the standard normal CDF (Hendrycks & Gimpel 2016).

    ``approximate="none"``: ``Phi(x) = (1 + erf(x / sqrt(2))) / 2``;
    ``approximate="tanh"``: ``Phi(x) ~ (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2``.
    """
    if approximate == "none":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2.0)))
    if approximate == "tanh":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    raise ValueError(f"approximate={approximate!r}; use 'none' or 'tanh'")


class ReLU(nn.Module):
    """Module form of :func:`relu`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return relu(x)


class LeakyReLU(nn.Module):
    """Module form of :func:`leaky_relu`, ``max(negative_slope * x, x)``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(nn.Module):
    """Module form of :func:`sigmoid`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sigmoid(x)


class GELU(nn.Module):
    """Module form of :func:`gelu` (``approximate`` is ``"none"`` or ``"tanh"``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------


def _pool_windows(x: torch.Tensor, kernel_size: IntPair, stride: IntPair | None, padding: IntPair,
                  fill: float) -> tuple[torch.Tensor, int, int]:
    # Every channel on its own: (batch * channels, 1, H, W) -> windows (batch, channels, kh * kw, L).
    batch, channels, height, width = x.shape
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(stride if stride is not None else kernel_size)
    ph, pw = _pair(padding)
    h_out, w_out = conv_output_size(height, kh, sh, ph), conv_output_size(width, kw, sw, pw)
    padded = F.pad(x, (pw, pw, ph, ph), value=fill)
    windows = F.unfold(padded.reshape(batch * channels, 1, *padded.shape[2:]), (kh, kw), stride=(sh, sw))
    return windows.view(batch, channels, kh * kw, h_out * w_out), h_out, w_out


def avg_pool2d(x: torch.Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> torch.Tensor:
    """Mean over each ``kernel_size`` window (stride defaults to the kernel size; padded zeros count,
    as ``nn.AvgPool2d``'s default). ``(batch, C, H, W) -> (batch, C, H_out, W_out)``."""
    windows, h_out, w_out = _pool_windows(x, kernel_size, stride, padding, 0.0)
    return windows.mean(dim=2).view(x.shape[0], x.shape[1], h_out, w_out)


def max_pool2d(x: torch.Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> torch.Tensor:
    """Maximum over each ``kernel_size`` window (padding with ``-inf``, so it never wins).
    ``(batch, C, H, W) -> (batch, C, H_out, W_out)``."""
    windows, h_out, w_out = _pool_windows(x, kernel_size, stride, padding, -math.inf)
    return windows.amax(dim=2).view(x.shape[0], x.shape[1], h_out, w_out)


def adaptive_avg_pool2d(x: torch.Tensor, output_size: IntPair) -> torch.Tensor:
    """Average pooling to a fixed ``output_size`` whatever the input size.

    Output cell ``i`` along an axis of length ``n`` averages inputs
    ``floor(i n / out) .. ceil((i + 1) n / out) - 1``. ``(batch, C, H, W) -> (batch, C, *output_size)``.
    """

    def bins(n: int, out: int) -> list[tuple[int, int]]:
        return [((i * n) // out, -((-(i + 1) * n) // out)) for i in range(out)]

    rows, cols = _pair(output_size)
    return torch.stack(
        [
            torch.stack([x[:, :, r0:r1, c0:c1].mean(dim=(2, 3)) for c0, c1 in bins(x.shape[3], cols)], -1)
            for r0, r1 in bins(x.shape[2], rows)
        ],
        dim=-2,
    )


class AvgPool2d(nn.Module):
    """Module form of :func:`avg_pool2d`."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class MaxPool2d(nn.Module):
    """Module form of :func:`max_pool2d`."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(nn.Module):
    """Module form of :func:`adaptive_avg_pool2d`."""

    def __init__(self, output_size: IntPair) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return adaptive_avg_pool2d(x, self.output_size)


class GlobalAvgPool(nn.Module):
    """Mean over height and width: ``(batch, C, H, W) -> (batch, C)`` for any ``H`` and ``W``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


# ---------------------------------------------------------------------------------------------
# Linear layer and residual block
# ---------------------------------------------------------------------------------------------


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``y = W x + b`` for each row ``x`` of ``(..., in_features)``; ``weight`` is ``(out, in)``."""
    out = x @ weight.T
    return out + bias if bias is not None else out


class Linear(nn.Module):
    """Drop-in for ``nn.Linear``: ``(..., in_features) -> (..., out_features)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        _uniform_fan_in_(self.weight, in_features)
        if self.bias is not None:
            _uniform_fan_in_(self.bias, in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        out_features, in_features = self.weight.shape
        return f"in_features={in_features}, out_features={out_features}, bias={self.bias is not None}"


class ResidualBlock(nn.Module):
    """The basic residual block of He et al. (2016): ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    ``conv1`` is 3x3 with ``stride``, ``conv2`` 3x3; neither has a bias (BN's shift replaces it).
    The shortcut is the identity when the shape is kept, else a projection: a 1x1 convolution
    with ``stride`` followed by batch norm. Built only from this module's layers.

    Shapes: ``(batch, in_channels, H, W) -> (batch, out_channels, H_out, W_out)`` with
    ``H_out = conv_output_size(H, 3, stride, 1)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.relu = ReLU()
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))
