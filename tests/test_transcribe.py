"""The transcription CLI: JSON lines, any rate and channel count, per-file errors."""

from __future__ import annotations

import json

import numpy as np
import soundfile
import torch

from tutorial_utils.cli import transcribe
from tutorial_utils.models.asr import SpeechRecognizer
from tutorial_utils.training.checkpoint import save_recogniser
from tutorial_utils.data.text import DIGITS


def make_checkpoint(path):
    torch.manual_seed(0)
    model = SpeechRecognizer(len(DIGITS), channels=16, kernels=(5,))
    save_recogniser(path, model.eval(), vocabulary=list(DIGITS.symbols), word_level=True)


def test_json_lines_for_good_files_and_errors_for_bad_ones(tmp_path, capsys):
    make_checkpoint(tmp_path / "m.pt")
    rng = np.random.default_rng(0)
    mono = 0.1 * rng.standard_normal(8000)
    soundfile.write(tmp_path / "mono8k.wav", mono, 8000)
    soundfile.write(tmp_path / "stereo8k.wav", np.stack([mono, mono], axis=1), 8000)
    soundfile.write(tmp_path / "stereo44k.flac", 0.1 * rng.standard_normal((44100, 2)), 44100)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    files = ["mono8k.wav", "broken.wav", "stereo8k.wav", "stereo44k.flac", "missing.wav"]
    status = transcribe.main(["--checkpoint", str(tmp_path / "m.pt"), *(str(tmp_path / f) for f in files)])
    out = capsys.readouterr()
    records = [json.loads(line) for line in out.out.splitlines()]
    assert status == 1 and [r["file"] for r in records] == [str(tmp_path / f) for f in files]
    assert "error" in records[1] and "error" in records[4] and "broken.wav" in out.err
    for r in (records[0], records[2], records[3]):
        assert set(r["text"].split()) <= set("0123456789")
    assert records[0]["text"] == records[2]["text"]  # a downmix of two equal channels is the same audio


def test_beam_option(tmp_path, capsys):
    make_checkpoint(tmp_path / "m.pt")
    soundfile.write(tmp_path / "a.wav", 0.1 * np.random.default_rng(1).standard_normal(6000), 8000)
    assert transcribe.main(["--checkpoint", str(tmp_path / "m.pt"), "--beam", "4", str(tmp_path / "a.wav")]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert set(record["text"].split()) <= set("0123456789")
