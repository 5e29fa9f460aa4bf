"""Bad input to the command lines: one line that names the problem and the fix, before any data is
loaded or any model trained; a per-file error in valid JSON for bad recordings; never a traceback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tutorial_utils import config
from tutorial_utils.cli import ddp, enrol, predict, train, transcribe
from tutorial_utils.cli.common import writable_file
from tutorial_utils.data import list_fsdd
from tutorial_utils.data.text import DIGITS
from tutorial_utils.front_end import FrontEndConfig
from tutorial_utils.models import SpeechRecognizer, kws_model
from tutorial_utils.training.checkpoint import save_checkpoint, save_recogniser, save_spotter

try:
    HAS_FSDD = len(list_fsdd()) > 0
except Exception:
    HAS_FSDD = False


@pytest.fixture(autouse=True)
def ci_profile(monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "ci")


@pytest.fixture
def spotter(tmp_path) -> Path:
    path = tmp_path / "spotter.pt"
    save_spotter(path, kws_model("res8-narrow", 10), "res8-narrow", True, list("0123456789"), FrontEndConfig(), 8000)
    return path


@pytest.fixture
def recogniser(tmp_path) -> Path:
    path = tmp_path / "recogniser.pt"
    save_recogniser(path, SpeechRecognizer(len(DIGITS), channels=8, kernels=(5,)).eval(), list(DIGITS.symbols), True)
    return path


def fails(capsys, command, argv) -> str:
    """Run ``command.main(argv)``; it must exit with status 2 and one line on stderr, no traceback."""
    with pytest.raises(SystemExit) as exit:
        command(argv)
    message = capsys.readouterr().err.strip()
    assert exit.value.code == 2, exit.value.code
    assert "Traceback" not in message and message.count("error:") == 1, message
    return message.splitlines()[-1]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--epochs", "0"], "--epochs must be at least 1, not 0"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--epochs", "three"], "--epochs must be a whole number"),
        (["--resume"], "--resume continues the run saved in --checkpoint: name it"),
        (["--device", "gpu7"], "is not a device"),
        (["--task", "asr", "--beam", "0"], "--beam must be at least 1"),
        (["--task", "asr", "--utterances", "0"], "--utterances must be at least 1"),
        (["--task", "asr", "--model", "blstm", "--plain"], "the blstm model has none"),
        (["--task", "asr", "--model", "gru"], "invalid choice: 'gru'"),
        (["--task", "asr", "--normalize", "pcen"], "invalid choice: 'pcen'"),
        (["--task", "asr", "--vtlp", "--no-augment"], "--vtlp is an augmentation"),
        (["--instance-norm", "4"], "--instance-norm 4: res8 has 3 blocks"),
        (["--model", "bc-resnet-1", "--instance-norm", "1"], "bc-resnet-1 has its own normalisation"),
        (["--tta-speeds", "0.9,fast"], "give comma-separated playback rates"),
        (["--tta-speeds", "0,1"], "each rate must be between 0.5 and 2"),
        (["--specaugment-masks", "0"], "--specaugment-masks must be at least 1"),
        (["--average-last", "1"], "--average-last 1: give 0 (off) or fewer epochs than --epochs 1"),
        (["--epochs", "4", "--average-last", "2", "--early-stopping", "1"], "--early-stopping may stop before them"),
        (["--task", "asr", "--average-last", "-1"], "--average-last -1: give 0 (off)"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, expected):
    assert expected in fails(capsys, train.main, argv)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--new-digits", "3,3"], "--new-digits 3,3: a number is repeated"),
        (["--new-digits", "three"], "comma-separated whole numbers, such as 3,8"),
        (["--new-digits", "3,10"], "one to eight different digits from 0 to 9"),
        (["--shots", "1,0"], "--shots 1,0: each from 1 to 25"),
        (["--draws", "0"], "--draws must be at least 1"),
        (["--model", "bc-resnet-1"], "invalid choice: 'bc-resnet-1'"),
        (["--synthetic-voices", "-1"], "--synthetic-voices must be 0 or more, not -1"),
    ],
)
def test_enrolment_usage_errors_are_one_line(capsys, argv, expected):
    assert expected in fails(capsys, enrol.main, argv)


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_the_held_out_speaker_must_be_among_those_used(capsys):
    assert "--held-out nobody: not among the speakers used" in fails(capsys, enrol.main, ["--held-out", "nobody"])
    message = fails(capsys, enrol.main, ["--held-out", "george", "--speakers", "jackson,theo"])
    assert "not among the speakers used (jackson, theo)" in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("task", [[], ["--task", "asr"]])
def test_a_missing_gpu_is_named_before_any_work(capsys, task):
    assert "no CUDA GPU" in fails(capsys, train.main, [*task, "--device", "cuda"])


@pytest.mark.parametrize("task", [[], ["--task", "asr"]])
def test_save_targets_are_checked_before_training(capsys, tmp_path, task):
    assert "is a folder: give a file name" in fails(capsys, train.main, [*task, "--save", str(tmp_path)])
    (tmp_path / "file").write_text("not a folder")
    assert "cannot write in" in fails(capsys, train.main, [*task, "--save", str(tmp_path / "file" / "model.pt")])


def test_a_missing_save_folder_is_created(tmp_path):
    import argparse

    target = writable_file(argparse.ArgumentParser(), "--save", str(tmp_path / "new" / "deeper" / "m.pt"))
    assert target.parent.is_dir() and not target.exists()


def test_checkpoints_are_never_overwritten_or_silently_ignored(capsys, tmp_path, spotter):
    assert "exists: add --resume to continue that run" in fails(capsys, train.main, ["--checkpoint", str(spotter)])
    missing = tmp_path / "none.pt"
    assert "does not exist; drop --resume" in fails(capsys, train.main, ["--checkpoint", str(missing), "--resume"])
    assert "is a spotter checkpoint, not a training-run" in fails(
        capsys, train.main, ["--checkpoint", str(spotter), "--resume"]
    )
    assert spotter.stat().st_size > 0 and not missing.exists()


def test_a_bad_profile_is_one_line_even_for_help(capsys, monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "fast")
    assert "BOOK_PROFILE='fast' is not a run profile" in fails(capsys, train.main, ["--help"])


def test_the_data_parallel_command_needs_torchrun(capsys, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    assert "start it with torchrun" in fails(capsys, ddp.main, ["--synthetic"])


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_unknown_speakers_are_one_line(capsys):
    assert "nobody" in fails(capsys, train.main, ["--test-speakers", "nobody", "--limit", "2"])


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_resume_is_exact_or_refused_with_the_setting_that_differs(capsys, tmp_path):
    checkpoint = tmp_path / "run.pt"
    base = ["--model", "res8-narrow", "--limit", "4", "--epochs", "2", "--augment", "none", "--quiet",
            "--checkpoint", str(checkpoint)]
    train.main(base)
    capsys.readouterr()
    for change, named in [(["--seed", "1"], "seed: 0 in the checkpoint, 1 now"),
                          (["--limit", "5"], "limit: 4 in the checkpoint, 5 now"),
                          (["--lr", "0.01"], "lr: 0.003 in the checkpoint, 0.01 now"),
                          (["--augment", "noise"], "augment: [] in the checkpoint, ['noise'] now")]:
        argv = [*base, "--resume", *change]
        assert named in fails(capsys, train.main, argv)
    # a finished 2-epoch run cannot be stretched to 4: its schedule was planned for 2
    assert "epochs: 2 in the checkpoint, 4 now" in fails(capsys, train.main, [*base, "--resume", "--epochs", "4"])
    result = train.main([*base, "--resume"])  # the same settings: resumes (here: nothing left to train)
    assert result["epochs"] == 2


def test_a_training_run_with_other_settings_is_refused_by_the_loop_too(tmp_path):
    from tutorial_utils.training import CheckpointError, fit

    data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randint(0, 2, (8,)))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    model = torch.nn.Linear(4, 2)
    fit(model, loader, epochs=1, checkpoint_path=tmp_path / "c.pt", run_settings={"lr": 1}, progress=False)
    with pytest.raises(CheckpointError, match="lr: 1 in the checkpoint, 2 now"):
        fit(model, loader, epochs=1, checkpoint_path=tmp_path / "c.pt", resume=True, run_settings={"lr": 2}, progress=False)


# -- checkpoints of the wrong kind or broken ---------------------------------------------------------


def test_each_command_refuses_the_others_files(capsys, spotter, recogniser, tmp_path):
    assert "is a recogniser checkpoint, not a spotter" in fails(capsys, predict.main, ["--checkpoint", str(recogniser), "x.wav"])
    assert "is a spotter checkpoint, not a recogniser" in fails(capsys, transcribe.main, ["--checkpoint", str(spotter), "x.wav"])
    run = tmp_path / "run.pt"
    save_checkpoint(run, "training-run", settings={})
    assert "is a training-run checkpoint, not a spotter" in fails(capsys, predict.main, ["--checkpoint", str(run), "x.wav"])


@pytest.mark.parametrize("content", [b"", b"\x89random bytes" * 50, b"root:x:0:0:root:/root:/bin/bash\n", "truncated"])
def test_broken_checkpoints_are_one_line_without_unsafe_advice(capsys, tmp_path, spotter, content):
    path = tmp_path / "broken.pt"
    path.write_bytes(spotter.read_bytes()[:1000] if content == "truncated" else content)
    message = fails(capsys, predict.main, ["--checkpoint", str(path), "x.wav"])
    assert "is not a checkpoint of this book (truncated or not a PyTorch file): retrain with" in message
    assert "weights_only" not in message


# -- bad recordings: a per-file error, valid JSON, exit status 1 -----------------------------------------


def bad_recordings(folder: Path) -> dict[str, str]:
    """Recordings that must each get a per-file error, and the words the error must contain."""
    rate = 8000
    tone = 0.3 * np.sin(np.arange(4301) * 0.2).astype(np.float32)
    soundfile.write(folder / "good.wav", tone, rate)
    nan = tone.copy()
    nan[100] = math.nan
    soundfile.write(folder / "nan.wav", nan, rate, subtype="FLOAT")
    inf = tone.copy()
    inf[5] = math.inf
    soundfile.write(folder / "inf.wav", inf, rate, subtype="FLOAT")
    whole = (folder / "good.wav").read_bytes()
    (folder / "cut.wav").write_bytes(whole[: 44 + 2 * 2139])  # the header promises 4,301 frames
    soundfile.write(folder / "short.wav", tone[:400], rate)  # 0.05 s
    (folder / "a folder.wav").mkdir()
    return {
        "nan.wav": "NaN or infinite samples",
        "inf.wav": "NaN or infinite samples",
        "cut.wav": "is truncated: its header promises 4301 frames but only 2139 are there",
        "short.wav": "lasts 0.050 s, shorter than the 0.1 s",
        "a folder.wav": "is a folder, not an audio file",
        "missing.wav": "not found",
    }


@pytest.mark.parametrize("command", ["predict", "transcribe"])
def test_bad_recordings_get_per_file_errors_in_valid_json(capsys, tmp_path, spotter, recogniser, command):
    expected = bad_recordings(tmp_path)
    files = [str(tmp_path / "good.wav"), *(str(tmp_path / name) for name in expected)]
    module, checkpoint = (predict, spotter) if command == "predict" else (transcribe, recogniser)
    status = module.main(["--checkpoint", str(checkpoint), *files])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # valid JSON: no NaN
    assert status == 1 and len(lines) == len(files)
    assert "error" not in lines[0]
    for line, (name, words) in zip(lines[1:], expected.items()):
        assert line["file"].endswith(name) and words in line["error"], line


def test_a_digit_without_training_recordings_is_an_error(capsys, monkeypatch):
    from tutorial_utils.cli import train as command

    waveforms, labels = torch.zeros(20, 8000), torch.tensor([0, 1, 2, 4, 5, 6, 7, 8, 9, 0] * 2)  # no 3
    monkeypatch.setattr(command, "fsdd_tensors", lambda **kw: {n: (waveforms, labels) for n in ("train", "validation", "test")})
    assert "no recording of digit(s) [3]" in fails(capsys, command.main, ["--model", "res8-narrow"])


def test_transcribe_refuses_a_zero_beam(capsys, recogniser):
    assert "--beam must be at least 1" in fails(capsys, transcribe.main, ["--checkpoint", str(recogniser), "--beam", "0", "x.wav"])


def test_no_data_and_no_network_is_one_line_with_the_fix(capsys, monkeypatch, tmp_path):
    from tutorial_utils.data import DownloadError, fsdd

    def offline(url, dest, **kwargs):
        raise DownloadError(f"could not download {url}", "could not connect (no network)")

    monkeypatch.setenv(config.DATA_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setattr(fsdd, "download_file", offline)
    message = fails(capsys, train.main, ["--limit", "2"])
    assert "could not install FSDD" in message and "No network? Download" in message
    assert f"set {config.DATA_DIR_VARIABLE}" in message
