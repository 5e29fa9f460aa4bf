"""Initialisation schemes written from their formulas (tutorial_utils.init).

Three kinds of evidence: the formulas themselves (fans, gains, bounds), the statistics of large
samples (std within 1 %, bounds reached, a Kolmogorov-Smirnov statistic against the intended
distribution), and equality with ``torch.nn.init`` for the same seed where PyTorch draws the
same way (``uniform_(-a, a)`` and ``normal_(0, std)``).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tutorial_utils import init
from tutorial_utils.models import plain_cnn, residual_cnn

LARGE = (256, 128, 3, 3)  # 294,912 values: std within 1 % with room to spare


def ks_statistic(sample: torch.Tensor, cdf) -> float:
    """sup |F_n(x) - F(x)| of ``sample`` against the distribution function ``cdf``."""
    x, _ = sample.flatten().double().sort()
    n = x.numel()
    theoretical = cdf(x)
    above = torch.arange(1, n + 1, dtype=torch.float64) / n - theoretical
    below = theoretical - torch.arange(0, n, dtype=torch.float64) / n
    return max(above.max().item(), below.max().item())


def normal_cdf(std: float):
    return lambda x: 0.5 * (1 + torch.special.erf(x / (std * math.sqrt(2))))


def uniform_cdf(limit: float):
    return lambda x: ((x + limit) / (2 * limit)).clamp(0, 1)


def ks_critical(n: int) -> float:
    """Critical value of the KS statistic at significance 0.001 (asymptotic)."""
    return 1.95 / math.sqrt(n)


@pytest.mark.parametrize(
    "shape, fans",
    [((10, 3), (3, 10)), ((16, 8, 3, 3), (72, 144)), ((32, 1, 5), (5, 160)), ((6, 4, 2, 3, 3), (72, 108))],
)
def test_fan_in_and_fan_out(shape, fans):
    assert init.fan_in_and_fan_out(torch.empty(shape)) == fans
    assert fans == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match="biases and norm scales have no fan"):
        init.fan_in_and_fan_out(torch.empty(10))


@pytest.mark.parametrize(
    "nonlinearity, slope", [("linear", None), ("relu", None), ("tanh", None), ("leaky_relu", 0.01), ("leaky_relu", 0.2)]
)
def test_gains_match_pytorch(nonlinearity, slope):
    ours = init.gain(nonlinearity) if slope is None else init.gain(nonlinearity, slope)
    assert ours == pytest.approx(nn.init.calculate_gain(nonlinearity, slope), rel=1e-12)


def test_unknown_nonlinearity_is_an_error():
    with pytest.raises(ValueError, match="no gain for 'gelu'"):
        init.gain("gelu")


def test_formulas():
    assert init.xavier_uniform_limit(100, 200) == pytest.approx(math.sqrt(6 / 300))
    assert init.xavier_uniform_limit(100, 200, gain=2.0) == pytest.approx(2 * math.sqrt(6 / 300))
    assert init.kaiming_std(50) == pytest.approx(math.sqrt(2 / 50))
    assert init.kaiming_std(50, gain=1.0) == pytest.approx(math.sqrt(1 / 50))


@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_xavier_uniform_equals_pytorch_for_the_same_seed(gain):
    ours, theirs = torch.empty(64, 32, 3, 3), torch.empty(64, 32, 3, 3)
    torch.manual_seed(1)
    init.xavier_uniform_(ours, gain=gain)
    torch.manual_seed(1)
    nn.init.xavier_uniform_(theirs, gain=gain)
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)


def test_xavier_uniform_statistics():
    weight = init.xavier_uniform_(torch.empty(LARGE), generator=torch.Generator().manual_seed(0))
    limit = init.xavier_uniform_limit(*init.fan_in_and_fan_out(weight))
    assert weight.abs().max().item() <= limit
    assert weight.abs().max().item() > 0.999 * limit  # the bound is reached, not just respected
    assert weight.std().item() == pytest.approx(limit / math.sqrt(3), rel=0.01)
    assert abs(weight.mean().item()) < 0.01 * limit
    assert ks_statistic(weight, uniform_cdf(limit)) < ks_critical(weight.numel())


def test_ks_statistic_tells_uniform_from_normal():
    """The KS check has power: a uniform sample is far from the normal of the same variance."""
    weight = init.xavier_uniform_(torch.empty(LARGE), generator=torch.Generator().manual_seed(0))
    std = init.xavier_uniform_limit(*init.fan_in_and_fan_out(weight)) / math.sqrt(3)
    assert ks_statistic(weight, normal_cdf(std)) > 10 * ks_critical(weight.numel())


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, slope", [("relu", 0.0), ("leaky_relu", 0.01), ("leaky_relu", 0.2)])
def test_kaiming_normal_equals_pytorch_for_the_same_seed(mode, nonlinearity, slope):
    ours, theirs = torch.empty(64, 32, 3, 3), torch.empty(64, 32, 3, 3)
    torch.manual_seed(2)
    init.kaiming_normal_(ours, nonlinearity, mode, negative_slope=slope)
    torch.manual_seed(2)
    nn.init.kaiming_normal_(theirs, a=slope, mode=mode, nonlinearity=nonlinearity)
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_normal_statistics(mode):
    weight = init.kaiming_normal_(torch.empty(LARGE), mode=mode, generator=torch.Generator().manual_seed(0))
    fan_in, fan_out = init.fan_in_and_fan_out(weight)
    std = math.sqrt(2 / (fan_in if mode == "fan_in" else fan_out))
    assert weight.std().item() == pytest.approx(std, rel=0.01)
    assert abs(weight.mean().item()) < 0.01 * std
    assert ks_statistic(weight, normal_cdf(std)) < ks_critical(weight.numel())


def test_kaiming_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="'fan_in' or 'fan_out'"):
        init.kaiming_normal_(torch.empty(3, 3), mode="average")


def test_small_normal_ignores_the_layer_size():
    for shape in [(8, 4), LARGE]:
        torch.manual_seed(3)
        ours = init.small_normal_(torch.empty(shape))
        torch.manual_seed(3)
        assert torch.equal(ours, nn.init.normal_(torch.empty(shape), 0.0, 0.01))
    assert ours.std().item() == pytest.approx(0.01, rel=0.01)
    assert ks_statistic(ours, normal_cdf(0.01)) < ks_critical(ours.numel())


def test_generator_makes_draws_reproducible():
    a = init.kaiming_normal_(torch.empty(20, 10), generator=torch.Generator().manual_seed(5))
    b = init.kaiming_normal_(torch.empty(20, 10), generator=torch.Generator().manual_seed(5))
    c = init.kaiming_normal_(torch.empty(20, 10), generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


EXPECTED_STD = {
    "normal(0, 0.01)": lambda fan_in, fan_out: 0.01,
    "xavier_uniform": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "kaiming_normal": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
}


@pytest.mark.parametrize("scheme", list(init.SCHEMES))
def test_initialise_applies_the_scheme_to_every_layer(scheme):
    model = plain_cnn(8, widths=(64, 64, 64), batch_norm=False)
    nn.init.constant_(model.head[-1].bias, 3.0)
    init.initialise(model, scheme, generator=torch.Generator().manual_seed(0))
    for layer in [model.stem[0], model.blocks[1].branch[0], model.blocks[2].branch[3]]:
        std = EXPECTED_STD[scheme](*init.fan_in_and_fan_out(layer.weight))
        assert layer.weight.std().item() == pytest.approx(std, rel=0.03)
        assert torch.all(layer.bias == 0)
    assert torch.all(model.head[-1].bias == 0)


def test_initialise_resets_batch_norm_to_the_identity():
    model = residual_cnn(8, widths=(4, 4, 4))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 0.5)
    init.initialise(model, "xavier_uniform")
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in norms)


def test_pytorch_default_uses_each_layers_reset_parameters():
    model = plain_cnn(8, widths=(64, 64, 64))
    init.initialise(model, "pytorch_default")
    weight = model.blocks[1].branch[0].weight
    bound = 1 / math.sqrt(init.fan_in_and_fan_out(weight)[0])  # kaiming_uniform_(a=sqrt(5))
    assert weight.abs().max().item() <= bound
    assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_initialise_unknown_scheme_lists_the_known_ones():
    with pytest.raises(ValueError, match="xavier_uniform, kaiming_normal, pytorch_default"):
        init.initialise(plain_cnn(8), "orthogonal")


@pytest.mark.parametrize("block", ["post", "pre"])
def test_zero_init_residual_branches_makes_blocks_the_identity(block):
    torch.manual_seed(0)
    model = residual_cnn(14, block=block, widths=(4, 8, 8))
    assert init.zero_init_residual_branches(model) == len(model.blocks)
    hidden = model.stem(torch.randn(2, 1, 12, 12))
    for block in model.blocks:
        out = block(hidden)
        if block.keeps_shape:
            assert torch.allclose(out, hidden)
        else:  # a projection shortcut remains: the block is not the identity, but it still runs
            assert out.shape != hidden.shape
        hidden = out


def test_zero_init_leaves_plain_networks_alone():
    model = plain_cnn(8)
    before = [p.clone() for p in model.parameters()]
    assert init.zero_init_residual_branches(model) == 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
