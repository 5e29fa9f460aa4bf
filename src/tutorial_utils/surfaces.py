"""Two-dimensional test functions for watching optimizers move, and the paths they take.

A :class:`Surface` maps points ``(..., 2)`` to values ``(...)`` and knows a window to draw and its
minima. :func:`trajectory` runs any ``torch.optim`` optimizer on one from a starting point;
:func:`plot_paths` draws contour lines with each path on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["Surface", "plot_paths", "quadratic", "rosenbrock", "saddle", "trajectory"]


@dataclass(frozen=True)
class Surface:
    """A differentiable function of two variables, with a plotting window and its minima."""

    name: str
    function: Callable[[torch.Tensor], torch.Tensor]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    minima: tuple[tuple[float, float], ...] = ()

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """Values ``(...)`` at ``points`` ``(..., 2)``."""
        return self.function(points)

    def grid(self, resolution: int = 200) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x, y, z``, each ``(resolution, resolution)``, over the window (for ``contour``)."""
        x, y = torch.meshgrid(
            torch.linspace(*self.x_range, resolution, dtype=torch.float64),
            torch.linspace(*self.y_range, resolution, dtype=torch.float64),
            indexing="xy",
        )
        return x, y, self(torch.stack([x, y], dim=-1))


def quadratic(condition_number: float = 10.0) -> Surface:
    """``f(x, y) = (x**2 + kappa * y**2) / 2``: Hessian ``diag(1, kappa)``, condition number
    ``kappa``, minimum at the origin. Gradient descent converges iff ``lr < 2 / kappa``."""
    if condition_number < 1:
        raise ValueError(f"the condition number is at least 1, got {condition_number}")
    kappa = float(condition_number)
    return Surface(
        f"quadratic, condition number {kappa:g}",
        lambda p: 0.5 * (p[..., 0] ** 2 + kappa * p[..., 1] ** 2),
        (-2.2, 2.2), (-1.2, 1.2), ((0.0, 0.0),),
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """Rosenbrock's banana ``f(x, y) = (a - x)**2 + b * (y - x**2)**2``: a curved, narrow valley
    with its minimum at ``(a, a**2)``."""
    return Surface(
        "Rosenbrock",
        lambda p: (a - p[..., 0]) ** 2 + b * (p[..., 1] - p[..., 0] ** 2) ** 2,
        (-2.0, 2.0), (-1.0, 3.0), ((a, a * a),),
    )


def saddle() -> Surface:
    """``f(x, y) = x**2 + y**4 / 4 - y**2 / 2``: a saddle point at the origin (curvature +2 along
    x, -1 along y) between two minima at ``(0, -1)`` and ``(0, 1)``."""
    return Surface(
        "saddle",
        lambda p: p[..., 0] ** 2 + p[..., 1] ** 4 / 4 - p[..., 1] ** 2 / 2,
        (-1.5, 1.5), (-1.6, 1.6), ((0.0, -1.0), (0.0, 1.0)),
    )


def trajectory(
    surface: Surface,
    optimizer_factory: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    start: Sequence[float],
    steps: int,
) -> torch.Tensor:
    """The points ``(steps + 1, 2)`` (float64) that ``optimizer_factory([point])`` visits from
    ``start``, e.g. ``trajectory(quadratic(), lambda p: torch.optim.SGD(p, lr=0.1), (2, 1), 50)``."""
    point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = optimizer_factory([point])
    path = [point.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        surface(point).backward()
        optimizer.step()
        path.append(point.detach().clone())
    return torch.stack(path)


def plot_paths(
    surface: Surface,
    paths: Mapping[str, torch.Tensor],
    ax: plt.Axes | None = None,
    levels: int = 25,
    title: str | None = None,
) -> plt.Axes:
    """Contour lines of ``surface`` (spaced by quantiles of its values, so both the steep walls and
    the flat floor show) with each named path ``(steps + 1, 2)`` drawn on top."""
    ax = ax or plt.gca()
    x, y, z = surface.grid()
    ax.contour(x, y, z, levels=np.unique(np.quantile(z.numpy(), np.linspace(0, 1, levels))), colors="0.75", linewidths=0.7)
    for name, path in paths.items():
        path = path.detach().numpy()
        ax.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1, label=name)
    for mx, my in surface.minima:
        ax.plot(mx, my, "k*", markersize=10)
    ax.set(xlim=surface.x_range, ylim=surface.y_range, xlabel="$x$", ylabel="$y$", title=title or surface.name)
    if paths:
        ax.legend(loc="best")
    return ax
