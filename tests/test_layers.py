"""The from-scratch layers equal PyTorch's, forward and backward.

Comparisons run in float64 with ``atol=1e-10, rtol=1e-8`` (differences are rounding only);
one float32 comparison per layer family uses ``atol=1e-5, rtol=1e-4``. Gradients are also checked
against finite differences with ``torch.autograd.gradcheck`` (float64).
"""

from __future__ import annotations

import itertools
import pytest
import torch
from torch import nn
from torch.autograd import gradcheck

from tutorial_utils import layers
from tutorial_utils.models import SeedResidualBlock

TIGHT = dict(atol=1e-10, rtol=1e-8)
FLOAT32 = dict(atol=1e-5, rtol=1e-4)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def assert_same_forward_and_backward(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, tol=TIGHT):
    """Same output, same input gradient and same parameter gradients (for a random upstream gradient)."""
    x_ours = x.clone().requires_grad_(True)
    x_theirs = x.clone().requires_grad_(True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    torch.testing.assert_close(out_ours, out_theirs, **tol)
    upstream = torch.randn_like(out_theirs)
    out_ours.backward(upstream)
    out_theirs.backward(upstream)
    torch.testing.assert_close(x_ours.grad, x_theirs.grad, **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        torch.testing.assert_close(param.grad, theirs_params[name].grad, **tol, msg=f"gradient of {name}")


# --- convolution ---------------------------------------------------------------------------


def test_output_size_formula_matches_pytorch():
    for size, kernel, stride, padding, dilation in itertools.product([1, 5, 8, 13], [1, 3, 4], [1, 2, 3], [0, 1, 2], [1, 2]):
        conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
        if size + 2 * padding < dilation * (kernel - 1) + 1:
            with pytest.raises(ValueError, match="does not fit"):
                layers.conv_output_size(size, kernel, stride, padding, dilation)
            continue
        expected = conv(torch.zeros(1, 1, size, size)).shape[-1]
        assert layers.conv_output_size(size, kernel, stride, padding, dilation) == expected


CONV_CASES = [
    # in, out, kernel, stride, padding, dilation, groups, bias
    (1, 4, 3, 1, 0, 1, 1, True),
    (3, 5, 3, 1, 1, 1, 1, False),
    (3, 4, (3, 2), (2, 1), (1, 0), 1, 1, True),
    (2, 3, 3, 2, 2, 2, 1, True),
    (4, 6, 1, 1, 0, 1, 1, True),  # 1x1 convolution: a per-pixel linear layer over channels
    (4, 6, 3, 1, 1, 1, 2, True),  # grouped
    (4, 4, 3, 2, 1, 1, 4, False),  # depthwise
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_equals_nn_conv2d_forward_and_backward(case):
    c_in, c_out, kernel, stride, padding, dilation, groups, bias = case
    theirs = nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation, groups, bias).double()
    ours = layers.Conv2d(c_in, c_out, kernel, stride, padding, dilation, groups, bias).double()
    ours.load_state_dict(theirs.state_dict())
    assert_same_forward_and_backward(ours, theirs, torch.randn(2, c_in, 9, 7, dtype=torch.float64))


def test_conv2d_in_float32():
    theirs = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    ours = layers.Conv2d(3, 8, 3, stride=2, padding=1)
    ours.load_state_dict(theirs.state_dict())
    assert_same_forward_and_backward(ours, theirs, torch.randn(4, 3, 20, 17), FLOAT32)


def test_conv2d_gradcheck():
    x = torch.randn(1, 4, 4, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: layers.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
                     (x, w, b))


def test_conv2d_initialises_like_pytorch():
    conv = layers.Conv2d(8, 16, 3)
    bound = 1 / (8 * 9) ** 0.5
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound
    assert conv.bias.abs().max() <= bound


def test_conv2d_rejects_channels_that_do_not_fit():
    with pytest.raises(ValueError, match="groups"):
        layers.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="does not fit"):
        layers.conv2d(torch.randn(1, 3, 5, 5), torch.randn(4, 2, 3, 3))


# --- batch norm ------------------------------------------------------------------------------


def _batch_norms(channels=3):
    theirs = nn.BatchNorm2d(channels).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    ours = layers.BatchNorm2d(channels).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def test_batch_norm_training_mode_matches_including_running_statistics():
    ours, theirs = _batch_norms()
    for step in range(3):
        x = 2 + 3 * torch.randn(4, 3, 5, 6, dtype=torch.float64)
        assert_same_forward_and_backward(ours, theirs, x)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), **TIGHT)
    assert ours.num_batches_tracked.item() == 3


def test_batch_norm_running_variance_is_unbiased():
    bn = layers.BatchNorm2d(1)
    bn.momentum = 1.0  # the running estimate becomes the last batch's statistic
    x = torch.tensor([1.0, 2.0, 4.0]).view(3, 1, 1, 1)
    bn(x)
    assert torch.allclose(bn.running_var, x.var(unbiased=True).view(1))
    assert torch.allclose(bn.running_mean, x.mean().view(1))


def test_batch_norm_eval_mode_uses_running_statistics():
    ours, theirs = _batch_norms()
    for _ in range(2):  # give both non-trivial running statistics
        x = 1 + 2 * torch.randn(8, 3, 4, 4, dtype=torch.float64)
        ours(x), theirs(x)
    ours.eval(), theirs.eval()
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    before = ours.running_mean.clone()
    assert_same_forward_and_backward(ours, theirs, x)
    assert torch.equal(ours.running_mean, before), "eval mode must not update the running mean"


def test_batch_norm_in_float32():
    theirs, ours = nn.BatchNorm2d(4), layers.BatchNorm2d(4)
    assert_same_forward_and_backward(ours, theirs, 5 + torch.randn(8, 4, 6, 6), FLOAT32)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    x = torch.randn(3, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    w = torch.rand(2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    mean, var = torch.randn(2, dtype=torch.float64), torch.rand(2, dtype=torch.float64) + 0.5
    assert gradcheck(lambda x, w, b: layers.batch_norm(x, mean.clone(), var.clone(), w, b, training), (x, w, b))


def test_batch_norm_refuses_a_single_value_per_channel_in_training():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layers.BatchNorm2d(2)(torch.randn(1, 2, 1, 1))
    layers.BatchNorm2d(2).eval()(torch.randn(1, 2, 1, 1))  # fine in eval mode


# --- activations -----------------------------------------------------------------------------

ACTIVATIONS = [
    (layers.ReLU(), nn.ReLU()),
    (layers.LeakyReLU(), nn.LeakyReLU()),
    (layers.LeakyReLU(0.2), nn.LeakyReLU(0.2)),
    (layers.Sigmoid(), nn.Sigmoid()),
    (layers.GELU(), nn.GELU()),
    (layers.GELU("tanh"), nn.GELU(approximate="tanh")),
]


@pytest.mark.parametrize("pair", ACTIVATIONS, ids=lambda p: repr(p[0]))
def test_activation_equals_pytorch(pair):
    ours, theirs = pair
    x = torch.cat([torch.linspace(-6, 6, 101, dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)])
    assert_same_forward_and_backward(ours, theirs, x)
    assert_same_forward_and_backward(ours, theirs, x.float(), FLOAT32)


@pytest.mark.parametrize("pair", ACTIVATIONS, ids=lambda p: repr(p[0]))
def test_activation_gradcheck(pair):
    x = torch.randn(20, dtype=torch.float64)
    x = (x + 0.1 * x.sign()).requires_grad_(True)  # stay away from the kinks at 0
    assert gradcheck(pair[0], (x,))


def test_leaky_relu_is_max_of_slope_times_x_and_x_not_max_of_slope_and_x():
    x = torch.tensor([-3.0, -0.5, 0.005, 2.0])
    assert torch.equal(layers.leaky_relu(x), torch.maximum(0.01 * x, x))
    assert (layers.leaky_relu(x)[:2] < 0).all()
    assert not torch.equal(layers.leaky_relu(x), torch.clamp(x, min=0.01))


def test_sigmoid_is_stable_for_huge_inputs():
    x = torch.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], requires_grad=True)
    y = layers.sigmoid(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    torch.testing.assert_close(y, torch.sigmoid(x))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        layers.gelu(torch.zeros(1), approximate="fast")


# --- pooling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (3, 1, 0)])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pooling_equals_pytorch(kind, kernel, stride, padding):
    theirs = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}[kind](kernel, stride, padding)
    ours = {"avg": layers.AvgPool2d, "max": layers.MaxPool2d}[kind](kernel, stride, padding)
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64) - 5  # negative values: padding must not win the max
    assert_same_forward_and_backward(ours, theirs, x)


@pytest.mark.parametrize("output_size", [1, (1, 1), 2, (3, 4), (5, 2)])
def test_adaptive_average_pooling_equals_pytorch(output_size):
    x = torch.randn(2, 3, 7, 11, dtype=torch.float64)
    assert_same_forward_and_backward(layers.AdaptiveAvgPool2d(output_size), nn.AdaptiveAvgPool2d(output_size), x)


def test_global_average_pooling_flattens_any_size():
    for height, width in [(1, 1), (8, 13), (5, 2)]:
        x = torch.randn(2, 4, height, width, dtype=torch.float64)
        torch.testing.assert_close(layers.GlobalAvgPool()(x), nn.AdaptiveAvgPool2d(1)(x).flatten(1), **TIGHT)
        assert layers.GlobalAvgPool()(x).shape == (2, 4)


def test_pooling_gradcheck():
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x: layers.avg_pool2d(x, 3, 2, 1), (x,))
    assert gradcheck(lambda x: layers.max_pool2d(x, 2), (x,))
    assert gradcheck(lambda x: layers.adaptive_avg_pool2d(x, (2, 4)), (x,))


# --- linear and residual block ---------------------------------------------------------------


def test_linear_equals_nn_linear():
    theirs = nn.Linear(5, 3).double()
    ours = layers.Linear(5, 3).double()
    ours.load_state_dict(theirs.state_dict())
    assert_same_forward_and_backward(ours, theirs, torch.randn(4, 2, 5, dtype=torch.float64))
    theirs, ours = nn.Linear(5, 3, bias=False), layers.Linear(5, 3, bias=False)
    ours.load_state_dict(theirs.state_dict())
    assert_same_forward_and_backward(ours, theirs, torch.randn(4, 5), FLOAT32)


def test_linear_gradcheck():
    args = [torch.randn(*shape, dtype=torch.float64, requires_grad=True) for shape in [(4, 5), (3, 5), (3,)]]
    assert gradcheck(layers.linear, args)


@pytest.mark.parametrize("in_channels, out_channels, stride", [(4, 4, 1), (4, 8, 1), (4, 8, 2), (4, 4, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_residual_block_equals_the_block_made_of_nn_layers(in_channels, out_channels, stride, training):
    theirs = SeedResidualBlock(in_channels, out_channels, stride).double()
    ours = layers.ResidualBlock(in_channels, out_channels, stride).double()
    with torch.no_grad():  # non-trivial BN parameters and statistics
        for module in theirs.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5), module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-1, 1), module.running_var.uniform_(0.5, 2)
    ours.load_state_dict(theirs.state_dict())
    ours.train(training), theirs.train(training)
    projects = stride != 1 or in_channels != out_channels
    assert isinstance(ours.shortcut, nn.Sequential) == projects
    x = torch.randn(3, in_channels, 7, 6, dtype=torch.float64)
    assert_same_forward_and_backward(ours, theirs, x)
    out_shape = (3, out_channels, layers.conv_output_size(7, 3, stride, 1), layers.conv_output_size(6, 3, stride, 1))
    assert ours(x).shape == out_shape


def test_residual_block_gradcheck():
    block = layers.ResidualBlock(2, 3, stride=2).double()
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert gradcheck(block, (x,))
