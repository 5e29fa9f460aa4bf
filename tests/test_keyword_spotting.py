"""Keyword spotting end to end: clips, front end, saved spotters, and the train/predict commands."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
from torch.utils.data import DataLoader, TensorDataset

from tutorial_utils import config
from tutorial_utils.cli import predict, train
from tutorial_utils.data import fit_clip, fsdd_recordings, fsdd_tensors, load_clips
from tutorial_utils.evaluation.tta import speed_tta_probabilities
from tutorial_utils.front_end import AugmentConfig, FrontEnd, FrontEndConfig
from tutorial_utils.training.checkpoint import load_spotter, save_spotter
from tutorial_utils.models import kws_model

HAS_FSDD = (config.data_dir() / "fsdd" / "recordings").is_dir()


def test_short_clips_are_centred_and_long_ones_keep_the_loudest_window():
    assert fit_clip(torch.ones(4), 8).tolist() == [0, 0, 1, 1, 1, 1, 0, 0]
    long = torch.zeros(100)
    long[60:70] = 1.0
    clip = fit_clip(long, 20)
    assert clip.shape == (20,) and clip.sum() == 10  # the whole burst is inside the window


def test_clips_are_resampled_and_downmixed(tmp_path):
    t = np.arange(16000) / 16000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1) * 0.5
    soundfile.write(tmp_path / "stereo16k.wav", stereo, 16000)
    soundfile.write(tmp_path / "mono44k.flac", np.sin(2 * np.pi * 440 * np.arange(22050) / 44100) * 0.5, 44100)
    clips = load_clips([tmp_path / "stereo16k.wav", tmp_path / "mono44k.flac"], 8000, 8000)
    assert clips.shape == (2, 8000)
    assert clips[0].abs().max() == pytest.approx(0.25, abs=0.01)  # the average of the two channels


def test_front_end_shapes_and_augmentation_in_training_only():
    front_end = FrontEnd(FrontEndConfig(), AugmentConfig(noise_recordings=False))
    waveforms = torch.randn(3, 8000) * 0.1
    assert front_end.eval()(waveforms).shape == (3, 40, 101)
    assert torch.equal(front_end(waveforms), front_end(waveforms))  # eval: deterministic
    torch.manual_seed(0)
    assert not torch.equal(front_end.train()(waveforms), front_end.eval()(waveforms))


def test_normalisations_make_the_features_level_independent():
    waveforms = torch.randn(2, 8000) * torch.tensor([[0.01], [0.5]])  # same shape, 34 dB apart
    waveforms[1] = waveforms[0] * 50
    for normalize in ("band", "utterance"):
        features = FrontEnd(FrontEndConfig(normalize=normalize)).eval()(waveforms)
        assert torch.allclose(features[0], features[1], atol=1e-3)
    band = FrontEnd(FrontEndConfig(normalize="band")).eval()(waveforms)
    assert torch.allclose(band.mean(dim=-1), torch.zeros(2, 40), atol=1e-4)
    utterance = FrontEnd(FrontEndConfig(normalize="utterance")).eval()(waveforms)
    assert torch.allclose(utterance.mean(dim=(1, 2)), torch.zeros(2), atol=1e-4)
    assert torch.allclose(utterance.std(dim=(1, 2)), torch.ones(2), atol=1e-4)
    raw = FrontEnd(FrontEndConfig(normalize=None)).eval()(waveforms)
    assert (raw[1] - raw[0]).mean() > 5  # log power grows with the level
    with pytest.raises(ValueError, match="normalize"):
        FrontEndConfig(normalize="global")


def test_a_saved_spotter_loads_with_weights_only(tmp_path):
    model = kws_model("res8-narrow", 3).eval()
    save_spotter(tmp_path / "spotter.pt", model, "res8-narrow", True, ["a", "b", "c"], FrontEndConfig(), 8000)
    loaded, front_end, saved = load_spotter(tmp_path / "spotter.pt")
    x = torch.randn(2, 8000)
    assert torch.equal(loaded(front_end(x)), model(front_end(x)))
    assert saved["labels"] == ["a", "b", "c"] and saved["clip"] == {"length": 8000, "policy": "centre"}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "BOOK_PROFILE": "ci"},
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A res8-narrow (instance norm in its first block, two SpecAugment masks of each kind) trained for two epochs
    on 40 FSDD clips by the command-line entry, the second averaged (stochastic weight averaging), also tested
    with speed test-time augmentation."""
    path = tmp_path_factory.mktemp("spotter") / "res8-narrow.pt"
    result = run(
        "tutorial_utils.train", "--dataset", "fsdd", "--model", "res8-narrow", "--epochs", "2", "--limit", "40",
        "--test-speakers", "theo", "--save", str(path), "--quiet", "--threads", "1", "--device", "cpu",
        "--instance-norm", "1", "--tta-speeds", "0.9,1,1.1", "--specaugment-masks", "2", "--average-last", "1",
    )
    assert result.returncode == 0, result.stderr
    return path, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_train_command_prints_a_json_line_and_saves_the_model(trained):
    path, line = trained
    assert path.is_file()
    assert line["dataset"] == "fsdd" and line["split"] == "speaker-independent:theo" and line["model"] == "res8-narrow"
    assert line["profile"] == "ci" and line["epochs"] == 2 and line["test_examples"] == 40
    assert line["samples_per_second"] > 0
    assert {"device", "wall_seconds", "train_seconds", "cpu_seconds", "augment"} <= set(line)
    assert line["command"].startswith("python -m tutorial_utils.train ") and "--test-speakers theo" in line["command"]


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_reported_test_accuracy_is_the_saved_models_on_the_held_out_speakers_clips(trained):
    """The JSON line's accuracy counts whole clips, and it is what the saved model scores on the
    40 test clips of the held-out speaker (theo) that the same split selects."""
    path, line = trained
    correct = line["test_accuracy"] * line["test_examples"]
    assert correct == pytest.approx(round(correct), abs=1e-6), f"{line['test_accuracy']} of 40 clips is no count"
    recordings = fsdd_recordings(test_speakers=["theo"], limit=40)["test"]
    assert len(recordings) == 40 and {r.speaker for r in recordings} == {"theo"}
    waveforms, digits = fsdd_tensors(test_speakers=["theo"], limit=40)["test"]
    model, front_end, _ = load_spotter(path)
    with torch.no_grad():
        predictions = model(front_end(waveforms)).argmax(dim=1)
    assert (predictions == digits).sum().item() == round(correct)
    assert line["test_predictions"] == predictions.tolist()  # each clip's digit, in fsdd_recordings' order
    assert line["instance_norm"] == 1 and type(model.blocks[0].bn1).__name__ == "InstanceBatchNorm2d"
    assert line["specaugment_masks"] == 2 and line["average_last"] == 1
    loader = DataLoader(TensorDataset(waveforms, digits), batch_size=16)
    probabilities, _ = speed_tta_probabilities(model, loader, front_end, line["tta_speeds"])
    assert line["tta_speeds"] == [0.9, 1.0, 1.1] and line["tta_predictions"] == probabilities.argmax(1).tolist()
    assert line["test_accuracy_tta"] == round((probabilities.argmax(1) == digits).float().mean().item(), 4)


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_predict_command_handles_any_rate_and_reports_bad_files(trained, tmp_path):
    path, _ = trained
    t = np.arange(24000) / 48000
    soundfile.write(tmp_path / "stereo48k.wav", np.stack([np.sin(2 * np.pi * 300 * t)] * 2, axis=1) * 0.3, 48000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really a wav file")
    files = [tmp_path / "stereo48k.wav", tmp_path / "broken.wav", tmp_path / "missing.flac", tmp_path / "stereo48k.wav"]
    result = run("tutorial_utils.predict", "--checkpoint", str(path), *map(str, files))
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert result.returncode == 1 and len(lines) == 4
    assert lines[0]["label"] in [str(d) for d in range(10)] and 0 < lines[0]["probability"] <= 1
    assert lines[3] == lines[0]
    assert "broken.wav" in lines[1]["error"] and "missing.flac" in lines[2]["error"]


def test_the_true_label_comes_from_the_folder_or_the_name():
    digits = [str(d) for d in range(10)]
    assert predict.label_from_path("speech_commands/seven/0a7c2a8d_nohash_0.wav", digits) == "7"
    assert predict.label_from_path("SEVEN/clip.wav", digits) == "7"  # a folder's case does not matter
    assert predict.label_from_path("fsdd/recordings/3_theo_12.wav", digits) == "3"
    assert predict.label_from_path("mine/3/clip.flac", digits) == "3"
    assert predict.label_from_path("mine/seven_again.wav", digits) == "7"
    assert predict.label_from_path("mine/clip.wav", digits) is None
    assert predict.label_from_path("yes/clip.wav", ["yes", "no"]) == "yes"
    assert predict.label_from_path("seven/clip.wav", ["yes", "no"]) is None  # words name digits only for digit labels


@pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory")
def test_predict_scores_clips_of_another_corpus_by_their_paths(trained, tmp_path):
    """Clips laid out as Speech Commands lays them out (here FSDD's, copied): the last line counts
    the files whose predicted label is the one their folder names, with a Wilson interval; a file
    that names no label stops the command before any work, with one line that names it."""
    path, _ = trained
    files = []
    for recording in fsdd_recordings(test_speakers=["theo"], limit=40)["test"][::4]:
        folder = tmp_path / ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"][recording.digit]
        folder.mkdir(exist_ok=True)
        files.append(folder / f"{recording.take}_nohash_0.wav")
        files[-1].write_bytes(recording.path.read_bytes())
    result = run("tutorial_utils.predict", "--checkpoint", str(path), "--score", *map(str, files))
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert result.returncode == 0 and len(lines) == len(files) + 1
    right = sum(line["label"] == predict.label_from_path(file, [str(d) for d in range(10)]) for line, file in zip(lines, files))
    summary = lines[-1]
    assert summary["scored"] == len(files) == 10 and summary["right"] == right
    assert summary["accuracy"] == round(right / 10, 4) and summary["wilson_95"][0] <= right / 10 <= summary["wilson_95"][1]
    (tmp_path / "unlabelled.wav").write_bytes(files[0].read_bytes())
    result = run("tutorial_utils.predict", "--checkpoint", str(path), "--score", str(files[0]), str(tmp_path / "unlabelled.wav"))
    assert result.returncode == 2 and result.stdout == ""
    error = result.stderr.strip().splitlines()[-1]  # argparse's usage, then one line
    assert error.startswith("python -m tutorial_utils.predict: error: --score: ") and "unlabelled.wav names none" in error
    assert "seven/clip.wav" in error


def test_predict_command_explains_a_missing_checkpoint(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        predict.main(["--checkpoint", str(tmp_path / "none.pt"), "x.wav"])
    assert exit.value.code == 2 and "tutorial_utils.train --save" in capsys.readouterr().err


def test_train_command_rejects_unknown_augmentations(capsys):
    with pytest.raises(SystemExit) as exit:
        train.main(["--augment", "shift,reverb"])
    assert exit.value.code == 2 and "reverb" in capsys.readouterr().err


def test_stronger_spec_augment_masks_more_of_each_clip():
    """``AugmentConfig(masks=2)`` gives SpecAugment two masks of each kind: on average more of each
    clip's features is set to the mask value than with one."""
    features = torch.randn(256, 40, 101) + 5.0  # no feature is 0 before masking

    def masked_fraction(masks: int) -> float:
        front_end = FrontEnd(FrontEndConfig(), AugmentConfig(noise_recordings=False, masks=masks))
        assert (front_end.spec_augment.freq_masks, front_end.spec_augment.time_masks) == (masks, masks)
        torch.manual_seed(0)
        return (front_end.spec_augment.train()(features) == 0).float().mean().item()

    one, two = masked_fraction(1), masked_fraction(2)
    assert 0 < one < two < 2 * one + 0.01
