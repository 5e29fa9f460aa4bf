"""The models that ship with the package: each loads, matches the SHA-256 of its record, and on a
small slice of its own test set scores what its record says, within the slice's sampling error."""

from __future__ import annotations

import math
import shutil

import pytest
import torch
from torch.utils.data import TensorDataset

from tutorial_utils.book import trained
from tutorial_utils.data import DIGITS, ChecksumError, ConnectedDigits, fsdd_recordings, load_fsdd_tensors, split_fsdd
from tutorial_utils.data.connected_digits import build_pool
from tutorial_utils.data.fsdd import list_fsdd, only_speakers
from tutorial_utils.training import asr, make_loader, predict

SPOTTERS = [n for n in trained.names() if n.startswith("res8-")]
RECOGNISERS = [n for n in trained.names() if n.startswith("ctc-")]
SLICE = 50  # test clips (spotters) or utterances (recognisers) per check


def held_out(record: dict) -> list[str] | None:
    split = record["split"]
    return split.split(":", 1)[1].split(",") if split.startswith("speaker-independent:") else None


def sampling_error(p: float, n: int) -> float:
    """Four standard errors of a proportion p measured on n items, plus one item."""
    return 4 * math.sqrt(max(p * (1 - p), 0.01) / n) + 1 / n


def test_the_book_ships_its_spotters_and_recognisers():
    assert {"res8-fsdd", "res8-fsdd-without-george", "ctc-digits", "ctc-digits-without-george"} <= set(trained.names())


@pytest.mark.parametrize("name", trained.names())
def test_record_describes_the_model_file(name):
    record = trained.record(name)
    assert record["model_file"] == f"{name}.pt"
    assert trained.model_file(name).stat().st_size < 2_000_000, "shipped models stay small"
    assert record["profile"] in ("cpu", "gpu") and not record["commit"].endswith("-dirty")


def test_a_changed_file_is_refused_with_the_fix(tmp_path, monkeypatch):
    folder = tmp_path / "trained"
    shutil.copytree(trained._folder(), folder)
    data = (folder / "res8-fsdd.pt").read_bytes()
    (folder / "res8-fsdd.pt").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    monkeypatch.setattr(trained, "_folder", lambda: folder)
    with pytest.raises(ChecksumError, match="reinstall tutorial_utils"):
        trained.load_shipped_spotter("res8-fsdd")
    with pytest.raises(FileNotFoundError, match="available"):
        trained.record("res9")


@pytest.mark.parametrize("name", SPOTTERS)
def test_spotter_scores_its_recorded_accuracy_on_a_slice(name):
    model, front_end, record = trained.load_shipped_spotter(name)
    recordings = fsdd_recordings(held_out(record), limit=SLICE, speakers=record["fsdd_speakers"])["test"]
    waveforms, digits = load_fsdd_tensors(recordings)
    logits, labels = predict(model, make_loader(TensorDataset(waveforms, digits), 64, shuffle=False), front_end)
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    recorded = record["test_accuracy"]
    assert abs(accuracy - recorded) <= sampling_error(recorded, len(labels)), (accuracy, recorded)


@pytest.mark.parametrize("name", RECOGNISERS)
def test_recogniser_scores_its_recorded_wer_on_a_slice(name, tmp_path):
    model, record = trained.load_shipped_recogniser(name)
    speakers = held_out(record) or record["fsdd_speakers"]
    takes = split_fsdd(only_speakers(list_fsdd(), record["fsdd_speakers"]))["test"]
    per_speaker = math.ceil(SLICE / len(speakers))
    test = ConnectedDigits([build_pool(takes, s, "test", per_speaker, cache=tmp_path) for s in speakers])
    result = asr.evaluate(model, test, DIGITS)
    words = sum(len(r.split()) for r in result.references)
    recorded = record["test_wer_greedy"]
    assert abs(result.wer - recorded) <= sampling_error(recorded, words), (result.wer, recorded)
    assert torch.isfinite(torch.tensor(result.wer))
