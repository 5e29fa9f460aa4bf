"""Softmax, log-softmax and cross-entropy from scratch equal PyTorch's, also for huge logits.

Tolerances: float64 ``atol=1e-10, rtol=1e-8``; float32 ``atol=1e-5, rtol=1e-5``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from tutorial_utils import losses

TIGHT = dict(atol=1e-10, rtol=1e-8)
FLOAT32 = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_equals_pytorch(dim):
    logits = 3 * torch.randn(4, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(losses.logsumexp(logits, dim), torch.logsumexp(logits, dim), **TIGHT)
    torch.testing.assert_close(losses.log_softmax(logits, dim), F.log_softmax(logits, dim), **TIGHT)
    torch.testing.assert_close(losses.softmax(logits, dim), F.softmax(logits, dim), **TIGHT)


def test_huge_logits_stay_finite_where_the_naive_formula_overflows():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]])
    naive = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
    assert torch.isnan(naive).any(), "the naive softmax should overflow here (inf / inf)"
    torch.testing.assert_close(losses.softmax(logits), F.softmax(logits, 1), **FLOAT32)
    torch.testing.assert_close(losses.log_softmax(logits), F.log_softmax(logits, 1), **FLOAT32)
    targets = torch.tensor([2, 2])
    torch.testing.assert_close(losses.cross_entropy(logits, targets), F.cross_entropy(logits, targets), **FLOAT32)


def test_logsumexp_of_a_row_of_minus_infinity_is_minus_infinity():
    logits = torch.tensor([[-float("inf")] * 3, [0.0, -float("inf"), 1.0]])
    torch.testing.assert_close(losses.logsumexp(logits), torch.logsumexp(logits, 1))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_equals_pytorch_forward_and_backward(label_smoothing, reduction):
    logits = (5 * torch.randn(8, 10, dtype=torch.float64)).requires_grad_(True)
    targets = torch.randint(0, 10, (8,))
    ours = losses.cross_entropy(logits, targets, label_smoothing, reduction)
    theirs = F.cross_entropy(logits, targets, label_smoothing=label_smoothing, reduction=reduction)
    torch.testing.assert_close(ours, theirs, **TIGHT)
    upstream = torch.randn_like(theirs)
    (ours_grad,) = torch.autograd.grad(ours, logits, upstream)
    (theirs_grad,) = torch.autograd.grad(theirs, logits, upstream)
    torch.testing.assert_close(ours_grad, theirs_grad, **TIGHT)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([0, 3, 1])
    losses.cross_entropy(logits, targets, reduction="sum").backward()
    torch.testing.assert_close(logits.grad, F.softmax(logits, 1) - F.one_hot(targets, 4), **TIGHT)


def test_cross_entropy_gradcheck():
    logits = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([4, 0, 2])
    assert gradcheck(lambda z: losses.cross_entropy(z, targets, label_smoothing=0.1), (logits,))
    assert gradcheck(lambda z: losses.softmax(z), (logits,))


def test_cross_entropy_rejects_bad_arguments():
    logits, targets = torch.randn(2, 3), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="targets"):
        losses.cross_entropy(logits, targets[:1])
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.cross_entropy(logits, targets, label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        losses.cross_entropy(logits, targets, reduction="max")
