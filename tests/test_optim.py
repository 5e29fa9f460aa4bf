"""Optimizers from their update rules (tutorial_utils.optim) against torch.optim.

The main evidence: each optimizer trains a small CNN (convolutions, batch norm, a linear layer)
for 100 mini-batch steps in float64, with weight decay and two parameter groups of different
options, and ends with the same parameters as its ``torch.optim`` counterpart trained on the same
batches from the same start: ``torch.testing.assert_close(rtol=1e-10, atol=1e-12)``. Measured
differences are at most about 2e-15 (a few units in the last place of float64): the same
arithmetic, in a slightly different order. (A convolution with a bias right before batch norm
would break this: that bias's true gradient is zero, its computed one is rounding noise, and the
adaptive methods divide noise by its own size.)
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tutorial_utils import optim

STEPS = 100
TOLERANCE = dict(rtol=1e-10, atol=1e-12)

#: (ours, torch's, options shared by both): every row trains with weight decay.
PAIRS = {
    "SGD": (optim.SGD, torch.optim.SGD, dict(lr=0.5, weight_decay=1e-3)),
    "HeavyBall": (optim.HeavyBall, torch.optim.SGD, dict(lr=0.02, momentum=0.9, weight_decay=1e-3)),
    "Nesterov": (optim.Nesterov, torch.optim.SGD, dict(lr=0.02, momentum=0.9, weight_decay=1e-3)),
    "AdaGrad": (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.05, eps=1e-10, weight_decay=1e-3)),
    "RMSprop": (optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-2, alpha=0.9, eps=1e-8, weight_decay=1e-3)),
    "Adam": (optim.Adam, torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-8, weight_decay=1e-2)),
    "AdamW": (optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)),
}
TORCH_ONLY = {"Nesterov": dict(nesterov=True)}


def small_cnn() -> nn.Module:
    """A CNN for ``(batch, 1, 12, 16)`` inputs and 5 classes, in float64."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Conv2d(6, 8, 3, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5),
    ).double()


def batches(count: int = STEPS, batch_size: int = 16) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches of 'spectrograms': one fixed pattern per class plus noise, so there is
    something to learn."""
    generator = torch.Generator().manual_seed(0)
    patterns = torch.randn(5, 1, 12, 16, generator=generator, dtype=torch.float64)
    result = []
    for _ in range(count):
        labels = torch.randint(0, 5, (batch_size,), generator=generator)
        inputs = patterns[labels] + 0.5 * torch.randn(batch_size, 1, 12, 16, generator=generator, dtype=torch.float64)
        result.append((inputs, labels))
    return result


BATCHES = batches()


def parameter_groups(model: nn.Module, options: dict) -> list[dict]:
    """Convolution weights with the given options; everything else at three times the learning
    rate and without weight decay (the usual 'no decay for biases and norms')."""
    conv_weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    others = [p for p in model.parameters() if all(p is not w for w in conv_weights)]
    return [{"params": conv_weights}, {"params": others, "lr": 3 * options["lr"], "weight_decay": 0.0}]


def train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int = STEPS, scheduler=None) -> list[float]:
    losses = []
    for inputs, labels in BATCHES[:steps]:
        loss = F.cross_entropy(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


def assert_same_parameters(a: nn.Module, b: nn.Module) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, **TOLERANCE, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("name", PAIRS)
def test_same_parameters_as_torch_after_many_steps(name):
    ours_class, torch_class, options = PAIRS[name]
    start = small_cnn()
    ours_model, torch_model = copy.deepcopy(start), copy.deepcopy(start)
    ours = ours_class(parameter_groups(ours_model, options), **options)
    reference = torch_class(parameter_groups(torch_model, options), **options, **TORCH_ONLY.get(name, {}))
    ours_losses = train(ours_model, ours)
    torch_losses = train(torch_model, reference)
    assert sum(ours_losses[-10:]) < 0.6 * sum(ours_losses[:10]), "the model should have learned something"
    assert_same_parameters(ours_model, torch_model)
    assert math.isclose(ours_losses[-1], torch_losses[-1], rel_tol=1e-9)
    # The parameters really moved: the comparison is not between two untouched models.
    assert max((p - q).abs().max().item() for p, q in zip(ours_model.parameters(), start.parameters())) > 1e-2


def test_weight_decay_and_groups_matter():
    """The equality above is not blind to weight decay or groups: changing either changes the result."""
    _, _, options = PAIRS["AdamW"]
    reference = small_cnn()
    train(reference, optim.AdamW(parameter_groups(reference, options), **options))
    without_decay = small_cnn()
    train(without_decay, optim.AdamW(parameter_groups(without_decay, options), **{**options, "weight_decay": 0.0}))
    one_group = small_cnn()
    train(one_group, optim.AdamW(one_group.parameters(), **options))
    for other in (without_decay, one_group):
        with pytest.raises(AssertionError):
            assert_same_parameters(reference, other)


def test_adam_l2_is_not_adamw_decoupled_decay():
    options = dict(lr=2e-3, weight_decay=0.1)
    adam, adamw = small_cnn(), small_cnn()
    train(adam, optim.Adam(adam.parameters(), **options), steps=20)
    train(adamw, torch.optim.AdamW(adamw.parameters(), **options), steps=20)
    with pytest.raises(AssertionError):
        assert_same_parameters(adam, adamw)


def test_learning_rate_schedules_drive_our_optimizers():
    ours_model, torch_model = small_cnn(), small_cnn()
    ours = optim.HeavyBall(ours_model.parameters(), lr=0.05, momentum=0.9)
    reference = torch.optim.SGD(torch_model.parameters(), lr=0.05, momentum=0.9)
    train(ours_model, ours, 60, torch.optim.lr_scheduler.OneCycleLR(ours, max_lr=0.05, total_steps=60))
    train(torch_model, reference, 60, torch.optim.lr_scheduler.OneCycleLR(reference, max_lr=0.05, total_steps=60))
    assert_same_parameters(ours_model, torch_model)
    assert ours.param_groups[0]["lr"] == pytest.approx(reference.param_groups[0]["lr"])
    assert ours.param_groups[0]["lr"] < 1e-3, "one-cycle ends far below its peak"


@pytest.mark.parametrize("name", ["HeavyBall", "Adam"])
def test_state_dict_resumes_exactly(name):
    ours_class, _, options = PAIRS[name]
    straight = small_cnn()
    train(straight, ours_class(straight.parameters(), **options), steps=40)

    resumed = small_cnn()
    first = ours_class(resumed.parameters(), **options)
    train(resumed, first, steps=20)
    second = ours_class(resumed.parameters(), **options)
    second.load_state_dict(copy.deepcopy(first.state_dict()))
    for inputs, labels in BATCHES[20:40]:
        loss = F.cross_entropy(resumed(inputs), labels)
        second.zero_grad()
        loss.backward()
        second.step()
    assert_same_parameters(straight, resumed)


def test_parameters_without_gradients_are_left_alone_and_closure_returns_the_loss():
    model = small_cnn()
    frozen = model[0].weight
    frozen.requires_grad_(False)
    before = frozen.clone()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    inputs, labels = BATCHES[0]

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss is not None and loss.item() > 0
    assert torch.equal(frozen, before)
    assert model[0].weight not in optimizer.state


@pytest.mark.parametrize(
    "factory",
    [
        lambda p: optim.SGD(p, lr=-0.1),
        lambda p: optim.HeavyBall(p, lr=0.1, momentum=1.0),
        lambda p: optim.Nesterov(p, lr=0.1, momentum=-0.5),
        lambda p: optim.AdaGrad(p, eps=-1.0),
        lambda p: optim.RMSprop(p, alpha=1.5),
        lambda p: optim.Adam(p, betas=(0.9, 1.0)),
        lambda p: optim.AdamW(p, weight_decay=-1e-2),
    ],
)
def test_invalid_options_are_refused(factory):
    with pytest.raises(ValueError):
        factory([torch.zeros(3, requires_grad=True)])


def test_sparse_gradients_are_refused_clearly():
    embedding = nn.Embedding(10, 3, sparse=True)
    embedding(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        optim.SGD(embedding.parameters(), lr=0.1).step()


def test_lr_range_test_sweeps_geometrically_stops_at_divergence_and_restores_the_model():
    model = small_cnn().eval()
    before = copy.deepcopy(model.state_dict())
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    result = optim.lr_range_test(model, BATCHES[:10], optimizer, min_lr=1e-4, max_lr=1e4, steps=60)
    lrs = torch.tensor(result["lr"])
    assert lrs[0].item() == pytest.approx(1e-4)
    assert torch.allclose(lrs[1:] / lrs[:-1], torch.full((len(lrs) - 1,), 10 ** (8 / 59), dtype=lrs.dtype))
    assert len(lrs) < 60, "a learning rate of 1e4 diverges: the test should stop early"
    assert len(result["loss"]) == len(result["smoothed_loss"]) == len(lrs)
    assert min(result["smoothed_loss"]) < result["smoothed_loss"][0], "somewhere in the range the loss falls"
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} was not restored"
    assert optimizer.param_groups[0]["lr"] == 0.01 and not optimizer.state
    assert not model.training


def test_lr_range_test_refuses_an_empty_range():
    model = small_cnn()
    with pytest.raises(ValueError):
        optim.lr_range_test(model, BATCHES[:2], optim.SGD(model.parameters(), lr=0.1), min_lr=1.0, max_lr=0.1)
