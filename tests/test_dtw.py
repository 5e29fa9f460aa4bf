"""Dynamic time warping from scratch (tutorial_utils.dtw) against librosa's."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from tutorial_utils.dtw import accumulated_cost, dtw_distance, warping_path


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 1), (7, 9), (12, 4)])
def test_accumulated_cost_and_path_equal_librosa(shape):
    cost = torch.rand(*shape, generator=torch.Generator().manual_seed(sum(shape)), dtype=torch.float64)
    total = accumulated_cost(cost)
    theirs, path = librosa.sequence.dtw(C=cost.numpy())
    np.testing.assert_allclose(total.numpy(), theirs)
    assert warping_path(total) == [tuple(int(v) for v in step) for step in path[::-1]]


def test_a_batch_of_padded_pairs_gives_each_pairs_distance():
    generator = torch.Generator().manual_seed(0)
    pairs = [(torch.randn(n, 3, generator=generator), torch.randn(m, 3, generator=generator)) for n, m in [(4, 7), (9, 2), (6, 6)]]
    padded = torch.zeros(3, 9, 7)
    for k, (x, y) in enumerate(pairs):
        padded[k, : len(x), : len(y)] = torch.cdist(x, y)
    total = accumulated_cost(padded)
    for k, (x, y) in enumerate(pairs):
        torch.testing.assert_close(total[k, len(x) - 1, len(y) - 1] / (len(x) + len(y)), dtw_distance(x, y))


def test_a_sequence_is_at_distance_zero_from_itself_slowed_down():
    x = torch.randn(5, 4)
    slow = x.repeat_interleave(3, dim=0)  # every frame held three times as long
    assert dtw_distance(x, slow) == 0
    assert dtw_distance(x, slow.flip(0)) > 0
    path = warping_path(accumulated_cost(torch.cdist(x, slow)))
    assert path[0] == (0, 0) and path[-1] == (4, 14) and all(slow_j // 3 == i for i, slow_j in path)
