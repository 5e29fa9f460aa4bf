"""Dynamic time warping: how far apart two feature sequences are once each is stretched in time to
fit the other, the distance of template-matching recognisers (Sakoe & Chiba 1978).

Given the cost ``C[i, j]`` of pairing frame ``i`` of one sequence with frame ``j`` of the other, the
cheapest *warping path* from ``(0, 0)`` to ``(n - 1, m - 1)``, moving one step down, right or
diagonally at a time, has the total cost ``D[n - 1, m - 1]`` of the recursion

``D[i, j] = C[i, j] + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])``.
"""

from __future__ import annotations

import torch

__all__ = ["accumulated_cost", "warping_path", "dtw_distance"]


def accumulated_cost(cost: torch.Tensor) -> torch.Tensor:
    """``D`` of the recursion for a cost matrix ``(..., n, m)``, for a whole batch of pairs at once.

    ``D[..., i, j]`` depends only on cells above and to the left, so the pairs of a batch may be
    padded to a common ``(n, m)``: each pair's distance is ``D`` at its own last frames.
    """
    n, m = cost.shape[-2:]
    total = torch.full_like(cost, float("inf"))
    for i in range(n):
        for j in range(m):
            if i == 0 and j == 0:
                total[..., 0, 0] = cost[..., 0, 0]
                continue
            previous = [total[..., i - 1, j - 1]] if i and j else []
            previous += [total[..., i - 1, j]] if i else []
            previous += [total[..., i, j - 1]] if j else []
            total[..., i, j] = cost[..., i, j] + torch.stack(previous).amin(dim=0)
    return total


def warping_path(total: torch.Tensor) -> list[tuple[int, int]]:
    """The cheapest path through one ``D`` ``(n, m)``, from ``(0, 0)`` to ``(n - 1, m - 1)``, traced
    back from the end (preferring the diagonal on ties)."""
    i, j = total.shape[0] - 1, total.shape[1] - 1
    path = [(i, j)]
    while (i, j) != (0, 0):
        steps = [(i - 1, j - 1), (i - 1, j), (i, j - 1)]
        i, j = min((s for s in steps if s[0] >= 0 and s[1] >= 0), key=lambda s: total[s].item())
        path.append((i, j))
    return path[::-1]


def dtw_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The DTW distance of feature sequences ``x`` ``(n, dim)`` and ``y`` ``(m, dim)`` (frames as rows),
    with the Euclidean distance between frames as cost, divided by ``n + m`` so that long and short
    pairs compare."""
    return accumulated_cost(torch.cdist(x, y))[-1, -1] / (len(x) + len(y))
