"""The ResNet of the blog post this book grew from, with its two bugs fixed.

The post's network: a stem (3x3 convolution to 64 channels, batch norm, ReLU), three residual
stages of 64, 128 and 256 channels (the last two halve the resolution), pooling and
``nn.Linear(256, num_classes)``. As printed it could not run: ``forward`` used a ``num_classes``
that it never defined, and ``nn.AvgPool2d(2)`` left a spatial map that flattens to
``256 * H * W`` features instead of 256. Here the pooling is global (adaptive average pooling to
``(1, 1)``, then flatten to 256 features, whatever the input's size) and ``num_classes`` is
stored in ``__init__``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SeedResidualBlock", "SeedResNet"]


class SeedResidualBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` from ``torch.nn`` layers.

    The shortcut is the identity, or a 1x1 convolution with ``stride`` plus batch norm when the
    stride or the number of channels changes. Same parameter names as
    :class:`tutorial_utils.layers.ResidualBlock`, the from-scratch twin.

    Shapes: ``(batch, in_channels, H, W) -> (batch, out_channels, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class SeedResNet(nn.Module):
    """The seed post's ResNet, fixed: stem, stages of 64, 128, 256 channels, global pooling, linear.

    Args:
        num_classes: number of outputs (10 digits for FSDD); stored as ``self.num_classes``.
        in_channels: input channels (1 for a log-Mel spectrogram).

    Input ``(batch, in_channels, n_mels, frames)`` of any size of at least 1x1;
    output logits ``(batch, num_classes)``.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        )
        self.layer1 = SeedResidualBlock(64, 64)
        self.layer2 = SeedResidualBlock(64, 128, stride=2)
        self.layer3 = SeedResidualBlock(128, 256, stride=2)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        x = torch.flatten(self.pool(x), 1)  # (batch, 256, 1, 1) -> (batch, 256)
        return self.fc(x)
