"""Synthetic spoken digits from espeak-ng: the voices, the files (8 kHz, trimmed, FSDD names, reused),
a clear error without the program, and the training command's option. A stand-in espeak-ng (a small
script on PATH) makes these tests run anywhere; one test uses the real program where it is installed."""

from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path

import pytest
import soundfile
import torch

from tutorial_utils.data import FsddRecording, synthetic

FAKE_ESPEAK = f"""#!{sys.executable}
# A stand-in for espeak-ng: 0.2 s of silence, then a 0.3 s tone whose pitch follows -p, at 22050 Hz.
import sys, numpy, soundfile
args = sys.argv[1:]
pitch, out = int(args[args.index("-p") + 1]), args[args.index("-w") + 1]
open(sys.argv[0] + ".calls", "a").write(" ".join(args) + "\\n")
t = numpy.arange(int(0.3 * 22050)) / 22050
tone = 0.5 * numpy.sin(2 * numpy.pi * (100 + 5 * pitch) * t)
soundfile.write(out, numpy.concatenate([numpy.zeros(4410), tone, numpy.zeros(4410)]), 22050)
"""


@pytest.fixture
def fake_espeak(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "espeak-ng"
    program.write_text(FAKE_ESPEAK)
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return program


def calls(program: Path) -> list[str]:
    log = Path(str(program) + ".calls")
    return log.read_text().splitlines() if log.exists() else []


def test_voices_are_seeded_distinct_and_in_range():
    voices = synthetic.synthetic_voices(30, seed=1)
    assert voices == synthetic.synthetic_voices(30, seed=1) != synthetic.synthetic_voices(30, seed=2)
    assert [v.name for v in voices[:3]] == ["tts000", "tts001", "tts002"]
    assert all(v.accent in synthetic.ACCENTS and v.variant in synthetic.VARIANTS for v in voices)
    assert all(20 <= v.pitch <= 80 and 120 <= v.rate <= 200 for v in voices)
    assert len({(v.accent, v.variant, v.pitch, v.rate) for v in voices}) == 30


def test_trim_silence_keeps_the_loud_part():
    x = torch.cat([torch.zeros(100), torch.ones(50), torch.zeros(30)])
    assert torch.equal(synthetic.trim_silence(x), torch.ones(50))
    assert torch.equal(synthetic.trim_silence(torch.zeros(10)), torch.zeros(10))


def test_digits_are_written_like_fsdd_at_8_khz_trimmed_and_reused(fake_espeak, tmp_path):
    recordings = synthetic.ensure_synthetic_digits(1, takes=3, root=tmp_path / "cache", progress=False)
    assert len(recordings) == 10 * 3 and len(calls(fake_espeak)) == 30
    first = recordings[0]
    assert first == FsddRecording.from_path(first.path)  # an FSDD name: {digit}_{voice}_{take}.wav
    assert (first.digit, first.speaker, first.take) == (0, "tts000", 0)
    waveform, rate = soundfile.read(first.path)
    assert rate == 8000 and abs(len(waveform) / rate - 0.3) < 0.01  # the silence is trimmed
    assert not list((tmp_path / "cache").rglob("*.partial"))
    # The takes of a voice differ in pitch; the second call finds every file and runs nothing.
    pitches = [line.split(" -p ")[1].split()[0] for line in calls(fake_espeak)[:3]]
    assert len(set(pitches)) == 3
    assert synthetic.ensure_synthetic_digits(1, takes=3, root=tmp_path / "cache", progress=False) == recordings
    assert len(calls(fake_espeak)) == 30
    # A deleted clip is made again, alone.
    recordings[5].path.unlink()
    synthetic.ensure_synthetic_digits(1, takes=3, root=tmp_path / "cache", progress=False)
    assert len(calls(fake_espeak)) == 31 and recordings[5].path.is_file()
    # Fewer takes ask for a subset of the same files: nothing new is spoken.
    assert synthetic.ensure_synthetic_digits(1, takes=1, root=tmp_path / "cache", progress=False) == recordings[::3]
    assert len(calls(fake_espeak)) == 31


def test_without_espeak_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(synthetic.SynthesisError, match="apt-get install espeak-ng"):
        synthetic.ensure_synthetic_digits(1, root=tmp_path, progress=False)
    with pytest.raises(ValueError, match="at least one voice"):
        synthetic.ensure_synthetic_digits(0, root=tmp_path, progress=False)


def test_a_failing_espeak_is_reported_with_its_command(tmp_path, monkeypatch):
    program = tmp_path / "espeak-ng"
    program.write_text("#!/bin/sh\necho 'voice not found' >&2\nexit 1\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(synthetic.SynthesisError, match="failed: voice not found"):
        synthetic.ensure_synthetic_digits(1, takes=1, root=tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.wav"))


def test_the_training_command_refuses_synthetic_voices_without_espeak(tmp_path, monkeypatch, capsys):
    from tutorial_utils.cli import train

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit):
        train.main(["--synthetic-voices", "3"])
    assert "--synthetic-voices 3: synthetic voices need the espeak-ng program" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main(["--synthetic-voices", "3", "--dataset", "speech-commands-12"])
    assert "adds digits to FSDD's training data" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the recogniser's training refuses too, before any work
        train.main(["--task", "asr", "--synthetic-voices", "3"])
    assert "--synthetic-voices 3: synthetic voices need the espeak-ng program" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main(["--task", "asr", "--synthetic-voices", "-1"])
    assert "--synthetic-voices must be 0 or more" in capsys.readouterr().err


def test_the_default_recipe_asks_for_espeak_outside_the_ci_profile(tmp_path, monkeypatch, capsys):
    """The cpu and gpu profiles train on synthetic voices by default: without espeak-ng the command
    stops before any work and names both ways out; the ci profile's default has none."""
    from tutorial_utils.cli import train

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("BOOK_PROFILE", "cpu")
    with pytest.raises(SystemExit):
        train.main(["--epochs", "1"])
    error = capsys.readouterr().err
    assert f"--synthetic-voices {train.SYNTHETIC_VOICES}: synthetic voices need the espeak-ng program" in error
    assert "apt-get install espeak-ng" in error and "--synthetic-voices 0" in error
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    with pytest.raises(SystemExit):  # no espeak needed: it gets as far as a bad --workers
        train.main(["--workers", "-1"])
    assert "--workers must be 0 or more" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_the_real_espeak_says_a_digit(tmp_path):
    (recording,) = synthetic.ensure_synthetic_digits(1, takes=1, root=tmp_path, progress=False)[7:8]
    waveform, rate = soundfile.read(recording.path)
    assert rate == 8000 and 0.15 < len(waveform) / rate < 1.0 and abs(waveform).max() == pytest.approx(0.5)
