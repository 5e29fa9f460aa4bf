"""Few-shot recognition by the nearest class prototype (tutorial_utils.evaluation.few_shot), against
scikit-learn's NearestCentroid, and the spotter's embedding it uses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from tutorial_utils import config
from tutorial_utils.cli import enrol
from tutorial_utils.data import FsddRecording, list_fsdd, load_fsdd_tensors
from tutorial_utils.evaluation.few_shot import (
    centre_and_normalise,
    class_prototypes,
    embed_recordings,
    enrolment_accuracy,
    enrolment_sessions,
    nearest_prototype,
)
from tutorial_utils.front_end import FrontEnd, FrontEndConfig
from tutorial_utils.models import kws_model

try:
    HAS_FSDD = len(list_fsdd()) > 0
except Exception:
    HAS_FSDD = False


def test_nearest_prototype_equals_scikit_learn():
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 8, generator=generator) * 2
    labels = torch.tensor([3, 5, 7, 9]).repeat_interleave(5)
    support = centres.repeat_interleave(5, dim=0) + torch.randn(20, 8, generator=generator)
    queries = torch.randn(50, 8, generator=generator) * 2
    classes, prototypes = class_prototypes(support, labels)
    assert classes.tolist() == [3, 5, 7, 9] and prototypes.shape == (4, 8)
    torch.testing.assert_close(prototypes[1], support[5:10].mean(dim=0))
    reference = NearestCentroid().fit(support.numpy(), labels.numpy()).predict(queries.numpy())
    assert nearest_prototype(queries, classes, prototypes).tolist() == reference.tolist()


def test_one_example_per_class_is_its_own_prototype():
    support, labels = torch.eye(3), torch.tensor([0, 1, 2])
    classes, prototypes = class_prototypes(support, labels)
    assert nearest_prototype(support, classes, prototypes).tolist() == [0, 1, 2]


def test_the_spotters_embedding_is_what_its_classifier_sees():
    model = kws_model("res8-narrow", 10).eval()
    x = torch.randn(3, 40, 101)
    embedding = model.embed(x)
    assert embedding.shape == (3, model.output.in_features)
    torch.testing.assert_close(model.output(embedding), model(x))


def test_centre_and_normalise_equals_scikit_learn():
    generator = torch.Generator().manual_seed(1)
    support, queries = torch.rand(30, 6, generator=generator) + 2, torch.rand(10, 6, generator=generator)
    centre = support.mean(dim=0)
    reference = make_pipeline(StandardScaler(with_std=False), Normalizer()).fit(support.numpy())
    ours = centre_and_normalise(queries, centre)
    torch.testing.assert_close(ours, torch.from_numpy(reference.transform(queries.numpy())).float())
    torch.testing.assert_close(ours.norm(dim=1), torch.ones(10))


def test_centring_lets_the_direction_decide_not_the_length():
    # Class 0's prototype lies near the common centre, class 1's far from it: a clip in class 1's
    # direction but near the centre is nearer to class 0, until lengths no longer count.
    centre = torch.tensor([1.0, 1.0])
    support = torch.tensor([[2.0, 1.0], [1.0, 5.0]])  # one clip of class 0, one of class 1
    classes, prototypes = class_prototypes(support, torch.tensor([0, 1]))
    quiet = torch.tensor([[1.2, 1.8]])  # mostly class 1's direction from the centre, but close to it
    assert nearest_prototype(quiet, classes, prototypes).item() == 0
    normalised = centre_and_normalise(prototypes, centre)
    assert nearest_prototype(centre_and_normalise(quiet, centre), classes, normalised).item() == 1


def recordings(speakers, digits, takes):
    return [FsddRecording(Path(f"{d}_{s}_{t}.wav"), d, s, t) for s in speakers for d in digits for t in takes]


def test_enrolment_sessions_never_test_what_they_enrol_from():
    split = {"train": recordings(["ann", "bob"], range(10), range(10, 20)),
             "validation": recordings(["ann", "bob"], range(10), range(5, 10)),
             "test": recordings(["cy"], range(10), range(50))}
    sessions = enrolment_sessions(split, [3, 8])
    assert [len(sessions[k]) for k in ("pooled", "own", "held_out")] == [1, 2, 1]
    for pool, tested in (pair for test in sessions.values() for pair in test):
        assert pool and {r.digit for r in pool} == {3, 8} and not set(pool) & set(tested)
        assert {r.digit for r in tested} == set(range(10))
    (pool, tested), = sessions["held_out"]
    assert min(r.take for r in pool) == 25 and max(r.take for r in tested) == 24
    for pool, tested in sessions["own"]:
        assert len({r.speaker for r in pool} | {r.speaker for r in tested}) == 1


def test_enrolment_accuracy_on_separable_embeddings():
    # Each digit's clips lie around its own corner of a 10-dimensional space: every draw is right.
    generator = torch.Generator().manual_seed(2)
    split = {"train": recordings(["ann"], range(10), range(10, 20)), "validation": recordings(["ann"], range(10), range(5, 10)),
             "test": recordings(["cy"], range(10), range(50))}
    every = split["train"] + split["validation"] + split["test"]
    embedding_of = {r.path: torch.eye(10)[r.digit] * 5 + 0.1 * torch.randn(10, generator=generator) for r in every}
    known = [r for r in split["train"] if r.digit not in (3, 8)]
    support, labels = torch.stack([embedding_of[r.path] for r in known]), torch.tensor([r.digit for r in known])
    for centre in (None, support.mean(dim=0)):
        for sessions in enrolment_sessions(split, [3, 8]).values():
            new, old = enrolment_accuracy(embedding_of, support, labels, sessions, [3, 8], shots=2, draws=3, centre=centre)
            assert new == [1.0] * 3 and old == [1.0] * 3
    with pytest.raises(ValueError, match="11 enrolment recordings of digit 3 asked for, 10 available"):
        enrolment_accuracy(embedding_of, support, labels, enrolment_sessions(split, [3, 8])["pooled"], [3, 8], 11, 1)


def test_enrolment_draws_are_repeatable_and_differ_from_each_other():
    generator = torch.Generator().manual_seed(3)
    split = {"train": recordings(["ann"], range(10), range(10, 30)), "validation": recordings(["ann"], range(10), range(5, 10)),
             "test": recordings(["cy"], range(10), range(50))}
    every = split["train"] + split["validation"] + split["test"]
    embedding_of = {r.path: torch.randn(6, generator=generator) + 0.5 * r.digit for r in every}  # overlapping classes
    known = [r for r in split["train"] if r.digit not in (3, 8)]
    support, labels = torch.stack([embedding_of[r.path] for r in known]), torch.tensor([r.digit for r in known])
    sessions = enrolment_sessions(split, [3, 8])["pooled"]
    first = enrolment_accuracy(embedding_of, support, labels, sessions, [3, 8], shots=1, draws=8, seed=5)
    assert first == enrolment_accuracy(embedding_of, support, labels, sessions, [3, 8], shots=1, draws=8, seed=5)
    assert len(set(first[0])) > 1  # different enrolment recordings, different accuracies


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_the_enrolment_command_reports_every_test(monkeypatch, capsys):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "ci")
    result = enrol.main(["--limit", "40", "--shots", "1,5", "--draws", "2", "--quiet", "--held-out", "theo",
                         "--synthetic-voices", "1", "--mixup", "0.2"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["held_out"] == "theo" and result["new_digits"] == [3, 8] and result["train_clips"] == 40
    assert result["synthetic_voices"] == 1 and result["mixup"] == 0.2
    assert sorted(result["accuracy"]) == sorted(f"{m}/{t}/{k}" for m in ("euclidean", "cl2n")
                                                 for t in ("pooled", "own", "held_out") for k in (1, 5))
    for value in result["accuracy"].values():
        assert 0 <= value["new_min"] <= value["new"] <= value["new_max"] <= 1 and 0 <= value["known"] <= 1


def test_embed_recordings_equals_the_model_on_the_stacked_clips(tmp_path):
    generator = np.random.default_rng(4)
    clips = []
    for take in range(5):
        path = tmp_path / f"{take % 10}_ann_{take}.wav"
        soundfile.write(path, 0.1 * generator.standard_normal(8000).astype(np.float32), 8000)
        clips.append(FsddRecording(path, take % 10, "ann", take))
    model, front_end = kws_model("res8-narrow", 8).eval(), FrontEnd(FrontEndConfig())
    embedding_of = embed_recordings(model, front_end, clips, batch_size=2)  # three batches: 2, 2, 1
    assert list(embedding_of) == [r.path for r in clips]
    with torch.no_grad():
        expected = model.embed(front_end(load_fsdd_tensors(clips)[0]))
    torch.testing.assert_close(torch.stack(list(embedding_of.values())), expected)
