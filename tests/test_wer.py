"""Edit distance, WER and CER from scratch against torchaudio and jiwer."""

from __future__ import annotations

import random

import jiwer
import pytest
import torchaudio.functional as AF

from tutorial_utils import wer

DIGITS = "zero one two three four five six seven eight nine".split()


def corrupted_pairs(count: int = 150, seed: int = 0) -> tuple[list[str], list[str]]:
    """Random digit strings and copies with random substitutions, deletions and insertions."""
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(count):
        ref = rng.choices(DIGITS, k=rng.randint(1, 7))
        hyp = []
        for word in ref:
            roll = rng.random()
            if roll < 0.1:
                continue
            hyp.append(rng.choice(DIGITS) if roll < 0.2 else word)
            if rng.random() < 0.1:
                hyp.append(rng.choice(DIGITS))
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    return refs, hyps


def test_edit_distance_equals_torchaudio():
    refs, hyps = corrupted_pairs()
    for ref, hyp in zip(refs, hyps):
        assert wer.edit_distance(ref.split(), hyp.split()) == AF.edit_distance(ref.split(), hyp.split())
        assert wer.edit_distance(ref, hyp) == AF.edit_distance(ref, hyp)  # characters


def test_alignment_counts_are_consistent():
    refs, hyps = corrupted_pairs(seed=1)
    for ref, hyp in zip(refs, hyps):
        a = wer.align(ref.split(), hyp.split())
        assert a.hits + a.substitutions + a.deletions == len(ref.split())
        assert a.hits + a.substitutions + a.insertions == len(hyp.split())
        assert [r for _, r, _ in a.ops if r is not None] == ref.split()
        assert [h for _, _, h in a.ops if h is not None] == hyp.split()


def test_alignment_of_a_known_pair():
    a = wer.align("4 7 1 1".split(), "4 2 1 1 9".split())
    assert (a.substitutions, a.deletions, a.insertions, a.errors) == (1, 0, 1, 2)
    a = wer.align("4 7 1".split(), "4 1".split())
    assert a.ops == (("=", "4", "4"), ("D", "7", None), ("=", "1", "1"))


def test_wer_and_cer_equal_jiwer():
    refs, hyps = corrupted_pairs(seed=2)
    assert wer.wer(refs, hyps) == pytest.approx(jiwer.wer(refs, hyps), abs=1e-12)
    assert wer.cer(refs, hyps) == pytest.approx(jiwer.cer(refs, hyps), abs=1e-12)
    errors = jiwer.process_words(refs, hyps)
    ours = [wer.align(r.split(), h.split()) for r, h in zip(refs, hyps)]
    assert sum(a.errors for a in ours) == errors.substitutions + errors.deletions + errors.insertions


def test_single_strings_and_extra_spaces_like_jiwer():
    assert wer.wer("four  seven one ", "four one") == pytest.approx(jiwer.wer("four  seven one ", "four one"))
    assert wer.cer(" ab c ", "abd") == pytest.approx(jiwer.cer(" ab c ", "abd"))
    assert wer.wer("one", "one two three") == 2.0  # insertions can push WER above 1


def test_errors_are_clear():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        wer.wer(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="empty"):
        wer.wer([""], ["a"])
