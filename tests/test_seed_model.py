"""The seed post's ResNet, fixed: it runs on inputs of any size and learns."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tutorial_utils.models import SeedResidualBlock, SeedResNet


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("n_mels, frames", [(64, 101), (40, 51), (13, 7), (1, 1)])
def test_any_input_size_gives_one_logit_per_class(n_mels, frames):
    model = SeedResNet(num_classes=7).eval()
    assert model(torch.randn(2, 1, n_mels, frames)).shape == (2, 7)


def test_num_classes_is_stored_and_sets_the_output_layer():
    model = SeedResNet(num_classes=12, in_channels=2)
    assert model.num_classes == 12
    assert (model.fc.in_features, model.fc.out_features) == (256, 12)
    assert model.stem[0].in_channels == 2


def test_pooling_gives_256_features_whatever_the_spatial_size():
    model = SeedResNet().eval()
    for frames in (20, 101):
        trunk = model.layer3(model.layer2(model.layer1(model.stem(torch.randn(1, 1, 32, frames)))))
        assert trunk.shape[1] == 256 and trunk.shape[-1] == -(-frames // 4)
        assert torch.flatten(model.pool(trunk), 1).shape == (1, 256)


def test_blocks_project_the_shortcut_only_when_the_shape_changes():
    assert isinstance(SeedResidualBlock(64, 64).shortcut, nn.Identity)
    for block in (SeedResidualBlock(64, 128, stride=2), SeedResidualBlock(64, 64, stride=2), SeedResidualBlock(8, 16)):
        conv, norm = block.shortcut
        assert conv.kernel_size == (1, 1) and isinstance(norm, nn.BatchNorm2d)


def test_it_learns_a_tiny_problem():
    model = SeedResNet(num_classes=3)
    x = torch.randn(6, 1, 4, 4)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = F.cross_entropy(model(x), y).item()
    for _ in range(10):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
