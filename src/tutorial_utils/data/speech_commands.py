"""Speech Commands v0.02 (Warden, 2018) for keyword spotting: one-second clips of 35 words at 16 kHz.

The files stay in the dataset's own layout, ``<root>/SpeechCommands/speech_commands_v0.02/<word>/
<speaker hash>_nohash_<n>.wav``. ``torchaudio.datasets.SPEECHCOMMANDS`` downloads it on request and
lists each subset's files by the dataset's ``validation_list.txt`` and ``testing_list.txt`` (its
metadata only: the audio is read here with ``soundfile``).

Two tasks: ``"35"`` classifies all 35 words; ``"12"`` is the classic keyword-spotting benchmark --
ten keywords, ``_silence_`` (clips cut from the ``_background_noise_`` recordings) and ``_unknown_``
(every other word), as in TensorFlow's speech_commands example.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import soundfile
import torch
from torch.utils.data import Dataset
from torchaudio.datasets import SPEECHCOMMANDS

from .. import config
from .audio import AudioFileError, fit_clip, load_audio

SAMPLE_RATE = 16000
#: Samples per example: one second.
CLIP_LENGTH = 16000
VERSION = "speech_commands_v0.02"
SUBSETS = ("training", "validation", "testing")
SPEECH_COMMANDS_WORDS = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
    "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
    "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
)  # fmt: skip
KWS12_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
BACKGROUND_FOLDER = "_background_noise_"
#: The stretch of each background recording (as fractions of its length) that each subset cuts its
#: silence clips from, so that no noise is shared between training and evaluation.
SILENCE_REGIONS = {"training": (0.0, 0.8), "validation": (0.8, 0.9), "testing": (0.9, 1.0)}


@dataclass(frozen=True)
class Clip:
    """One example: a word's file, or (``offset`` set) one second of a background recording from
    sample ``offset`` on."""

    path: Path
    label: int
    offset: int | None = None


def _silence_clips(folder: Path, subset: str, count: int, label: int, rng: random.Random) -> list[Clip]:
    """``count`` one-second stretches drawn by ``rng`` from this subset's region of each background file."""
    if count == 0:
        return []
    low, high = SILENCE_REGIONS[subset]
    spans = []
    for path in sorted((folder / BACKGROUND_FOLDER).glob("*.wav")):
        info = soundfile.info(str(path))
        if info.samplerate != SAMPLE_RATE:
            raise AudioFileError(
                f"{path} is sampled at {info.samplerate} Hz, not {SAMPLE_RATE} Hz: "
                "replace it with the dataset's own file"
            )
        start, last = int(low * info.frames), int(high * info.frames) - CLIP_LENGTH
        if last >= start:
            spans.append((path, start, last))
    if not spans:
        raise FileNotFoundError(
            f"no background recordings long enough to cut {subset} silence from in {folder / BACKGROUND_FOLDER}: "
            "restore the dataset's _background_noise_ folder, or pass silence_fraction=0"
        )
    clips = []
    for _ in range(count):
        path, start, last = rng.choice(spans)
        clips.append(Clip(path, label, rng.randint(start, last)))
    return clips


class SpeechCommandsKWS(Dataset):
    """One subset of Speech Commands v0.02: item ``i`` is ``(waveform (16000,), label index)``, float32
    at 16 kHz, shorter clips zero-padded at the end. ``labels`` names the classes, ``targets[i]`` is
    item ``i``'s label index (for counting or balancing classes without reading audio).

    ``root``: the folder holding ``SpeechCommands/`` (default: the data directory). ``download``: fetch
    the 2.3 GB archive from download.tensorflow.org if it is absent. ``task``: ``"35"`` words, or
    ``"12"`` (:data:`KWS12_WORDS`, ``_silence_``, ``_unknown_``). For task 12, the subset gets
    ``ceil(silence_fraction * keyword clips)`` silence clips, cut at positions drawn from ``seed``;
    ``unknown_fraction`` (``None``: keep all) keeps a seeded random ``ceil(unknown_fraction * keyword
    clips)`` of the other words (TensorFlow's recipe uses 0.1 for both). ``transform`` (optional)
    maps each waveform on every access.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        subset: str = "training",
        task: str = "12",
        download: bool = False,
        silence_fraction: float = 0.1,
        unknown_fraction: float | None = None,
        seed: int = 0,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if subset not in SUBSETS:
            raise ValueError(f"unknown subset {subset!r}; use one of {', '.join(SUBSETS)}")
        if task not in ("12", "35"):
            raise ValueError(f"unknown task {task!r}; use '12' (keyword spotting) or '35' (all words)")
        root = Path(root) if root is not None else config.data_dir()
        self.folder = root / "SpeechCommands" / VERSION
        if download:
            root.mkdir(parents=True, exist_ok=True)
        elif not self.folder.is_dir():
            raise FileNotFoundError(
                f"Speech Commands v0.02 is not in {self.folder}: pass download=True to fetch it (2.3 GB), "
                f"or set {config.DATA_DIR_VARIABLE} to a folder that has SpeechCommands/{VERSION}"
            )
        index = SPEECHCOMMANDS(root, url=VERSION, subset=subset, download=download)
        self.labels = KWS12_WORDS + (SILENCE, UNKNOWN) if task == "12" else SPEECH_COMMANDS_WORDS
        label_of = {word: i for i, word in enumerate(self.labels)}
        clips = []
        for n in range(len(index)):
            relative, _, word, _, _ = index.get_metadata(n)
            if task == "35" and word not in label_of:
                raise ValueError(f"{relative}: {word!r} is not one of Speech Commands v0.02's 35 words")
            label = label_of[word] if word in label_of else label_of[UNKNOWN]
            clips.append(Clip(root / "SpeechCommands" / relative, label))
        if task == "12":
            rng = random.Random(f"{seed}/{subset}")
            keywords = sum(clip.label < len(KWS12_WORDS) for clip in clips)
            if unknown_fraction is not None:
                unknown = [i for i, clip in enumerate(clips) if clip.label == label_of[UNKNOWN]]
                dropped = set(rng.sample(unknown, max(0, len(unknown) - math.ceil(unknown_fraction * keywords))))
                clips = [clip for i, clip in enumerate(clips) if i not in dropped]
            count = math.ceil(silence_fraction * keywords)
            clips += _silence_clips(self.folder, subset, count, label_of[SILENCE], rng)
        self.clips = clips
        self.targets = [clip.label for clip in clips]
        self.sample_rate = SAMPLE_RATE
        self.transform = transform

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        clip = self.clips[index]
        if clip.offset is None:
            waveform = fit_clip(load_audio(clip.path, sample_rate=SAMPLE_RATE)[0], CLIP_LENGTH)
        else:
            samples, _ = soundfile.read(
                str(clip.path), frames=CLIP_LENGTH, start=clip.offset, dtype="float32", always_2d=True
            )
            waveform = torch.from_numpy(samples.mean(axis=1))
        if self.transform is not None:
            waveform = self.transform(waveform)
        return waveform, clip.label
