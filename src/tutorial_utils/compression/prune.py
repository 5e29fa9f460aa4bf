"""Pruning: removing weights (unstructured) or whole channels (structured) from a trained spotter.

Unstructured pruning zeroes the smallest weights wherever they are: the tensors keep their shapes,
so a dense kernel does the same work (the zeros are still multiplied). Structured pruning removes
whole channels, which leaves smaller dense tensors, and that is faster on any hardware.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import prune

from ..models.kws import KwsResNet


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """A boolean mask of ``weight``'s shape that keeps all but the ``sparsity`` fraction of entries
    with the smallest magnitude (ties at the threshold are removed)."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    removed = round(sparsity * weight.numel())
    if removed == 0:
        return torch.ones_like(weight, dtype=torch.bool)
    threshold = weight.abs().flatten().kthvalue(removed).values
    return weight.abs() > threshold


def _conv_weights(model: nn.Module) -> list[tuple[nn.Module, str]]:
    return [(m, "weight") for m in model.modules() if isinstance(m, nn.Conv2d)]


def prune_magnitude(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` whose convolution weights have the ``sparsity`` fraction with the smallest
    magnitude, over all of them together (global), set to zero with ``torch.nn.utils.prune``; the
    masks are made permanent, so the copy is an ordinary model with zeros in it."""
    pruned = copy.deepcopy(model)
    parameters = _conv_weights(pruned)
    prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, amount=sparsity)
    for module, name in parameters:
        prune.remove(module, name)
    return pruned


def sparsity(model: nn.Module) -> float:
    """The fraction of the convolution weights that are exactly zero."""
    weights = [m.weight for m, _ in _conv_weights(model)]
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


def prune_channels(model: KwsResNet, keep: float) -> KwsResNet:
    """A copy of ``model`` with fewer channels inside each residual block: of the ``width`` maps
    between a block's two convolutions, the ``keep`` fraction whose filters in the first convolution
    have the largest L1 norms stay; the rest are removed from ``conv1``'s outputs, ``bn1`` and
    ``conv2``'s inputs. The residual path keeps its width, so the blocks still add up."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    pruned = copy.deepcopy(model)
    for block in pruned.blocks:
        width = block.conv1.out_channels
        kept = block.conv1.weight.abs().sum(dim=(1, 2, 3)).argsort(descending=True)[: max(1, round(keep * width))]
        kept = kept.sort().values
        block.conv1 = _conv_like(block.conv1, block.conv1.weight[kept], out_channels=len(kept))
        block.conv2 = _conv_like(block.conv2, block.conv2.weight[:, kept], in_channels=len(kept))
        bn = nn.BatchNorm2d(len(kept), eps=block.bn1.eps, affine=False).train(block.bn1.training)
        bn.running_mean.copy_(block.bn1.running_mean[kept])
        bn.running_var.copy_(block.bn1.running_var[kept])
        block.bn1 = bn
    return pruned


def _conv_like(conv: nn.Conv2d, weight: torch.Tensor, **channels: int) -> nn.Conv2d:
    shape = {"in_channels": conv.in_channels, "out_channels": conv.out_channels, **channels}
    new = nn.Conv2d(kernel_size=conv.kernel_size, padding=conv.padding, dilation=conv.dilation, bias=False, **shape)
    with torch.no_grad():
        new.weight.copy_(weight)
    return new
