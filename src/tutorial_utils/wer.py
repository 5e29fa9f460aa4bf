"""Edit distance with its alignment, word error rate (WER) and character error rate (CER).

WER counts the substitutions ``S``, deletions ``D`` and insertions ``I`` of the cheapest alignment
of a hypothesis to its reference, over the number ``N`` of reference words:
``WER = (S + D + I) / N``, summed over a corpus before dividing (as ``jiwer`` does).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Alignment:
    """The result of aligning ``hypothesis`` to ``reference``.

    ``ops``: one ``(op, reference_item, hypothesis_item)`` per step, ``op`` in ``"="`` (hit),
    ``"S"`` (substitution), ``"D"`` (deletion: missing from the hypothesis) and ``"I"``
    (insertion: extra in the hypothesis); the missing side is ``None``.
    """

    hits: int
    substitutions: int
    deletions: int
    insertions: int
    ops: tuple[tuple[str, Hashable | None, Hashable | None], ...]

    @property
    def errors(self) -> int:
        """The edit distance ``S + D + I``."""
        return self.substitutions + self.deletions + self.insertions


def align(reference: Sequence[Hashable], hypothesis: Sequence[Hashable]) -> Alignment:
    """Levenshtein alignment by dynamic programming over the ``(len(ref)+1, len(hyp)+1)`` table.

    ``cost[i][j]`` is the edit distance of ``reference[:i]`` and ``hypothesis[:j]``::

        cost[i][j] = min(cost[i-1][j-1] + (ref[i-1] != hyp[j-1]), cost[i-1][j] + 1, cost[i][j-1] + 1)

    The back-trace prefers a hit or substitution, then a deletion, then an insertion.
    """
    rows, cols = len(reference) + 1, len(hypothesis) + 1
    cost = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        cost[i][0] = i
    for j in range(cols):
        cost[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            diagonal = cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1])
            cost[i][j] = min(diagonal, cost[i - 1][j] + 1, cost[i][j - 1] + 1)

    ops = []
    i, j = rows - 1, cols - 1
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            same = reference[i - 1] == hypothesis[j - 1]
            ops.append(("=" if same else "S", reference[i - 1], hypothesis[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("D", reference[i - 1], None))
            i -= 1
        else:
            ops.append(("I", None, hypothesis[j - 1]))
            j -= 1
    ops.reverse()
    count = {op: sum(o[0] == op for o in ops) for op in "=SDI"}
    return Alignment(count["="], count["S"], count["D"], count["I"], tuple(ops))


def edit_distance(reference: Sequence[Hashable], hypothesis: Sequence[Hashable]) -> int:
    """The Levenshtein distance: fewest substitutions, deletions and insertions."""
    return align(reference, hypothesis).errors


def _as_list(texts: str | Sequence[str]) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


def error_rate(references: Sequence[Sequence[Hashable]], hypotheses: Sequence[Sequence[Hashable]]) -> float:
    """Corpus error rate of token sequences: total edit distance over total reference length."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("the references are empty; an error rate needs at least one reference token")
    return sum(edit_distance(r, h) for r, h in zip(references, hypotheses)) / total


def wer(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> float:
    """Word error rate of one or more transcripts (words split on whitespace)."""
    refs, hyps = _as_list(references), _as_list(hypotheses)
    return error_rate([r.split() for r in refs], [h.split() for h in hyps])


def cer(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> float:
    """Character error rate of one or more transcripts (every character, inner spaces included;
    leading and trailing whitespace stripped, as jiwer does)."""
    refs, hyps = _as_list(references), _as_list(hypotheses)
    return error_rate([list(r.strip()) for r in refs], [list(h.strip()) for h in hyps])
