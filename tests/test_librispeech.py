"""The LibriSpeech reader on a tiny fake tree in the dataset's own layout."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from tutorial_utils.data.librispeech import LibriSpeech

UTTERANCES = {  # (speaker, chapter) -> transcripts
    (19, 198): ["NORTHANGER ABBEY", "IT'S A LONG STORY"],
    (84, 121123): ["GO DO YOU HEAR"],
}


@pytest.fixture
def fake_root(tmp_path):
    rng = np.random.default_rng(0)
    for (speaker, chapter), texts in UTTERANCES.items():
        folder = tmp_path / "LibriSpeech" / "dev-clean" / str(speaker) / str(chapter)
        folder.mkdir(parents=True)
        lines = []
        for utt, text in enumerate(texts):
            name = f"{speaker}-{chapter}-{utt:04d}"
            seconds = 0.5 + utt
            soundfile.write(folder / f"{name}.flac", 0.1 * rng.standard_normal(int(16000 * seconds)), 16000)
            lines.append(f"{name} {text}")
        (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_reads_audio_and_character_labels(fake_root):
    data = LibriSpeech("dev-clean", root=fake_root)
    assert len(data) == 3
    assert data.transcripts == ["NORTHANGER ABBEY", "IT'S A LONG STORY", "GO DO YOU HEAR"]
    assert data.speakers == [19, 19, 84]
    waveform, labels = data[1]
    assert waveform.dtype == torch.float32 and waveform.shape == (24000,)
    assert data.vocabulary.decode(labels.tolist()) == "IT'S A LONG STORY"
    assert data.sample_lengths == [8000, 24000, 8000]


def test_max_seconds_leaves_out_long_utterances(fake_root):
    assert LibriSpeech("dev-clean", root=fake_root, max_seconds=1.0).transcripts == ["NORTHANGER ABBEY", "GO DO YOU HEAR"]


def test_missing_subset_says_how_to_get_it(fake_root):
    with pytest.raises(FileNotFoundError, match="download=True"):
        LibriSpeech("test-clean", root=fake_root)
    with pytest.raises(ValueError, match="unknown LibriSpeech subset"):
        LibriSpeech("train-clean-5", root=fake_root)
