"""Speech Commands keyword spotting on a tiny fake tree in the layout torchaudio expects."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import soundfile
import torch

from tutorial_utils.data import KWS12_WORDS, SPEECH_COMMANDS_WORDS, SpeechCommandsKWS
from tutorial_utils.data.speech_commands import SILENCE_REGIONS

WORDS = ("yes", "no", "up", "cat", "dog", "bed")  # three keywords, three "unknown" words
SPEAKERS = {"aaaa1111": "training", "bbbb2222": "validation", "cccc3333": "testing"}
NOISE_SECONDS = {"pink_noise.wav": 12, "white_noise.wav": 10}


def level(word: str) -> float:
    """Each word's clips hold a constant level, so a waveform tells which file it came from."""
    return (SPEECH_COMMANDS_WORDS.index(word) + 1) / 50


@pytest.fixture
def fake_root(tmp_path):
    folder = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    lists = {"validation": [], "testing": []}
    for word in WORDS:
        (folder / word).mkdir(parents=True)
        for speaker, subset in SPEAKERS.items():
            samples = 12000 if word == "no" else 16000  # some clips are shorter than a second
            path = folder / word / f"{speaker}_nohash_0.wav"
            soundfile.write(path, np.full(samples, level(word)), 16000, subtype="PCM_16")
            if subset in lists:
                lists[subset].append(f"{word}/{speaker}_nohash_0.wav")
    (folder / "validation_list.txt").write_text("\n".join(lists["validation"]) + "\n")
    (folder / "testing_list.txt").write_text("\n".join(lists["testing"]) + "\n")
    noise = folder / "_background_noise_"
    noise.mkdir()
    rng = np.random.default_rng(0)
    for name, seconds in NOISE_SECONDS.items():
        soundfile.write(noise / name, 0.3 * rng.uniform(-1, 1, 16000 * seconds), 16000, subtype="PCM_16")
    (noise / "README.md").write_text("background noise\n")
    return tmp_path


def test_word_lists():
    assert len(SPEECH_COMMANDS_WORDS) == len(set(SPEECH_COMMANDS_WORDS)) == 35
    assert list(SPEECH_COMMANDS_WORDS) == sorted(SPEECH_COMMANDS_WORDS)
    assert KWS12_WORDS == ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
    assert set(KWS12_WORDS) <= set(SPEECH_COMMANDS_WORDS)


@pytest.mark.parametrize("subset", ["training", "validation", "testing"])
def test_35_words_follow_the_dataset_lists(fake_root, subset):
    data = SpeechCommandsKWS(fake_root, subset=subset, task="35")
    assert data.labels == SPEECH_COMMANDS_WORDS and len(data) == len(WORDS)
    speaker = next(s for s, name in SPEAKERS.items() if name == subset)
    assert {clip.path.name for clip in data.clips} == {f"{speaker}_nohash_0.wav"}
    assert Counter(data.labels[t] for t in data.targets) == Counter(WORDS)
    for i in range(len(data)):
        waveform, label = data[i]
        assert waveform.shape == (16000,) and waveform.dtype == torch.float32 and label == data.targets[i]
        expected = level(data.labels[label])
        if data.labels[label] == "no":  # 12,000 samples, centred between zeros by the clip policy
            assert torch.allclose(waveform[2000:14000], torch.tensor(expected), atol=1e-4)
            assert (waveform[:2000] == 0).all() and (waveform[14000:] == 0).all()
        else:
            assert torch.allclose(waveform, torch.tensor(expected), atol=1e-4)


def test_12_classes_with_unknown_and_silence(fake_root):
    data = SpeechCommandsKWS(fake_root, subset="training", task="12", silence_fraction=1.0)
    assert data.labels == KWS12_WORDS + ("_silence_", "_unknown_")
    counts = Counter(data.labels[t] for t in data.targets)
    assert counts == {"yes": 1, "no": 1, "up": 1, "_unknown_": 3, "_silence_": 3}
    for i, target in enumerate(data.targets):
        waveform, label = data[i]
        assert label == target and waveform.shape == (16000,)
        if data.labels[label] == "_unknown_":
            assert round(waveform[0].item() * 50) - 1 in [SPEECH_COMMANDS_WORDS.index(w) for w in ("cat", "dog", "bed")]
    # fewer unknown words when asked: ceil(0.5 * 3 keywords) = 2 of the 3
    fewer = SpeechCommandsKWS(fake_root, subset="training", silence_fraction=0.1, unknown_fraction=0.5)
    counts = Counter(fewer.labels[t] for t in fewer.targets)
    assert counts == {"yes": 1, "no": 1, "up": 1, "_unknown_": 2, "_silence_": 1}


def test_silence_is_cut_deterministically_from_each_subsets_region(fake_root):
    noise_folder = fake_root / "SpeechCommands" / "speech_commands_v0.02" / "_background_noise_"
    for subset, (low, high) in SILENCE_REGIONS.items():
        data = SpeechCommandsKWS(fake_root, subset=subset, silence_fraction=4.0, seed=1)
        silence = [(i, clip) for i, clip in enumerate(data.clips) if clip.offset is not None]
        assert len(silence) == 12 and all(data.labels[clip.label] == "_silence_" for _, clip in silence)
        for i, clip in silence:
            frames = NOISE_SECONDS[clip.path.name] * 16000
            assert clip.path.parent == noise_folder and low * frames <= clip.offset <= high * frames - 16000
            expected, _ = soundfile.read(clip.path, start=clip.offset, frames=16000, dtype="float32")
            assert torch.equal(data[i][0], torch.from_numpy(expected))
        again = SpeechCommandsKWS(fake_root, subset=subset, silence_fraction=4.0, seed=1)
        other_seed = SpeechCommandsKWS(fake_root, subset=subset, silence_fraction=4.0, seed=2)
        assert again.clips == data.clips and other_seed.clips != data.clips


def test_silence_needs_background_noise(fake_root):
    folder = fake_root / "SpeechCommands" / "speech_commands_v0.02" / "_background_noise_"
    for path in folder.glob("*.wav"):
        path.unlink()
    with pytest.raises(FileNotFoundError, match="silence_fraction=0"):
        SpeechCommandsKWS(fake_root, subset="testing")
    assert len(SpeechCommandsKWS(fake_root, subset="testing", silence_fraction=0)) == 6


def test_transform_runs_on_each_item(fake_root):
    data = SpeechCommandsKWS(fake_root, subset="validation", task="35", transform=lambda w: w[:100])
    assert data[0][0].shape == (100,)


def test_absent_dataset_and_bad_arguments(tmp_path, fake_root):
    with pytest.raises(FileNotFoundError, match=r"speech_commands_v0\.02: pass download=True"):
        SpeechCommandsKWS(tmp_path / "empty")
    assert not (tmp_path / "empty").exists()
    with pytest.raises(ValueError, match="unknown subset 'train'"):
        SpeechCommandsKWS(fake_root, subset="train")
    with pytest.raises(ValueError, match="unknown task '10'"):
        SpeechCommandsKWS(fake_root, task="10")


def test_35_words_rejects_a_word_outside_the_dataset(fake_root):
    folder = fake_root / "SpeechCommands" / "speech_commands_v0.02" / "hello"
    folder.mkdir()
    soundfile.write(folder / "dddd4444_nohash_0.wav", np.zeros(16000), 16000)
    with pytest.raises(ValueError, match="'hello' is not one of Speech Commands v0.02's 35 words"):
        SpeechCommandsKWS(fake_root, task="35")
    kws = SpeechCommandsKWS(fake_root, task="12", silence_fraction=0)
    assert Counter(kws.labels[t] for t in kws.targets)["_unknown_"] == 4  # cat, dog, bed and hello


def test_the_training_command_trains_and_saves_a_12_class_spotter(fake_root, monkeypatch, tmp_path):
    from tutorial_utils.cli import train
    from tutorial_utils.training.checkpoint import load_spotter

    monkeypatch.setenv("BOOK_DATA_DIR", str(fake_root))
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    args = ["--dataset", "speech-commands-12", "--model", "res8-narrow", "--epochs", "1", "--quiet", "--workers", "0"]
    result = train.main([*args, "--augment", "none", "--save", str(tmp_path / "sc.pt")])
    assert result["dataset"] == "speech-commands-12" and result["classes"] == 12
    assert result["test_examples"] == len(SpeechCommandsKWS(fake_root, subset="testing", unknown_fraction=0.1))
    _, front_end, saved = load_spotter(tmp_path / "sc.pt")
    assert saved["labels"] == list(KWS12_WORDS + ("_silence_", "_unknown_")) and saved["clip"] == {"length": 16000, "policy": "centre"}
    assert front_end.config.sample_rate == 16000 and front_end(torch.zeros(2, 16000)).shape == (2, 40, 101)
    with pytest.raises(SystemExit):
        train.main([*args, "--test-speakers", "aaaa1111"])
