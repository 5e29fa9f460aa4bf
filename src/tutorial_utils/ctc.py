"""Connectionist temporal classification (CTC) from scratch: loss, greedy and prefix beam decoding.

CTC (Graves et al., 2006) lets a network emit one distribution over ``classes`` symbols per frame
(the real symbols plus a *blank*) and scores a label sequence by summing over every frame-level
path that *collapses* to it: merge repeated symbols, then drop blanks
(``a a _ b b _ b`` -> ``a b b``). The sum is computed with the forward (alpha) recursion over the
label sequence with blanks around and between its symbols.

Layouts: :func:`ctc_loss` takes ``(frames, batch, classes)`` like ``torch.nn.functional.ctc_loss``;
the decoders take one utterance ``(frames, classes)`` or a batch ``(batch, frames, classes)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

BLANK = 0

#: ``lm(prefix, token) -> log-probability`` of ``token`` following the label ids in ``prefix``
#: (``token=None``: the utterance ends after ``prefix``); ``-math.inf`` forbids it (a lexicon does).
LanguageModel = Callable[[tuple[int, ...], int | None], float]


def collapse(path: Sequence[int], blank: int = BLANK) -> list[int]:
    """The label sequence a frame-level path stands for: merge repeats, then remove blanks."""
    labels, previous = [], None
    for symbol in path:
        if symbol != previous and symbol != blank:
            labels.append(symbol)
        previous = symbol
    return labels


def min_frames(labels: Sequence[int]) -> int:
    """The fewest frames that can carry ``labels``: one per label plus a blank between each repeat."""
    repeats = sum(a == b for a, b in zip(labels[:-1], labels[1:]))
    return len(labels) + repeats


def with_blanks(labels: torch.Tensor, blank: int = BLANK) -> torch.Tensor:
    """Interleave blanks: ``(..., length)`` -> ``(..., 2 * length + 1)``, e.g. ``a b`` -> ``_ a _ b _``."""
    extended = labels.new_full((*labels.shape[:-1], 2 * labels.shape[-1] + 1), blank)
    extended[..., 1::2] = labels
    return extended


def _logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``torch.logsumexp`` whose gradient stays finite (zero) where every input is ``-inf``."""
    peak = x.detach().amax(dim)
    finite = torch.isfinite(peak)
    peak = torch.where(finite, peak, torch.zeros_like(peak))
    total = (x - peak.unsqueeze(dim)).exp().sum(dim)
    total = torch.where(finite, total, torch.ones_like(total))
    return torch.where(finite, peak + total.log(), torch.full_like(total, -math.inf))


def ctc_alpha(
    log_probs: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor, blank: int = BLANK
) -> torch.Tensor:
    """Forward variables of CTC in log space.

    ``log_probs``: ``(frames, batch, classes)`` log-softmax outputs; ``targets``: ``(batch, labels)``
    padded label ids. Returns ``alpha`` of shape ``(frames, batch, 2 * labels + 1)``:
    ``alpha[t, n, s]`` is the log-probability of all paths over frames ``0..t`` that end in state ``s``
    of the blank-extended label sequence. Recursion (``y`` = extended sequence)::

        alpha[t, s] = logsumexp(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2] if y[s] != blank
                                and y[s] != y[s-2]) + log_probs[t, y[s]]
    """
    frames, batch, _ = log_probs.shape
    extended = with_blanks(targets.long(), blank)  # (batch, states)
    states = extended.shape[1]
    emissions = log_probs.gather(2, extended.unsqueeze(0).expand(frames, -1, -1))  # (T, N, S)
    state = torch.arange(states, device=log_probs.device)
    valid = state.unsqueeze(0) < (2 * target_lengths.unsqueeze(1) + 1)  # (N, S)
    may_skip = (extended != blank) & (state >= 2)
    may_skip[:, 2:] &= extended[:, 2:] != extended[:, :-2]
    neg_inf = torch.tensor(-math.inf, dtype=log_probs.dtype, device=log_probs.device)

    start = torch.where(state <= 1, emissions[0], neg_inf)
    alphas = [torch.where(valid, start, neg_inf)]
    for t in range(1, frames):
        prev = alphas[-1]
        stay = prev
        step = torch.cat([neg_inf.expand(batch, 1), prev[:, :-1]], dim=1)
        skip = torch.cat([neg_inf.expand(batch, 2), prev[:, :-2]], dim=1)
        skip = torch.where(may_skip, skip, neg_inf)
        reached = _logsumexp(torch.stack([stay, step, skip]), dim=0) + emissions[t]
        alphas.append(torch.where(valid, reached, neg_inf))
    return torch.stack(alphas)


def ctc_loss(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = BLANK,
    reduction: str = "mean",
) -> torch.Tensor:
    """Negative log-likelihood of ``targets`` under CTC, like ``torch.nn.functional.ctc_loss``.

    ``log_probs``: ``(frames, batch, classes)``; ``targets``: ``(batch, labels)`` padded;
    ``input_lengths``, ``target_lengths``: ``(batch,)``. ``reduction``: ``"none"`` (per utterance),
    ``"sum"``, or ``"mean"`` (each loss divided by its target length, then averaged, as PyTorch does).
    An utterance too short for its labels (fewer frames than :func:`min_frames`) has loss ``inf``.
    """
    input_lengths = torch.as_tensor(input_lengths, device=log_probs.device).long()
    target_lengths = torch.as_tensor(target_lengths, device=log_probs.device).long()
    alpha = ctc_alpha(log_probs, targets, target_lengths, blank)  # (T, N, S)
    rows = torch.arange(alpha.shape[1], device=alpha.device)
    last = alpha[input_lengths - 1, rows]  # (N, S) at each utterance's own last frame
    end_blank = last[rows, 2 * target_lengths]
    end_label = last[rows, (2 * target_lengths - 1).clamp(min=0)]
    end_label = torch.where(target_lengths > 0, end_label, torch.full_like(end_label, -math.inf))
    losses = -_logsumexp(torch.stack([end_blank, end_label]), dim=0)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return (losses / target_lengths.clamp(min=1).to(losses.dtype)).mean()
    raise ValueError(f"reduction={reduction!r}; use 'none', 'sum' or 'mean'")


def state_posteriors(log_probs: torch.Tensor, labels: Sequence[int], blank: int = BLANK) -> torch.Tensor:
    """The alignment lattice of one utterance: ``P(state s at frame t | labels, x)``.

    ``log_probs``: ``(frames, classes)``; returns ``(frames, 2 * len(labels) + 1)``, rows summing to 1
    (states: blank, label 1, blank, label 2, ..., blank). Computed as
    ``alpha[t, s] + beta[t, s] - log_probs[t, y[s]] - log p(labels | x)``, with ``beta`` the alpha
    recursion run backwards (reversed frames and labels). Infeasible inputs give NaN.
    """
    frames = log_probs.shape[0]
    target = torch.tensor([list(labels)], dtype=torch.long)
    lengths = torch.tensor([len(labels)])
    alpha = ctc_alpha(log_probs.unsqueeze(1), target, lengths, blank)[:, 0]
    beta = ctc_alpha(log_probs.flip(0).unsqueeze(1), target.flip(1), lengths, blank)[:, 0].flip(0, 1)
    emission = log_probs[torch.arange(frames).unsqueeze(1), with_blanks(target, blank)]
    joint = alpha + beta - emission
    return (joint - _logsumexp(joint[0], dim=0)).exp()


def _as_batch(log_probs: torch.Tensor, lengths: torch.Tensor | None):
    single = log_probs.dim() == 2
    batch = log_probs.unsqueeze(0) if single else log_probs
    if lengths is None:
        lengths = torch.full((batch.shape[0],), batch.shape[1])
    return single, batch, torch.as_tensor(lengths).tolist()


def greedy_decode(
    log_probs: torch.Tensor, lengths: torch.Tensor | None = None, blank: int = BLANK
) -> list[int] | list[list[int]]:
    """Best path decoding: the most likely symbol per frame, collapsed.

    ``log_probs``: ``(frames, classes)`` -> one label list, or ``(batch, frames, classes)`` with
    optional ``lengths`` ``(batch,)`` -> a list of label lists.
    """
    single, batch, lengths = _as_batch(log_probs, lengths)
    best = batch.argmax(dim=-1).tolist()
    decoded = [collapse(path[:n], blank) for path, n in zip(best, lengths)]
    return decoded[0] if single else decoded


@dataclass(frozen=True)
class Hypothesis:
    """A beam search result: label ids, CTC log-probability, LM log-score and their weighted total."""

    labels: tuple[int, ...]
    acoustic: float
    lm: float
    score: float


def _add(a: float, b: float) -> float:
    """``log(exp(a) + exp(b))``."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    top = max(a, b)
    return top + math.log1p(math.exp(-abs(a - b)))


def prefix_beam_search(
    log_probs: torch.Tensor,
    beam_width: int = 8,
    blank: int = BLANK,
    lm: LanguageModel | None = None,
    lm_weight: float = 1.0,
    insertion_bonus: float = 0.0,
    prune: float | None = None,
) -> list[Hypothesis]:
    """CTC prefix beam search over one utterance ``(frames, classes)``; best hypothesis first.

    Each prefix keeps two log-probabilities: paths ending in a blank (``p_b``) and paths ending in
    its last label (``p_nb``); their sum is the total probability of the prefix, summed over all of
    its alignments -- unlike greedy decoding, which follows one path. A prefix ``l`` grows by ``c``:
    from ``p_b`` and ``p_nb`` if ``c`` differs from ``l``'s last label, only from ``p_b`` if it
    repeats it (a repeat needs a blank in between). ``lm(prefix, c)`` (optional) adds
    ``lm_weight * log P(c | prefix)`` and ``insertion_bonus`` per label; the beam keeps the
    ``beam_width`` prefixes with the best ``acoustic + lm_weight * lm + bonus * length``; at the
    end ``lm(prefix, None)`` scores stopping there. ``prune``:
    skip symbols whose frame log-probability is below it (speed only).
    """
    if log_probs.dim() != 2:
        raise ValueError(f"expected one utterance (frames, classes), got shape {tuple(log_probs.shape)}")
    table = log_probs.detach().double().cpu().tolist()
    neg = -math.inf
    # prefix -> [p_blank, p_label, lm log-score of the whole prefix]
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, neg, 0.0]}

    def total(prefix: tuple[int, ...], entry: list[float]) -> float:
        return _add(entry[0], entry[1]) + lm_weight * entry[2] + insertion_bonus * len(prefix)

    for frame in table:
        symbols = range(len(frame)) if prune is None else [c for c, p in enumerate(frame) if p >= prune]
        grown: dict[tuple[int, ...], list[float]] = {}

        def entry_for(prefix: tuple[int, ...], lm_score: float) -> list[float]:
            return grown.setdefault(prefix, [neg, neg, lm_score])

        for prefix, (p_b, p_nb, lm_score) in beams.items():
            here = _add(p_b, p_nb)
            for c in symbols:
                p = frame[c]
                if c == blank:
                    e = entry_for(prefix, lm_score)
                    e[0] = _add(e[0], here + p)
                    continue
                last = prefix[-1] if prefix else None
                if c == last:  # the same label again: stays (from p_nb) or a new label after a blank
                    e = entry_for(prefix, lm_score)
                    e[1] = _add(e[1], p_nb + p)
                    source = p_b
                else:
                    source = here
                extra = 0.0 if lm is None else lm(prefix, c)
                if extra == neg:
                    continue
                longer = prefix + (c,)
                e = entry_for(longer, lm_score + extra)
                e[1] = _add(e[1], source + p)
        ranked = sorted(grown.items(), key=lambda item: total(*item), reverse=True)
        beams = dict(ranked[:beam_width])

    finished = []
    for prefix, (p_b, p_nb, lm_score) in beams.items():
        lm_score += 0.0 if lm is None else lm(prefix, None)
        finished.append(Hypothesis(prefix, _add(p_b, p_nb), lm_score, total(prefix, [p_b, p_nb, lm_score])))
    return sorted(finished, key=lambda h: h.score, reverse=True)


def beam_decode(
    log_probs: torch.Tensor, lengths: torch.Tensor | None = None, **options
) -> list[int] | list[list[int]]:
    """The best label list of :func:`prefix_beam_search` for ``(frames, classes)`` or a batch
    ``(batch, frames, classes)`` with optional ``lengths``; ``options`` go to the search."""
    single, batch, lengths = _as_batch(log_probs, lengths)
    decoded = [list(prefix_beam_search(lp[:n], **options)[0].labels) for lp, n in zip(batch, lengths)]
    return decoded[0] if single else decoded


def bigram_lm(sequences: Sequence[Sequence[int]], classes: int, smoothing: float = 1.0) -> LanguageModel:
    """An add-``smoothing`` bigram language model over label ids estimated from ``sequences``.

    The start of a sequence is its own context; the end is not modelled (``lm(prefix, None) = 0``).
    Returns ``lm(prefix, token) -> log P(token | last label)``.
    """
    counts = torch.full((classes + 1, classes), float(smoothing), dtype=torch.float64)
    for seq in sequences:
        context = classes  # start symbol
        for token in seq:
            counts[context, token] += 1
            context = token
    log_p = (counts / counts.sum(dim=1, keepdim=True)).log().tolist()

    def lm(prefix: tuple[int, ...], token: int | None) -> float:
        return 0.0 if token is None else log_p[prefix[-1] if prefix else classes][token]

    return lm


def lexicon_lm(words: Sequence[Sequence[int]], separator: int) -> LanguageModel:
    """A lexicon as a language model: a prefix may only spell words of ``words`` (label-id lists)
    separated by ``separator``; any other extension, or ending inside a word, gets ``-inf``;
    allowed ones ``0``."""
    stems = {tuple(w[:i]) for w in words for i in range(len(w) + 1)}
    complete = {tuple(w) for w in words}

    def lm(prefix: tuple[int, ...], token: int | None) -> float:
        start = max((i + 1 for i, c in enumerate(prefix) if c == separator), default=0)
        word = prefix[start:]
        if token is None:
            return 0.0 if word in complete or not word else -math.inf
        if token == separator:
            return 0.0 if word in complete else -math.inf
        return 0.0 if word + (token,) in stems else -math.inf

    return lm
