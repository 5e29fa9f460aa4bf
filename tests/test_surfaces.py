"""2-D test functions (tutorial_utils.surfaces): their stationary points and curvature, and the
optimizer paths on them that the theory predicts (gradient descent's stability limit 2 / kappa,
momentum's faster rate on an ill-conditioned quadratic)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from tutorial_utils import optim
from tutorial_utils.surfaces import plot_paths, quadratic, rosenbrock, saddle, trajectory


def gradient(surface, point):
    p = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    surface(p).backward()
    return p.grad


def hessian(surface, point):
    return torch.autograd.functional.hessian(surface, torch.tensor(point, dtype=torch.float64))


@pytest.mark.parametrize("surface", [quadratic(25), rosenbrock(), saddle()], ids=lambda s: s.name)
def test_minima_are_stationary_with_positive_curvature(surface):
    for minimum in surface.minima:
        assert torch.allclose(gradient(surface, minimum), torch.zeros(2, dtype=torch.float64), atol=1e-12)
        assert torch.linalg.eigvalsh(hessian(surface, minimum)).min() > 0


def test_quadratic_has_the_condition_number_it_is_named_after():
    eigenvalues = torch.linalg.eigvalsh(hessian(quadratic(40), (0.3, -0.7)))
    assert torch.allclose(eigenvalues, torch.tensor([1.0, 40.0], dtype=torch.float64))
    with pytest.raises(ValueError):
        quadratic(0.5)


def test_saddle_is_a_saddle():
    assert torch.equal(gradient(saddle(), (0.0, 0.0)), torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(torch.linalg.eigvalsh(hessian(saddle(), (0.0, 0.0))), torch.tensor([-1.0, 2.0], dtype=torch.float64))


def test_grid_covers_the_window():
    x, y, z = rosenbrock().grid(resolution=50)
    assert x.shape == y.shape == z.shape == (50, 50)
    assert (x.min().item(), x.max().item(), y.min().item(), y.max().item()) == (-2.0, 2.0, -1.0, 3.0)
    assert z[10, 20].item() == pytest.approx(rosenbrock()(torch.stack([x[10, 20], y[10, 20]])).item())


def test_trajectory_matches_gradient_descent_by_hand():
    surface, lr = quadratic(10), 0.05
    path = trajectory(surface, lambda p: torch.optim.SGD(p, lr=lr), (2.0, 1.0), steps=30)
    k = torch.arange(31, dtype=torch.float64)
    # On f = (x^2 + kappa y^2) / 2 each coordinate shrinks by (1 - lr * curvature) per step.
    expected = torch.stack([2.0 * (1 - lr) ** k, 1.0 * (1 - 10 * lr) ** k], dim=1)
    assert path.shape == (31, 2) and path.dtype == torch.float64
    assert torch.allclose(path, expected, atol=1e-12)


def test_gradient_descent_diverges_above_two_over_kappa():
    surface = quadratic(10)
    stable = trajectory(surface, lambda p: optim.SGD(p, lr=0.19), (1.0, 1.0), 200)
    unstable = trajectory(surface, lambda p: optim.SGD(p, lr=0.21), (1.0, 1.0), 200)
    assert stable[-1].norm() < 1e-3
    assert unstable[-1].norm() > 1e3


def test_momentum_beats_gradient_descent_on_an_ill_conditioned_quadratic():
    """Both at their optimal settings for kappa = 100: gradient descent contracts by
    (kappa - 1) / (kappa + 1) = 0.98 per step, heavy ball by (sqrt(kappa) - 1) / (sqrt(kappa) + 1) = 0.82."""
    kappa, surface = 100.0, quadratic(100)
    gd = trajectory(surface, lambda p: optim.SGD(p, lr=2 / (1 + kappa)), (2.0, 1.0), 100)
    root = kappa**0.5
    lr, momentum = 4 / (root + 1) ** 2, ((root - 1) / (root + 1)) ** 2
    heavy_ball = trajectory(surface, lambda p: optim.HeavyBall(p, lr=lr, momentum=momentum), (2.0, 1.0), 100)
    assert gd[-1].norm() > 0.1
    assert heavy_ball[-1].norm() < 1e-6


def test_plot_paths_draws_every_path_and_the_minima():
    surface = saddle()
    paths = {name: trajectory(surface, factory, (1.0, 0.01), 20) for name, factory in {
        "GD": lambda p: optim.SGD(p, lr=0.1),
        "Adam": lambda p: optim.Adam(p, lr=0.1),
    }.items()}
    fig, ax = plt.subplots()
    assert plot_paths(surface, paths, ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["GD", "Adam"] and len(ax.get_lines()) == 2 + len(surface.minima)
    assert ax.get_title() == "saddle"
    plt.close(fig)
