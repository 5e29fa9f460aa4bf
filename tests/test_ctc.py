"""CTC from scratch against torch.nn.functional.ctc_loss (value and gradient, float64)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from tutorial_utils import ctc

# Value tolerance (float64): the two implementations sum the same paths in a different order.
TOL = dict(rtol=1e-10, atol=1e-10)


def batch_case(seed: int = 0):
    """Four utterances: plain, repeats barely fitting (T = L + repeats), all repeats, one label."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(12, 4, 6, dtype=torch.float64, generator=generator)
    targets = torch.tensor([[1, 1, 2, 0], [3, 3, 3, 3], [1, 2, 3, 4], [5, 0, 0, 0]])
    input_lengths = torch.tensor([12, 7, 10, 3])
    target_lengths = torch.tensor([3, 4, 4, 1])
    return logits, targets, input_lengths, target_lengths


def test_collapse_merges_repeats_then_drops_blanks():
    assert ctc.collapse([1, 1, 0, 2, 2, 0, 2]) == [1, 2, 2]
    assert ctc.collapse([0, 0, 0]) == []
    assert ctc.collapse([3, 0, 3, 3, 0]) == [3, 3]
    assert ctc.collapse([2, 2, 5, 5], blank=5) == [2]


def test_min_frames_counts_a_blank_between_repeats():
    assert ctc.min_frames([1, 2, 3]) == 3
    assert ctc.min_frames([3, 3, 3, 3]) == 7
    assert ctc.min_frames([1, 1, 2]) == 4
    assert ctc.min_frames([]) == 0


def test_with_blanks_interleaves():
    assert ctc.with_blanks(torch.tensor([4, 7])).tolist() == [0, 4, 0, 7, 0]


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_loss_equals_torch(reduction):
    logits, targets, input_lengths, target_lengths = batch_case()
    log_probs = logits.log_softmax(-1)
    ours = ctc.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction=reduction)
    ref = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction=reduction)
    torch.testing.assert_close(ours, ref, **TOL)


def test_loss_is_minus_log_of_the_sum_over_all_paths():
    """Brute force: enumerate every path of 5 frames over 3 symbols and keep those collapsing to [1, 1]."""
    log_probs = torch.randn(5, 1, 3, dtype=torch.float64).log_softmax(-1)
    total = sum(
        math.exp(sum(log_probs[t, 0, s].item() for t, s in enumerate(path)))
        for path in itertools.product(range(3), repeat=5)
        if ctc.collapse(path) == [1, 1]
    )
    loss = ctc.ctc_loss(log_probs, torch.tensor([[1, 1]]), [5], [2], reduction="none")
    assert loss.item() == pytest.approx(-math.log(total), rel=1e-12)


def test_gradient_through_log_softmax_equals_torch():
    logits, targets, input_lengths, target_lengths = batch_case(1)
    logits.requires_grad_()
    ours = torch.autograd.grad(ctc.ctc_loss(logits.log_softmax(-1), targets, input_lengths, target_lengths), logits)
    ref = torch.autograd.grad(F.ctc_loss(logits.log_softmax(-1), targets, input_lengths, target_lengths), logits)
    torch.testing.assert_close(ours[0], ref[0], rtol=1e-9, atol=1e-12)


def test_gradcheck_float64():
    """Our gradient is the true derivative, with respect to the logits and to the log-probabilities
    themselves (PyTorch's own CTC backward is only right after a log_softmax)."""
    logits, targets, input_lengths, target_lengths = batch_case(2)
    logits = logits[:8, :2].clone().requires_grad_()
    args = (targets[:2], input_lengths[:2].clamp(max=8), target_lengths[:2])
    assert torch.autograd.gradcheck(lambda x: ctc.ctc_loss(x.log_softmax(-1), *args), (logits,))
    log_probs = logits.detach().log_softmax(-1).requires_grad_()
    assert torch.autograd.gradcheck(lambda lp: ctc.ctc_loss(lp, *args, reduction="sum"), (log_probs,))


def test_too_short_input_is_infinite_like_torch():
    logits, targets, _, target_lengths = batch_case()
    log_probs = logits.log_softmax(-1).requires_grad_()
    short = torch.tensor([12, 6, 10, 3])  # [3, 3, 3, 3] needs 7 frames
    ours = ctc.ctc_loss(log_probs, targets, short, target_lengths, reduction="none")
    ref = F.ctc_loss(log_probs, targets, short, target_lengths, reduction="none", zero_infinity=False)
    assert math.isinf(ours[1].item()) and math.isinf(ref[1].item())
    torch.testing.assert_close(ours[[0, 2, 3]], ref[[0, 2, 3]], **TOL)
    (grad,) = torch.autograd.grad(ours[[0, 2, 3]].sum(), log_probs)
    assert torch.isfinite(grad).all()


def test_empty_target_is_all_blanks():
    log_probs = torch.randn(4, 1, 3, dtype=torch.float64).log_softmax(-1)
    ours = ctc.ctc_loss(log_probs, torch.zeros(1, 1, dtype=torch.long), [4], [0], reduction="none")
    assert ours.item() == pytest.approx(-log_probs[:, 0, 0].sum().item())


def test_alpha_of_the_first_frame():
    log_probs = torch.randn(3, 1, 4, dtype=torch.float64).log_softmax(-1)
    alpha = ctc.ctc_alpha(log_probs, torch.tensor([[2, 3]]), torch.tensor([2]))
    assert alpha.shape == (3, 1, 5)
    torch.testing.assert_close(alpha[0, 0, :2], log_probs[0, 0, [0, 2]])
    assert torch.isinf(alpha[0, 0, 2:]).all()


def test_bad_reduction_is_refused():
    logits, targets, input_lengths, target_lengths = batch_case()
    with pytest.raises(ValueError, match="reduction"):
        ctc.ctc_loss(logits.log_softmax(-1), targets, input_lengths, target_lengths, reduction="avg")


def test_state_posteriors_form_the_lattice():
    log_probs = torch.randn(9, 5, dtype=torch.float64).log_softmax(-1)
    labels = [2, 2, 4]
    lattice = ctc.state_posteriors(log_probs, labels)
    assert lattice.shape == (9, 7)
    torch.testing.assert_close(lattice.sum(1), torch.ones(9, dtype=torch.float64))
    assert lattice[0, 2:].abs().max() == 0 and lattice[-1, :-2].abs().max() == 0  # start and end states
    # Summed per symbol, the lattice is the derivative of log p(labels | x) by the log-probabilities.
    lp = log_probs.clone().requires_grad_()
    loss = ctc.ctc_loss(lp.unsqueeze(1), torch.tensor([labels]), [9], [3], reduction="sum")
    (grad,) = torch.autograd.grad(-loss, lp)
    per_symbol = torch.zeros_like(log_probs).index_add_(1, ctc.with_blanks(torch.tensor(labels)), lattice)
    torch.testing.assert_close(per_symbol, grad)
