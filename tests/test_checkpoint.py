"""One checkpoint format: a header with a kind, atomic writes, weights_only reads, one-line errors,
and the clip policy that predict and transcribe serve each model with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile
import torch

from tutorial_utils.cli.predict import predict_files
from tutorial_utils.data import CLIP_POLICIES, fit_clip
from tutorial_utils.data.text import DIGITS
from tutorial_utils.front_end import FrontEndConfig
from tutorial_utils.models import SpeechRecognizer, kws_model
from tutorial_utils.training.checkpoint import (
    KINDS,
    CheckpointError,
    load_checkpoint,
    load_recogniser,
    load_spotter,
    save_atomically,
    save_checkpoint,
    save_recogniser,
    save_spotter,
)


@pytest.fixture
def spotter(tmp_path: Path) -> Path:
    path = tmp_path / "spotter.pt"
    save_spotter(path, kws_model("res8-narrow", 3), "res8-narrow", True, ["a", "b", "c"], FrontEndConfig(), 8000)
    return path


@pytest.fixture
def recogniser(tmp_path: Path) -> Path:
    path = tmp_path / "recogniser.pt"
    save_recogniser(path, SpeechRecognizer(len(DIGITS), channels=8, kernels=(5,)).eval(), list(DIGITS.symbols), True)
    return path


def test_every_file_carries_the_header_and_its_kind(spotter, recogniser):
    for path, kind in ((spotter, "spotter"), (recogniser, "recogniser")):
        saved = torch.load(path, weights_only=True)
        assert (saved["format"], saved["version"], saved["kind"]) == ("resnet-speech-book", 1, kind)
    assert load_checkpoint(spotter, "spotter")["clip"] == {"length": 8000, "policy": "centre"}
    assert load_checkpoint(recogniser, "recogniser")["clip"] == {"length": None, "policy": "whole"}


def test_each_kind_refuses_the_others_with_the_command_that_writes_it(spotter, recogniser):
    with pytest.raises(CheckpointError, match=r"is a recogniser checkpoint, not a spotter: .*tutorial_utils.train --save"):
        load_spotter(recogniser)
    with pytest.raises(CheckpointError, match=r"is a spotter checkpoint, not a recogniser: .*--task asr --save"):
        load_recogniser(spotter)
    assert set(KINDS) == {"spotter", "recogniser", "training-run", "weights"}


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "truncated or not a PyTorch file"),
        (b"\x00garbage" * 100, "truncated or not a PyTorch file"),
        ("truncated", "truncated or not a PyTorch file"),
        ("foreign", "no 'resnet-speech-book' header"),
    ],
)
def test_broken_or_foreign_files_get_one_sentence_not_a_traceback(tmp_path, spotter, content, reason):
    path = tmp_path / "bad.pt"
    if content == "truncated":
        path.write_bytes(spotter.read_bytes()[: spotter.stat().st_size // 2])
    elif content == "foreign":
        torch.save({"state_dict": {}}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=reason) as error:
        load_spotter(path)
    assert "weights_only=False" not in str(error.value)  # never the unsafe advice


def test_missing_paths_and_folders_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="not found: write one with python -m tutorial_utils.train --save"):
        load_checkpoint(tmp_path / "none.pt", "spotter")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path, "spotter")


def test_unknown_kinds_and_clip_policies_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown checkpoint kind"):
        save_checkpoint(tmp_path / "x.pt", "optimizer")
    with pytest.raises(ValueError, match="unknown clip policy"):
        save_spotter(tmp_path / "x.pt", kws_model("res8-narrow", 2), "res8-narrow", True, ["a", "b"], FrontEndConfig(), 8000, "left")
    assert not (tmp_path / "x.pt").exists()


def test_atomic_files_get_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        save_atomically({"x": torch.ones(1)}, tmp_path / "f.pt")
    finally:
        os.umask(umask)
    assert (tmp_path / "f.pt").stat().st_mode & 0o777 == 0o644


def test_the_clip_policies():
    assert CLIP_POLICIES == ("centre", "whole")
    short, long = torch.ones(6), torch.cat([torch.zeros(5), torch.full((3,), 2.0), torch.zeros(5)])
    assert fit_clip(short, 10).tolist() == [0, 0] + [1] * 6 + [0, 0]  # centred between zeros
    assert fit_clip(long, 3).tolist() == [2, 2, 2]  # the loudest window
    assert torch.equal(fit_clip(long, None, "whole"), long)
    with pytest.raises(ValueError, match="unknown clip policy"):
        fit_clip(short, 10, "left")


def test_predict_serves_a_spotter_with_its_saved_clip_policy(tmp_path, spotter, monkeypatch):
    """A 2-second recording whose word sits at the end: the saved centre policy finds it."""
    audio = torch.zeros(16000)
    audio[12000:14000] = torch.sin(torch.arange(2000) * 0.3)
    soundfile.write(tmp_path / "late.wav", audio.numpy(), 8000)
    seen = []
    import tutorial_utils.evaluation.inference as inference

    real = inference.fit_clip
    monkeypatch.setattr(inference, "fit_clip", lambda w, n, p: seen.append((n, p)) or real(w, n, p))
    (result,) = predict_files(load_spotter(spotter), [tmp_path / "late.wav"])
    assert seen == [(8000, "centre")] and result["label"] in ("a", "b", "c")
