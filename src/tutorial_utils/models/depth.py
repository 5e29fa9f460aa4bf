"""Plain and residual CNNs of configurable depth, for experiments about depth.

The layout follows the CIFAR networks of He et al. (2016): a 3x3 convolution (the stem),
three stages of blocks with two 3x3 convolutions each (the first block of a later stage halves
the resolution and doubles the width), global average pooling and one linear layer. A network
with ``n`` blocks per stage has ``depth = 6 n + 2`` weight layers (8, 20, 32, 44, 56, 110, ...);
1x1 projection shortcuts are not counted, as in the paper.

A *plain* network is the same stack with the shortcuts removed, so a plain and a residual
network of the same depth and width differ only in the additions ``y = H(x) + x``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from ..init import initialise

__all__ = [
    "PostActivationBlock",
    "PreActivationBlock",
    "DepthCNN",
    "plain_cnn",
    "residual_cnn",
    "depth_layers",
    "removable_blocks",
    "block_removed",
]


def _conv3x3(in_channels: int, out_channels: int, stride: int, bias: bool) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class PostActivationBlock(nn.Module):
    """The original residual block (He et al. 2016a): ``relu(H(x) + shortcut(x))``.

    ``H`` is conv-BN-ReLU-conv-BN. The shortcut is the identity when input and output shapes
    match, else a strided 1x1 convolution (plus BN) that projects ``x`` to the output shape.
    With ``residual=False`` the block is plain: ``relu(H(x))``.

    Shapes: ``(batch, in_channels, H, W) -> (batch, out_channels, H / stride, W / stride)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        residual: bool = True,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        bias = not batch_norm
        self.residual = residual
        self.keeps_shape = stride == 1 and in_channels == out_channels
        self.branch = nn.Sequential(
            _conv3x3(in_channels, out_channels, stride, bias),
            _norm(out_channels, batch_norm),
            nn.ReLU(),
            _conv3x3(out_channels, out_channels, 1, bias),
            _norm(out_channels, batch_norm),
        )
        if residual and not self.keeps_shape:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=bias),
                _norm(out_channels, batch_norm),
            )
        else:
            self.shortcut = nn.Identity()
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.residual:
            out = out + self.shortcut(x)
        return self.activation(out)


class PreActivationBlock(nn.Module):
    """The "identity mapping" block (He et al. 2016b): ``H(x) + shortcut(x)``, no ReLU after the sum.

    ``H`` is BN-ReLU-conv-BN-ReLU-conv, so normalisation and ReLU come *before* each
    convolution and the shortcut path is a pure identity from block to block. Mismatched
    shapes use a strided 1x1 convolution as shortcut. With ``residual=False``: ``H(x)``.

    Shapes: ``(batch, in_channels, H, W) -> (batch, out_channels, H / stride, W / stride)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        residual: bool = True,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        bias = not batch_norm
        self.residual = residual
        self.keeps_shape = stride == 1 and in_channels == out_channels
        self.branch = nn.Sequential(
            _norm(in_channels, batch_norm),
            nn.ReLU(),
            _conv3x3(in_channels, out_channels, stride, bias),
            _norm(out_channels, batch_norm),
            nn.ReLU(),
            _conv3x3(out_channels, out_channels, 1, bias),
        )
        if residual and not self.keeps_shape:
            self.shortcut: nn.Module = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=bias)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.residual:
            out = out + self.shortcut(x)
        return out


BLOCKS = {"post": PostActivationBlock, "pre": PreActivationBlock}


class DepthCNN(nn.Module):
    """A CIFAR-style CNN (stem, ``len(widths)`` stages of blocks, pooling, linear) of a given depth.

    Args:
        depth: number of weight layers, ``2 * len(widths) * n + 2`` for ``n`` blocks per stage
            (8, 20, 56, ... for three stages).
        residual: add identity (or projection) shortcuts; ``False`` gives the plain network.
        block: ``"post"`` (He et al. 2016a) or ``"pre"`` activation blocks (He et al. 2016b).
        widths: channels of each stage; every stage after the first halves the resolution.
        in_channels: input channels (1 for a spectrogram).
        n_classes: number of outputs.
        batch_norm: use BatchNorm after (post) or before (pre) each convolution; without it
            the convolutions get biases and initialisation alone decides the signal scale.

    Weights start from Kaiming/He normal init (as in He et al. 2016), biases at 0;
    :func:`tutorial_utils.init.initialise` re-initialises with another scheme.

    Input ``(batch, n_mels, frames)`` or ``(batch, in_channels, n_mels, frames)``;
    output logits ``(batch, n_classes)``. ``blocks`` is a flat ``nn.Sequential`` of the blocks.
    """

    def __init__(
        self,
        depth: int,
        *,
        residual: bool = True,
        block: str = "post",
        widths: Sequence[int] = (16, 32, 64),
        in_channels: int = 1,
        n_classes: int = 10,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        layers_per_block_row = 2 * len(widths)
        if depth < layers_per_block_row + 2 or (depth - 2) % layers_per_block_row:
            valid = ", ".join(str(layers_per_block_row * n + 2) for n in range(1, 5))
            raise ValueError(
                f"depth={depth} does not fit {len(widths)} stages of two-layer blocks; "
                f"use {layers_per_block_row} * n + 2, e.g. {valid}, ..."
            )
        if block not in BLOCKS:
            raise ValueError(f"block={block!r}; use 'post' or 'pre'")
        self.depth = depth
        self.residual = residual
        blocks_per_stage = (depth - 2) // layers_per_block_row
        block_class = BLOCKS[block]
        bias = not batch_norm

        stem: list[nn.Module] = [_conv3x3(in_channels, widths[0], 1, bias)]
        if block == "post":
            stem += [_norm(widths[0], batch_norm), nn.ReLU()]
        self.stem = nn.Sequential(*stem)

        blocks = []
        channels = widths[0]
        for stage, width in enumerate(widths):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(
                    block_class(channels, width, stride, residual=residual, batch_norm=batch_norm)
                )
                channels = width
        self.blocks = nn.Sequential(*blocks)

        head: list[nn.Module] = []
        if block == "pre":
            head += [_norm(channels, batch_norm), nn.ReLU()]
        head += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_classes)]
        self.head = nn.Sequential(*head)
        initialise(self, "kaiming_normal")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.head(self.blocks(self.stem(x)))


def plain_cnn(depth: int, **kwargs) -> DepthCNN:
    """A plain CNN of ``depth`` weight layers (no shortcuts); see :class:`DepthCNN`."""
    return DepthCNN(depth, residual=False, **kwargs)


def residual_cnn(depth: int, **kwargs) -> DepthCNN:
    """A residual CNN (ResNet) of ``depth`` weight layers; see :class:`DepthCNN`."""
    return DepthCNN(depth, residual=True, **kwargs)


def depth_layers(model: DepthCNN) -> dict[str, nn.Module]:
    """``{name: layer}`` of the ``model.depth`` layers that count as depth, input to output: the
    3x3 convolutions and the final linear layer (1x1 projection shortcuts are left out)."""
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    }


def removable_blocks(model: DepthCNN) -> list[int]:
    """Indices of the blocks that keep their input's shape, so the net still runs without them."""
    return [i for i, block in enumerate(model.blocks) if block.keeps_shape]


@contextmanager
def block_removed(model: DepthCNN, index: int) -> Iterator[DepthCNN]:
    """Temporarily replace ``model.blocks[index]`` by the identity (a lesion, Veit et al. 2016).

    For a residual block this deletes its branch ``H`` and keeps the shortcut (for a
    post-activation block ``relu(x) = x`` because ``x`` is already a ReLU output); for a plain
    block it deletes the block's two layers. Only blocks in :func:`removable_blocks` qualify.
    """
    if index not in removable_blocks(model):
        raise ValueError(
            f"block {index} changes the shape of its input and cannot be removed; "
            f"removable blocks: {removable_blocks(model)}"
        )
    original = model.blocks[index]
    model.blocks[index] = nn.Identity()
    try:
        yield model
    finally:
        model.blocks[index] = original
