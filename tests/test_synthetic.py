"""Synthetic spoken digits from espeak-ng and flite: the voices, the files (8 kHz, trimmed, FSDD names,
reused), a clear error without the program, and the training commands' options. Stand-ins for the
programs (small scripts on PATH) make these tests run anywhere; two tests use the real programs where
they are installed."""

from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path

import numpy
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


FAKE_FLITE = f"""#!{sys.executable}
# A stand-in for flite: a 0.4 s tone at the mean pitch of --setf int_f0_target_mean, at 16 kHz.
import sys, numpy, soundfile
args = sys.argv[1:]
pitch = float(args[args.index("--setf") + 1].split("=")[1])
open(sys.argv[0] + ".calls", "a").write(" ".join(args) + "\\n")
t = numpy.arange(int(0.4 * 16000)) / 16000
soundfile.write(args[args.index("-o") + 1], 0.3 * numpy.sin(2 * numpy.pi * pitch * t), 16000)
"""


def install(tmp_path: Path, monkeypatch, name: str, script: str) -> Path:
    """Put ``script`` on PATH as the program ``name``; return its path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / name
    program.write_text(script)
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return program


@pytest.fixture
def fake_espeak(tmp_path, monkeypatch) -> Path:
    return install(tmp_path, monkeypatch, "espeak-ng", FAKE_ESPEAK)


@pytest.fixture
def fake_flite(tmp_path, monkeypatch) -> Path:
    return install(tmp_path, monkeypatch, "flite", FAKE_FLITE)


def calls(program: Path) -> list[str]:
    log = Path(str(program) + ".calls")
    return log.read_text().splitlines() if log.exists() else []


def test_voices_are_seeded_distinct_and_in_range():
    voices = synthetic.synthetic_voices(30, seed=1)
    assert voices == synthetic.synthetic_voices(30, seed=1) != synthetic.synthetic_voices(30, seed=2)
    assert [v.name for v in voices[:3]] == ["tts000", "tts001", "tts002"]
    accents_and_variants = [v.voice.split("+") for v in voices]
    assert all(a in synthetic.ACCENTS and v in synthetic.VARIANTS for a, v in accents_and_variants)
    assert all(20 <= v.pitch <= 80 and 120 <= v.rate <= 200 and v.engine == "espeak-ng" for v in voices)
    assert len({(v.voice, v.pitch, v.rate) for v in voices}) == 30
    # The cached clips are named by the seed alone: the draws must not change under them.
    assert synthetic.synthetic_voices(2) == [synthetic.SyntheticVoice("tts000", "espeak-ng", "en-029+klatt", 68, 173),
                                             synthetic.SyntheticVoice("tts001", "espeak-ng", "en-us+f2", 52, 182)]


def test_flite_voices_are_its_four_at_drawn_pitches_and_speeds():
    voices = synthetic.synthetic_voices(40, seed=0, engine="flite")
    assert voices == synthetic.synthetic_voices(40, seed=0, engine="flite")
    assert [v.name for v in voices[:2]] == ["flite000", "flite001"]
    assert {v.voice for v in voices} == set(synthetic.FLITE_VOICES)
    assert all(90 <= v.pitch <= 220 and 80 <= v.rate <= 125 and v.engine == "flite" for v in voices)
    command = synthetic.ENGINES["flite"].command("slt", "seven", 150, 125, Path("out.wav"))
    assert command == ["flite", "-voice", "slt", "--setf", "int_f0_target_mean=150", "--setf",
                       "duration_stretch=0.8000", "-t", "seven", "-o", "out.wav"]
    with pytest.raises(ValueError, match="choose one of espeak-ng, flite"):
        synthetic.ensure_synthetic_digits(1, engine="festival")


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


def test_flite_digits_go_to_their_own_folder_with_their_own_steps(fake_flite, tmp_path):
    recordings = synthetic.ensure_synthetic_digits(2, takes=3, root=tmp_path, progress=False, engine="flite")
    assert len(recordings) == 60 and {r.speaker for r in recordings} == {"flite000", "flite001"}
    assert all(r.path.parent == tmp_path / "flite-digits-seed0" and r.path.is_file() for r in recordings)
    waveform, rate = soundfile.read(recordings[0].path)
    assert rate == 8000 and abs(len(waveform) / rate - 0.4) < 0.01 and abs(waveform).max() == pytest.approx(0.5)
    voice = synthetic.synthetic_voices(1, engine="flite")[0]
    pitches = [int(line.split("int_f0_target_mean=")[1].split()[0]) for line in calls(fake_flite)[:3]]
    assert pitches == [voice.pitch - 8, voice.pitch, voice.pitch + 8]  # takes 0, 1, 2


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
    for task in ([], ["--task", "asr"]):  # flite is checked for, not espeak-ng
        with pytest.raises(SystemExit):
            train.main([*task, "--synthetic-voices", "2", "--synthetic-engine", "flite"])
        assert "synthetic voices need the flite program" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main(["--synthetic-voices", "2", "--synthetic-engine", "festival"])
    assert "invalid choice: 'festival'" in capsys.readouterr().err


def test_the_training_record_names_flite_when_it_made_the_voices(fake_flite, tmp_path, monkeypatch):
    from tutorial_utils.cli import train

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = train.main(["--epochs", "1", "--limit", "20", "--quiet", "--synthetic-voices", "1",
                         "--synthetic-engine", "flite", "--threads", "1"])
    assert result["synthetic_engine"] == "flite" and result["synthetic_voices"] == 1
    assert result["train_examples"] == 20 + 30 and len(calls(fake_flite)) == 30


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


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (apt-get install flite)")
def test_the_real_flite_says_a_digit_at_the_asked_pitch(tmp_path):
    """slt, CMU's female voice, asked for a mean pitch of 140 Hz and of 220 Hz: the clips' median F0
    (librosa's pYIN) is within 15 % of each, so the drawn pitches reach the voices."""
    import librosa

    medians = []
    for pitch in (140, 220):
        voice = synthetic.SyntheticVoice("flite000", "flite", "slt", pitch, 100)
        path = tmp_path / f"7_{pitch}.wav"
        synthetic.synthesize("seven", voice, path, pitch, voice.rate)
        waveform, rate = soundfile.read(path)
        assert rate == 8000 and 0.2 < len(waveform) / rate < 1.0
        f0, voiced, _ = librosa.pyin(waveform, fmin=60, fmax=400, sr=rate, frame_length=512)
        assert voiced.sum() >= 10
        medians.append(float(numpy.median(f0[voiced])))
        assert abs(medians[-1] / pitch - 1) < 0.15
