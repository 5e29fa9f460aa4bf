"""Plain and residual CNNs of configurable depth (tutorial_utils.models.depth)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tutorial_utils.models import (
    DepthCNN,
    PostActivationBlock,
    PreActivationBlock,
    block_removed,
    depth_layers,
    plain_cnn,
    removable_blocks,
    residual_cnn,
)

SMALL = dict(widths=(4, 8, 8))


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """Conv and linear layers that count towards the depth (3x3 convs and the classifier)."""
    return [
        m for m in model.modules()
        if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    ]


@pytest.mark.parametrize("depth", [8, 14, 20, 56])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("block", ["post", "pre"])
def test_depth_counts_weight_layers(depth, residual, block):
    model = DepthCNN(depth, residual=residual, block=block, **SMALL)
    assert len(weight_layers(model)) == depth
    assert list(depth_layers(model).values()) == weight_layers(model)
    assert len(model.blocks) == (depth - 2) // 2


@pytest.mark.parametrize("block", ["post", "pre"])
def test_output_shape_for_spectrogram_and_image_input(block):
    model = residual_cnn(8, block=block, n_classes=7, **SMALL).eval()
    spectrogram = torch.randn(3, 20, 17)
    assert model(spectrogram).shape == (3, 7)
    assert torch.equal(model(spectrogram), model(spectrogram.unsqueeze(1)))


def test_plain_and_residual_differ_only_in_the_projection_shortcuts():
    plain, residual = plain_cnn(20, **SMALL), residual_cnn(20, **SMALL)
    plain_names = {name for name, _ in plain.named_parameters()}
    residual_names = {name for name, _ in residual.named_parameters()}
    assert plain_names < residual_names
    assert all(".shortcut." in name for name in residual_names - plain_names)
    projections = [b for b in residual.blocks if not isinstance(b.shortcut, nn.Identity)]
    assert len(projections) == 2  # the first block of stages 2 and 3


@pytest.mark.parametrize("depth", [7, 9, 2, 0])
def test_invalid_depth_names_valid_ones(depth):
    with pytest.raises(ValueError, match=r"8, 14, 20, 26"):
        DepthCNN(depth)


def test_unknown_block_is_an_error():
    with pytest.raises(ValueError, match="'post' or 'pre'"):
        DepthCNN(8, block="bottleneck")


def test_post_activation_block_adds_its_input_after_the_branch():
    torch.manual_seed(0)
    block = PostActivationBlock(4, 4).eval()
    x = torch.rand(2, 4, 5, 6)
    assert torch.allclose(block(x), torch.relu(block.branch(x) + x))
    plain = PostActivationBlock(4, 4, residual=False).eval()
    assert torch.allclose(plain(x), torch.relu(plain.branch(x)))


def test_pre_activation_block_is_branch_plus_identity():
    torch.manual_seed(0)
    block = PreActivationBlock(4, 4).eval()
    x = torch.randn(2, 4, 5, 6)
    assert torch.allclose(block(x), block.branch(x) + x)


@pytest.mark.parametrize("block_class", [PostActivationBlock, PreActivationBlock])
def test_projection_shortcut_when_shapes_differ(block_class):
    block = block_class(4, 8, stride=2)
    assert not block.keeps_shape and isinstance(block.shortcut, (nn.Conv2d, nn.Sequential))
    assert block(torch.randn(2, 4, 10, 9)).shape == (2, 8, 5, 5)


def test_weights_start_from_kaiming_normal():
    torch.manual_seed(0)
    model = residual_cnn(8, widths=(64, 64, 64))
    conv = model.blocks[0].branch[3]
    fan_in = conv.weight[0].numel()
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)


def test_removable_blocks_are_those_that_keep_the_shape():
    model = residual_cnn(20, **SMALL)  # 3 blocks per stage; blocks 3 and 6 downsample
    assert removable_blocks(model) == [0, 1, 2, 4, 5, 7, 8]


@pytest.mark.parametrize("residual", [False, True])
def test_block_removed_is_the_net_without_that_block_and_restores_it(residual):
    torch.manual_seed(0)
    model = DepthCNN(14, residual=residual, **SMALL).eval()
    x = torch.randn(2, 12, 10)
    before = model(x)
    with block_removed(model, 1):
        lesioned = model(x)
    skip = model.blocks[:1] + model.blocks[2:]
    expected = model.head(skip(model.stem(x.unsqueeze(1))))
    assert torch.allclose(lesioned, expected)
    assert not torch.allclose(lesioned, before)
    assert torch.equal(model(x), before)


def test_block_removed_refuses_blocks_that_change_the_shape():
    model = residual_cnn(14, **SMALL)
    with pytest.raises(ValueError, match="removable blocks: \\[0, 1, 3, 5\\]"):
        with block_removed(model, 2):
            pass


def test_gradients_are_correct_in_float64():
    torch.manual_seed(0)
    model = residual_cnn(8, widths=(2, 2, 3), batch_norm=False).double()
    x = torch.randn(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))
