"""The chapter's CTC exercise checkers accept the solutions (as chapter 9 shows them) and reject
typical mistakes."""

from __future__ import annotations

import torch

from notebook_solutions import solution
from tutorial_utils.book import checks


# The solutions shown in chapter 9's dropdowns, read from the notebook (tests/notebook_solutions.py).
greedy_solution = solution(9, "ex-ch9-greedy", "my_greedy_decode")
ctc_solution = solution(9, "ex-ch9-underflow", "my_ctc_loss")


def greedy_blanks_first(log_probs):  # the classic bug: "3 - 3" becomes "3"
    kept = [s for s in log_probs.argmax(dim=-1).tolist() if s != 0]
    return [s for i, s in enumerate(kept) if i == 0 or s != kept[i - 1]]


def ctc_variant(log_probs, labels, blank=0, skip_repeats=False):
    """The forward recursion in plain probabilities, with a common mistake that ``skip_repeats``
    switches on: skipping the blank between two equal labels."""
    probs = log_probs.exp()
    z = [blank] + [s for label in labels for s in (label, blank)]
    alpha = torch.zeros(len(z), dtype=probs.dtype)
    alpha[0] = probs[0, z[0]]
    if len(z) > 1:
        alpha[1] = probs[0, z[1]]
    for t in range(1, len(probs)):
        new = torch.zeros_like(alpha)
        for s in range(len(z)):
            total = alpha[s] + (alpha[s - 1] if s >= 1 else 0)
            if s >= 2 and z[s] != blank and (skip_repeats or z[s] != z[s - 2]):
                total = total + alpha[s - 2]
            new[s] = total * probs[t, z[s]]
        alpha = new
    p = alpha[-1] + (alpha[-2] if labels else 0)
    return -torch.log(p)


def not_implemented(*args):
    raise NotImplementedError


def test_greedy_checker(capsys):
    assert checks.check_ctc_greedy_decoder(greedy_solution)
    assert not checks.check_ctc_greedy_decoder(greedy_blanks_first)
    assert "Merge repeats first" in capsys.readouterr().out
    assert not checks.check_ctc_greedy_decoder(lambda lp: lp.argmax(-1).tolist())
    assert not checks.check_ctc_greedy_decoder(not_implemented)
    assert "not implemented yet" in capsys.readouterr().out


def test_ctc_loss_checker(capsys):
    assert checks.check_ctc_loss(ctc_solution)
    assert checks.check_ctc_loss(ctc_variant)  # without the mistake
    assert not checks.check_ctc_loss(lambda lp, labels: ctc_variant(lp, labels, skip_repeats=True))
    assert "blank" in capsys.readouterr().out
    assert not checks.check_ctc_loss(lambda lp, labels: -ctc_solution(lp, labels))
    assert not checks.check_ctc_loss(lambda lp, labels: None)
    assert not checks.check_ctc_loss(not_implemented)
    assert "not implemented yet" in capsys.readouterr().out
