"""FSDD: names, the shipped manifest, checking a present copy (also the real one), listing,
splits and the datasets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tutorial_utils import config
from tutorial_utils.data import (
    FSDD_SPEAKERS,
    ChecksumError,
    FsddDataset,
    FsddRecording,
    check_sha256sums,
    ensure_fsdd,
    fsdd_manifest,
    list_fsdd,
    load_fsdd_features,
    load_fsdd_tensors,
    split_fsdd,
)
from tutorial_utils.data import download, fsdd

SHARED = Path("/work/shared/data")


def write_recordings(folder: Path, names_and_samples: dict[str, int]) -> dict[str, str]:
    """Write constant-level WAVs (level = (digit + 1) / 20) at 8 kHz; returns their manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, samples in names_and_samples.items():
        digit = int(name.split("_")[0])
        soundfile.write(folder / name, np.full(samples, (digit + 1) / 20), 8000, subtype="PCM_16")
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names_and_samples}


def fake_recordings(speakers=("ann", "bob", "cid"), takes=range(12)) -> list[FsddRecording]:
    return [FsddRecording(Path(f"{d}_{s}_{t}.wav"), d, s, t) for s in speakers for d in range(10) for t in takes]


def test_recording_from_path():
    path = Path("/x/7_jackson_32.wav")
    assert FsddRecording.from_path(str(path)) == FsddRecording(path, 7, "jackson", 32)
    for bad in ("7_jackson.wav", "seven_jackson_3.wav", "7_jackson_3.flac"):
        with pytest.raises(ValueError, match="not an FSDD file name"):
            FsddRecording.from_path(bad)


def test_shipped_manifest_lists_all_3000_recordings():
    manifest = fsdd_manifest()
    expected = {f"{d}_{s}_{t}.wav" for d in range(10) for s in FSDD_SPEAKERS for t in range(50)}
    assert set(manifest) == expected
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in manifest.values())


def test_present_copy_needs_complete_speakers_and_leaves_other_files_alone(tmp_path):
    recordings = tmp_path / "data" / "fsdd" / "recordings"
    manifest = write_recordings(recordings, {"0_ann_0.wav": 400, "1_ann_0.wav": 500})
    full_manifest = {**manifest, "2_zed_0.wav": "0" * 64}  # a speaker held back entirely: fine
    (recordings / ".DS_Store").write_bytes(b"ignored")
    assert ensure_fsdd(tmp_path / "data", download=False, manifest=full_manifest) == recordings

    write_recordings(recordings, {"9_eve_0.wav": 100})  # a reader's own recording: ignored, never deleted
    assert ensure_fsdd(tmp_path / "data", download=False, manifest=full_manifest) == recordings
    assert (recordings / "9_eve_0.wav").exists()

    (recordings / "1_ann_0.wav").write_bytes((recordings / "0_ann_0.wav").read_bytes())
    with pytest.raises(ChecksumError, match=r"1 FSDD file\(s\) .* differ from FSDD's checksums .*: 1_ann_0\.wav\. "
                                            r"Delete just those files"):
        ensure_fsdd(tmp_path / "data", download=False, manifest=full_manifest)
    (recordings / "1_ann_0.wav").unlink()  # the fix the message gives: that file alone
    with pytest.raises(FileNotFoundError, match=r"lacks 1 recording\(s\) of the speakers it holds: 1_ann_0\.wav"):
        ensure_fsdd(tmp_path / "data", download=False, manifest=full_manifest)
    assert sorted(p.name for p in recordings.glob("*.wav")) == ["0_ann_0.wav", "9_eve_0.wav"]


def test_empty_recordings_folder_is_an_error(tmp_path):
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="holds no FSDD recordings"):
        ensure_fsdd(tmp_path, download=False, manifest={})


def test_verification_runs_once_per_process(tmp_path, monkeypatch):
    recordings = tmp_path / "fsdd" / "recordings"
    manifest = write_recordings(recordings, {"0_ann_0.wav": 400, "1_ann_0.wav": 500})
    hashed = []
    real_sha256sum = download.sha256sum
    monkeypatch.setattr(download, "sha256sum", lambda path: hashed.append(path) or real_sha256sum(path))
    for _ in range(3):
        ensure_fsdd(tmp_path, download=False, manifest=manifest)
    assert len(hashed) == 2
    ensure_fsdd(tmp_path, download=False, manifest={**manifest, "2_zed_0.wav": "0" * 64})  # another manifest
    assert len(hashed) == 4


def test_list_fsdd_sorts_and_reads_a_recordings_folder(tmp_path):
    recordings = tmp_path / "fsdd" / "recordings"
    names = ["1_bob_10.wav", "1_bob_2.wav", "0_bob_3.wav", "5_ann_0.wav"]
    manifest = write_recordings(recordings, dict.fromkeys(names, 100))
    ensure_fsdd(tmp_path, download=False, manifest=manifest)  # the data dir holds it: found, not downloaded
    listed = list_fsdd(recordings)
    assert [r.path.name for r in listed] == ["5_ann_0.wav", "0_bob_3.wav", "1_bob_2.wav", "1_bob_10.wav"]
    assert listed[-1] == FsddRecording(recordings / "1_bob_10.wav", 1, "bob", 10)


def test_official_split_by_takes():
    recordings = fake_recordings()
    splits = split_fsdd(recordings)
    assert {name: len(items) for name, items in splits.items()} == {"train": 60, "validation": 150, "test": 150}
    assert {r.take for r in splits["test"]} == set(range(5))
    assert {r.take for r in splits["validation"]} == set(range(5, 10))
    assert {r.take for r in splits["train"]} == {10, 11}
    assert sorted(splits["train"] + splits["validation"] + splits["test"], key=recordings.index) == recordings
    assert len(split_fsdd(recordings, validation_takes=[])["validation"]) == 0
    with pytest.raises(ValueError, match="must not include the test takes 0-4"):
        split_fsdd(recordings, validation_takes=range(3, 8))


def test_speaker_independent_split():
    recordings = fake_recordings()
    splits = split_fsdd(recordings, test_speakers=["bob"])
    assert {r.speaker for r in splits["test"]} == {"bob"} and len(splits["test"]) == 120
    assert {r.speaker for r in splits["train"] + splits["validation"]} == {"ann", "cid"}
    assert {r.take for r in splits["validation"]} == set(range(5, 10)) and len(splits["train"]) == 2 * 10 * 7
    with pytest.raises(ValueError, match=r"unknown: \['lucas'\], present: \['ann', 'bob', 'cid'\]"):
        split_fsdd(recordings, test_speakers=["bob", "lucas"])
    with pytest.raises(ValueError, match="leave no speaker to train on"):
        split_fsdd(recordings, test_speakers=["ann", "bob", "cid"])
    with pytest.raises(ValueError, match="must name speakers"):
        split_fsdd(recordings, test_speakers=[])


def test_dataset_centres_crops_resamples_and_labels(tmp_path):
    manifest = write_recordings(tmp_path, {"3_ann_0.wav": 6000, "8_ann_1.wav": 9000})
    recordings = list_fsdd(tmp_path)
    assert len(manifest) == 2
    data = FsddDataset(recordings, length=8000)
    (short, digit_short), (long, digit_long) = data[0], data[1]
    assert (digit_short, digit_long) == (3, 8) and short.shape == long.shape == (8000,) and short.dtype == torch.float32
    # the book's clip policy: a short recording is centred between zeros
    assert torch.allclose(short[1000:7000], torch.tensor(0.2), atol=1e-4)
    assert (short[:1000] == 0).all() and (short[7000:] == 0).all()
    assert torch.allclose(long, torch.tensor(0.45), atol=1e-4)
    wide, _ = FsddDataset(recordings, length=16000, sample_rate=16000)[1]
    assert wide.shape == (16000,) and abs(wide[4000:12000].mean().item() - 0.45) < 1e-3


def test_cache_decodes_once_and_transform_runs_every_time(tmp_path, monkeypatch):
    write_recordings(tmp_path, {"3_ann_0.wav": 800})
    recordings = list_fsdd(tmp_path)
    decoded = []
    real_load = fsdd.load_audio
    monkeypatch.setattr(fsdd, "load_audio", lambda *a, **k: decoded.append(a[0]) or real_load(*a, **k))
    calls = []
    data = FsddDataset(recordings, length=1000, cache=True, transform=lambda w: calls.append(1) or -w)
    for _ in range(3):
        waveform, _ = data[0]
    assert len(decoded) == 1 and len(calls) == 3 and waveform[100].item() == pytest.approx(-0.2, abs=1e-4)
    for _ in range(2):
        FsddDataset(recordings, length=1000)[0]
    assert len(decoded) == 3


def test_load_fsdd_tensors(tmp_path):
    write_recordings(tmp_path, {"3_ann_0.wav": 600, "8_ann_1.wav": 900, "0_bob_4.wav": 1200})
    waveforms, digits = load_fsdd_tensors(list_fsdd(tmp_path), length=1000)
    assert waveforms.shape == (3, 1000) and waveforms.dtype == torch.float32
    assert digits.tolist() == [3, 8, 0] and digits.dtype == torch.int64
    empty, none = load_fsdd_tensors([], length=1000)
    assert empty.shape == (0, 1000) and none.shape == (0,)


def test_load_fsdd_features_transforms_the_batch_without_gradients(tmp_path):
    write_recordings(tmp_path, {"3_ann_0.wav": 600, "8_ann_1.wav": 900})
    weight = torch.randn(1000, 5, requires_grad=True)
    features, digits = load_fsdd_features(list_fsdd(tmp_path), lambda w: w @ weight, length=1000)
    waveforms, _ = load_fsdd_tensors(list_fsdd(tmp_path), length=1000)
    assert torch.equal(features, waveforms @ weight.detach()) and not features.requires_grad
    assert digits.tolist() == [3, 8]


@pytest.mark.skipif(not (SHARED / "fsdd" / "recordings").is_dir(), reason="the shared FSDD copy is not here")
def test_shared_copy_passes_against_the_full_manifest():
    """The shared copy holds 2,500 of the manifest's 3,000 files (lucas is held back)."""
    recordings = SHARED / "fsdd" / "recordings"
    before = sorted(p.name for p in (SHARED / "fsdd").rglob("*"))
    assert check_sha256sums(recordings, fsdd_manifest(), pattern="*.wav") == 2500
    assert ensure_fsdd(SHARED, download=False) == recordings
    listed = list_fsdd(SHARED)
    assert len(listed) == 2500 and {r.speaker for r in listed} == set(FSDD_SPEAKERS) - {"lucas"}
    assert listed == sorted(listed, key=lambda r: (r.speaker, r.digit, r.take))
    splits = split_fsdd(listed)
    assert {name: len(items) for name, items in splits.items()} == {"train": 2000, "validation": 250, "test": 250}
    assert sorted(p.name for p in (SHARED / "fsdd").rglob("*")) == before  # nothing written
    waveforms, digits = load_fsdd_tensors(listed[:500:50], length=8000)
    assert waveforms.shape == (10, 8000) and 0 < waveforms.abs().max() <= 1 and digits.tolist() == list(range(10))


@pytest.mark.skipif(not (config.data_dir() / "fsdd" / "recordings").is_dir(), reason="FSDD is not in the data dir")
def test_default_root_is_the_data_directory():
    assert ensure_fsdd(download=False) == config.data_dir() / "fsdd" / "recordings"


def test_only_speakers_keeps_the_named_ones_and_names_an_absent_one():
    recordings = fake_recordings()
    kept = fsdd.only_speakers(recordings, ["cid", "ann"])
    assert {r.speaker for r in kept} == {"ann", "cid"} and len(kept) == 2 * 10 * 12
    assert fsdd.only_speakers(recordings, None) == recordings
    with pytest.raises(ValueError, match=r"\['dan'\] are not in this copy of FSDD, which has \['ann', 'bob', 'cid'\]"):
        fsdd.only_speakers(recordings, ["ann", "dan"])


def test_a_run_on_five_speakers_repeats_on_a_download_with_six(tmp_path, monkeypatch):
    """What --speakers is for: the same recordings, so the same splits, whatever else is present."""
    five = fsdd.split_fsdd(fake_recordings(("ann", "bob", "cid", "dan", "eve")), test_speakers=["ann"])
    monkeypatch.setattr(fsdd, "list_fsdd", lambda root=None: fake_recordings(("ann", "bob", "cid", "dan", "eve", "fay")))
    six = fsdd.fsdd_recordings(test_speakers=["ann"], speakers=["ann", "bob", "cid", "dan", "eve"])
    assert six == five
