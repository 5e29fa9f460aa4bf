"""Connected digits: deterministic composition, rendering, the cache and its fallback, splits."""

from __future__ import annotations

import os
import random
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tutorial_utils import config
from tutorial_utils.data import connected_digits as cd

Recording = namedtuple("Recording", "path digit speaker take")  # the fields compose() reads


@pytest.fixture
def fake_recordings(tmp_path) -> list[Recording]:
    """Two takes of each digit by one speaker: 0.1 s of a constant level ``(digit + 1) / 20``."""
    recordings = []
    for digit in range(10):
        for take in range(2):
            path = tmp_path / f"{digit}_ann_{take}.wav"
            soundfile.write(path, np.full(800, (digit + 1) / 20), 8000, subtype="PCM_16")
            recordings.append(Recording(path, digit, "ann", take))
    return recordings


def test_composition_is_deterministic_and_within_bounds(fake_recordings):
    first = cd.compose(fake_recordings, 50, random.Random(7))
    assert first == cd.compose(fake_recordings, 50, random.Random(7))
    assert first != cd.compose(fake_recordings, 50, random.Random(8))
    for utt in first:
        assert 1 <= len(utt.digits) <= 7 and len(utt.pauses) == len(utt.digits) + 1
        assert all(name.startswith(f"{d}_ann_") for d, name in zip(utt.digits, utt.sources))
        assert 0.1 <= utt.pauses[0] <= 0.3 and all(0.0 <= p <= 0.4 for p in utt.pauses[1:-1])
    assert {len(u.digits) for u in first} == set(range(1, 8))


def test_render_places_words_between_pauses():
    utt = cd.DigitUtterance("ann", (2, 5), ("2_ann_0.wav", "5_ann_0.wav"), (0.1, 0.05, 0.2), noise_seed=1)
    audio = {"2_ann_0.wav": torch.ones(800), "5_ann_0.wav": 2 * torch.ones(400)}
    waveform = cd.render(utt, audio, dither=0.0)
    assert waveform.shape == (800 + 800 + 400 + 400 + 1600,)
    assert waveform[:800].abs().max() == 0 and (waveform[800:1600] == 1).all() and (waveform[2000:2400] == 2).all()
    assert 0 < cd.render(utt, audio)[:800].abs().max() < 0.01  # dither only
    assert utt.text == "2 5"


def test_build_pool_caches_and_dataset_reads_it(fake_recordings, tmp_path):
    cache = tmp_path / "cache"
    folder = cd.build_pool(fake_recordings, "ann", "test", count=6, seed=3, cache=cache)
    stamp = (folder / "manifest.jsonl").stat().st_mtime_ns
    assert cd.build_pool(fake_recordings, "ann", "test", count=6, seed=3, cache=cache) == folder
    assert (folder / "manifest.jsonl").stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert cd.build_pool(fake_recordings, "ann", "test", count=6, seed=4, cache=cache) != folder
    data = cd.ConnectedDigits([folder])
    assert len(data) == 6 and data.sample_lengths[0] == len(data[0][0])
    waveform, labels = data[0]
    assert labels.tolist() == [d + 1 for d in data.utterances[0].digits]
    # each word is a constant level: the rendered audio holds exactly those levels
    levels = {round(float(v) * 20) for v in waveform[waveform.abs() > 0.03]}
    assert levels == {d + 1 for d in data.utterances[0].digits}
    with pytest.raises(ValueError, match="no recordings of speaker 'bob'"):
        cd.build_pool(fake_recordings, "bob", "test", count=2, cache=cache)


def test_cache_dir_falls_back_when_not_writable(tmp_path):
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        fallback = tmp_path / "fallback"
        assert cd.cache_dir([locked / "cache", fallback]) == fallback and fallback.is_dir()
        with pytest.raises(OSError, match="writable"):
            cd.cache_dir([locked / "cache"])
    finally:
        locked.chmod(0o700)


def test_cache_dir_skips_a_path_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cd.cache_dir([blocker / "cache", tmp_path / "ok"]) == tmp_path / "ok"


def test_default_cache_is_the_user_cache_never_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = cd.cache_dir()
    assert folder == config.cache_dir()
    assert folder.is_relative_to(tmp_path / "cache") and not (tmp_path / "data").exists()


def fsdd_here() -> bool:
    return (config.data_dir() / "fsdd" / "recordings").is_dir()


@pytest.mark.skipif(not fsdd_here(), reason="FSDD is not in the data directory")
def test_splits_by_speaker_on_real_fsdd(tmp_path):
    counts = {"train": 2, "validation": 1, "test": 1}
    dependent = cd.connected_digit_splits(counts=counts, cache=tmp_path)
    speakers = {u.speaker for u in dependent["test"].utterances}
    assert speakers == {u.speaker for u in dependent["train"].utterances} and len(speakers) >= 5
    takes = lambda split: {int(Path(s).stem.split("_")[2]) for u in dependent[split].utterances for s in u.sources}
    assert takes("test") <= set(range(5)) and takes("validation") <= set(range(5, 10)) and min(takes("train")) >= 10

    held_out = sorted(speakers)[0]
    independent = cd.connected_digit_splits([held_out], counts=counts, cache=tmp_path)
    assert {u.speaker for u in independent["test"].utterances} == {held_out}
    assert held_out not in {u.speaker for s in ("train", "validation") for u in independent[s].utterances}
    with pytest.raises(ValueError, match="unknown speakers"):
        cd.connected_digit_splits(["nobody"], counts=counts, cache=tmp_path)


@pytest.mark.skipif(not fsdd_here(), reason="FSDD is not in the data directory")
def test_extra_voices_only_train(fake_recordings, tmp_path):
    counts = {"train": 2, "validation": 1, "test": 1, "extra_voice": 3}
    speakers = ["george", "jackson"]
    splits = cd.connected_digit_splits(["george"], counts=counts, cache=tmp_path, speakers=speakers,
                                       extra_voices=fake_recordings)
    by_split = {name: [u.speaker for u in split.utterances] for name, split in splits.items()}
    assert by_split["train"].count("ann") == 3 and len(by_split["train"]) == (2 + 1) + 3  # jackson's train and test pools
    assert "ann" not in by_split["validation"] + by_split["test"]
    assert set(by_split["test"]) == {"george"}
    plain = cd.connected_digit_splits(["george"], counts=counts, cache=tmp_path, speakers=speakers)
    assert [u.speaker for u in plain["train"].utterances] == [s for s in by_split["train"] if s != "ann"]
    clash = [Recording(r.path, r.digit, "jackson", r.take) for r in fake_recordings]
    with pytest.raises(ValueError, match="also an FSDD speaker"):
        cd.connected_digit_splits(["george"], counts=counts, cache=tmp_path, speakers=speakers, extra_voices=clash)
