"""Per-layer activation and gradient statistics via hooks (tutorial_utils.diagnostics)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tutorial_utils.evaluation import layer_statistics, layers_of_type
from tutorial_utils.models import plain_cnn


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(16, 6, generator=generator), torch.randint(0, 3, (16,), generator=generator)


def test_layers_of_type_lists_conv_and_linear_in_order():
    assert list(layers_of_type(mlp())) == ["0", "2", "4"]
    model = plain_cnn(8, widths=(2, 2, 2))
    names = list(layers_of_type(model))
    assert names[0] == "stem.0" and names[-1] == "head.2" and len(names) == 8
    assert list(layers_of_type(model, (nn.ReLU,)))[0] == "stem.2"


def test_statistics_match_a_manual_forward_and_backward():
    model = mlp()
    x, y = batch()
    stats = layer_statistics(model, x, y)

    hidden, outputs = x, []
    for layer in model:
        hidden = layer(hidden)
        hidden.retain_grad()
        outputs.append(hidden)
    F.cross_entropy(hidden, y).backward()
    linear_outputs = [outputs[i] for i in (0, 2, 4)]

    assert stats.names == ["0", "2", "4"]
    assert stats.activation_mean == pytest.approx([o.mean().item() for o in linear_outputs], rel=1e-5)
    assert stats.activation_std == pytest.approx([o.std().item() for o in linear_outputs], rel=1e-5)
    assert stats.gradient_norm == pytest.approx([o.grad.norm().item() for o in linear_outputs], rel=1e-5)
    expected_norms = [model[i].weight.grad.norm().item() for i in (0, 2, 4)]
    assert stats.weight_grad_norm == pytest.approx(expected_norms, rel=1e-5)


def test_leaves_no_gradients_and_no_hooks_behind():
    model = mlp()
    layer_statistics(model, *batch())
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_modules_without_weights_have_nan_weight_gradient():
    model = mlp()
    stats = layer_statistics(model, *batch(), modules={"relu": model[1], "out": model[4]})
    assert stats.names == ["relu", "out"]
    assert math.isnan(stats.weight_grad_norm[0]) and not math.isnan(stats.weight_grad_norm[1])
    assert stats.activation_mean[0] >= 0


def test_custom_loss():
    model = mlp()
    x, _ = batch()
    stats = layer_statistics(model, x, torch.zeros(16, 3), loss_fn=F.mse_loss)
    assert all(g > 0 for g in stats.weight_grad_norm)


def test_a_module_called_twice_is_an_error():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    with pytest.raises(RuntimeError, match="ran twice"):
        layer_statistics(model, torch.randn(2, 3), torch.tensor([0, 1]))
    assert not layer._forward_hooks


def test_a_module_never_called_is_an_error():
    model = mlp()
    with pytest.raises(ValueError, match="were not called"):
        layer_statistics(model, *batch(), modules={"stray": nn.Linear(2, 2)})


def test_small_init_makes_activations_shrink_layer_by_layer():
    """What chapter 4 shows: with N(0, 0.01^2) and no BatchNorm the signal dies with depth."""
    model = plain_cnn(8, widths=(8, 8, 8), batch_norm=False)
    for m in layers_of_type(model).values():
        nn.init.normal_(m.weight, 0.0, 0.01)
    stats = layer_statistics(model, torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 3]))
    stds = stats.activation_std
    assert all(later < 0.5 * earlier for earlier, later in zip(stds, stds[1:-1]))
