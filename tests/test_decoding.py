"""CTC decoding: greedy, prefix beam search (brute force, LM hooks) and a library decoder."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import pytest
import torch

from tutorial_utils import ctc


def peaky_log_probs(labels: list[int], classes: int, frames_per_label: int = 3, noise: float = 0.5, seed: int = 0):
    """Posteriors like a trained CTC model's: a spike per label among blanks, plus noise."""
    generator = torch.Generator().manual_seed(seed)
    path = []
    for label in labels:
        path += [0] * (frames_per_label - 1) + [label]
    path += [0] * frames_per_label
    logits = torch.randn(len(path), classes, generator=generator, dtype=torch.float64) * noise
    logits[torch.arange(len(path)), path] += 4.0
    return logits.log_softmax(-1)


def best_by_enumeration(log_probs: torch.Tensor) -> tuple[tuple[int, ...], float]:
    """The label sequence with the largest total probability, summing every path (tiny inputs only)."""
    totals: dict[tuple[int, ...], float] = defaultdict(float)
    frames, classes = log_probs.shape
    for path in itertools.product(range(classes), repeat=frames):
        totals[tuple(ctc.collapse(path))] += math.exp(sum(log_probs[t, s].item() for t, s in enumerate(path)))
    labels = max(totals, key=totals.get)
    return labels, math.log(totals[labels])


def test_greedy_takes_the_best_path_and_collapses():
    log_probs = torch.full((6, 3), -5.0)
    log_probs[torch.arange(6), torch.tensor([1, 1, 0, 1, 2, 2])] = 0.0
    assert ctc.greedy_decode(log_probs) == [1, 1, 2]
    batch = torch.stack([log_probs, log_probs.flip(0)])
    assert ctc.greedy_decode(batch, lengths=torch.tensor([6, 2])) == [[1, 1, 2], [2]]


def test_beam_search_finds_the_most_probable_labelling():
    """On random (not peaky) posteriors the best path is not the best labelling; the beam finds the latter."""
    generator = torch.Generator().manual_seed(3)
    found_something_greedy_misses = False
    for _ in range(6):
        log_probs = torch.randn(5, 3, generator=generator, dtype=torch.float64).log_softmax(-1)
        labels, log_total = best_by_enumeration(log_probs)
        best = ctc.prefix_beam_search(log_probs, beam_width=50)[0]
        assert best.labels == labels
        assert best.acoustic == pytest.approx(log_total, rel=1e-9)
        found_something_greedy_misses |= list(labels) != ctc.greedy_decode(log_probs)
    assert found_something_greedy_misses


def test_beam_score_is_minus_ctc_loss():
    """With a wide beam, nearly every path of the labelling survives; the beam's sum is a lower bound."""
    log_probs = peaky_log_probs([1, 1, 2], classes=4, noise=2.0)
    best = ctc.prefix_beam_search(log_probs, beam_width=64)[0]
    labels = torch.tensor([list(best.labels)])
    loss = ctc.ctc_loss(log_probs.unsqueeze(1), labels, [len(log_probs)], [labels.shape[1]], reduction="none")
    assert best.acoustic <= -loss.item() + 1e-12
    assert best.acoustic == pytest.approx(-loss.item(), rel=1e-6)


def test_beam_width_one_and_batches():
    log_probs = peaky_log_probs([3, 1, 4, 1, 5], classes=7)
    assert ctc.beam_decode(log_probs, beam_width=1) == [3, 1, 4, 1, 5]
    second = peaky_log_probs([2, 2], 7, seed=1, frames_per_label=4)  # 12 frames, padded to 18
    batch = torch.stack([log_probs, torch.cat([second, log_probs[:6]])])
    assert ctc.beam_decode(batch, torch.tensor([18, 12]), beam_width=4) == [[3, 1, 4, 1, 5], [2, 2]]
    with pytest.raises(ValueError, match="one utterance"):
        ctc.prefix_beam_search(batch)


def test_lexicon_forbids_non_words():
    """Characters a=1, b=2, c=3, separator 4; the acoustics say 'ab c' but the only words are 'ac' and 'c'."""
    log_probs = peaky_log_probs([1, 2, 4, 3], classes=5, noise=0.5)
    assert ctc.greedy_decode(log_probs) == [1, 2, 4, 3]
    lexicon = ctc.lexicon_lm([[1, 3], [3]], separator=4)
    best = ctc.prefix_beam_search(log_probs, beam_width=16, lm=lexicon)[0]
    words = [tuple(w) for w in "".join(map(str, best.labels)).split("4")]
    assert all(w in {("1", "3"), ("3",)} for w in words)
    assert lexicon((1,), None) == -math.inf and lexicon((1, 3), None) == 0.0


def test_bigram_lm_breaks_acoustic_ties():
    """Two labels equally likely at the second spike; a bigram trained on '1 2' picks 2."""
    log_probs = peaky_log_probs([1, 2], classes=4, noise=0.0)
    log_probs[5] = torch.tensor([-8.0, -8.0, math.log(0.5), math.log(0.5)]).log_softmax(-1)
    lm = ctc.bigram_lm([[1, 2]] * 20 + [[1, 3]], classes=4)
    assert ctc.prefix_beam_search(log_probs, lm=lm)[0].labels == (1, 2)
    assert lm((1,), 2) > lm((1,), 3) and lm((), None) == 0.0


def test_agrees_with_torchaudio_flashlight_decoder():
    """Same transcripts as flashlight's lexicon-free beam search (log_add sums merged paths, as we do);
    its scores are a little lower (it merges fewer alignments), so only a loose bound on them."""
    decoder_module = pytest.importorskip("torchaudio.models.decoder")
    pytest.importorskip("flashlight.lib.text")
    tokens = ["-", "|"] + [str(d) for d in range(10)]
    decoder = decoder_module.ctc_decoder(
        lexicon=None, tokens=tokens, lm=None, beam_size=16, blank_token="-", sil_token="|", log_add=True
    )
    generator = torch.Generator().manual_seed(0)
    for seed in range(20):
        labels = (torch.randint(2, 12, (5,), generator=generator)).tolist()
        log_probs = peaky_log_probs(labels, classes=12, noise=0.8, seed=seed).float()
        log_probs[:, 1] = -1e4  # the separator never sounds in digit strings
        theirs = decoder(log_probs.unsqueeze(0))[0][0]
        ours = ctc.prefix_beam_search(log_probs, beam_width=16)[0]
        assert list(ours.labels) == [t for t in theirs.tokens.tolist() if t != 1]
        assert abs(ours.acoustic - theirs.score) < 0.5
