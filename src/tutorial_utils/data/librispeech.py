"""LibriSpeech (Panayotov et al., 2015): read English audiobook speech with character labels.

The folder layout is the dataset's own,
``<root>/LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac`` with one
``<speaker>-<chapter>.trans.txt`` per chapter (``<utterance id> <TRANSCRIPT>`` per line).
``torchaudio.datasets.LIBRISPEECH`` finds the files and transcripts (and downloads a subset on
request); the audio is read with ``soundfile``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import soundfile
import torch
from torch.utils.data import Dataset
from torchaudio.datasets import LIBRISPEECH

from .. import config
from .text import LIBRISPEECH_CHARACTERS, Vocabulary
from .audio import load_audio

SAMPLE_RATE = 16000
SUBSETS = ("dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360", "train-other-500")


class LibriSpeech(Dataset):
    """One LibriSpeech subset: item ``i`` is ``(waveform (samples,), labels (characters,))`` at 16 kHz.

    ``root``: the folder holding ``LibriSpeech/`` (default: the data directory). ``download``: fetch
    and unpack the subset from openslr.org if it is missing (``test-clean`` is 346 MB,
    ``train-clean-100`` 6.3 GB). ``max_seconds``: leave out longer utterances (their lengths come
    from the FLAC headers). ``transcripts[i]`` is the text, ``speakers[i]`` the speaker id.
    """

    def __init__(
        self,
        subset: str = "test-clean",
        root: str | Path | None = None,
        vocabulary: Vocabulary = LIBRISPEECH_CHARACTERS,
        download: bool = False,
        max_seconds: float | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if subset not in SUBSETS:
            raise ValueError(f"unknown LibriSpeech subset {subset!r}; use one of {', '.join(SUBSETS)}")
        root = Path(root) if root is not None else config.data_dir()
        if download:
            root.mkdir(parents=True, exist_ok=True)
        try:
            index = LIBRISPEECH(root, url=subset, download=download)
        except RuntimeError as error:
            raise FileNotFoundError(
                f"LibriSpeech {subset} not found under {root / 'LibriSpeech' / subset}; "
                "pass download=True to fetch it from openslr.org"
            ) from error
        self.vocabulary = vocabulary
        self.transform = transform
        self.sample_rate = SAMPLE_RATE
        self.files: list[Path] = []
        self.transcripts: list[str] = []
        self.speakers: list[int] = []
        self.sample_lengths: list[int] = []
        for n in range(len(index)):
            relative, _, transcript, speaker, _, _ = index.get_metadata(n)
            path = root / "LibriSpeech" / relative
            frames = soundfile.info(str(path)).frames
            if max_seconds is not None and frames > max_seconds * SAMPLE_RATE:
                continue
            self.files.append(path)
            self.transcripts.append(transcript)
            self.speakers.append(speaker)
            self.sample_lengths.append(frames)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        waveform, _ = load_audio(self.files[index], sample_rate=SAMPLE_RATE, resample=True)
        if self.transform is not None:
            waveform = self.transform(waveform)
        return waveform, torch.tensor(self.vocabulary.encode(self.transcripts[index]))
