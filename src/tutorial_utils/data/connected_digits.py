"""Connected digits: utterances of 1 to 7 FSDD digits by one speaker, joined by random pauses.

Each utterance strings together isolated FSDD recordings of a single speaker, so the words are
real speech but their junctions are not: there is no coarticulation (no word shaping the next) and
the pauses are near-silent. Utterances are drawn deterministically from a seed and written once as
FLAC files plus a ``manifest.jsonl`` into a cache folder, in *pools* per speaker that follow FSDD's
takes (``train``: takes 10-49, ``validation``: 5-9, ``test``: 0-4, as :func:`split_fsdd`):

* speaker-dependent split: every speaker's train / validation / test pools;
* speaker-independent split (``test_speakers``): the held-out speakers' three pools are the test
  set; the other speakers' train and test pools train, their validation pools validate.

Extra voices (``extra_voices``, e.g. the synthetic ones of :mod:`tutorial_utils.data.synthetic`)
only ever train: each voice's recordings make one pool of ``counts["extra_voice"]`` utterances.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import soundfile
import torch
from torch.utils.data import Dataset

from .. import config
from .audio import load_audio
from .fsdd import FsddRecording, list_fsdd, only_speakers, split_fsdd

SAMPLE_RATE = 8000
POOLS = ("train", "validation", "test")
#: Utterances per speaker and pool in the cpu profile (the ci profile asks for fewer).
DEFAULT_COUNTS = {"train": 600, "validation": 60, "test": 100, "extra_voice": 30}
#: Bump when the way utterances are drawn or rendered changes: old caches are then ignored.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Composition:
    """How utterances are drawn: digits per utterance, pause lengths (s), dither level."""

    min_digits: int = 1
    max_digits: int = 7
    edge_pause: tuple[float, float] = (0.1, 0.3)
    inner_pause: tuple[float, float] = (0.0, 0.4)
    dither: float = 1e-3


@dataclass(frozen=True)
class DigitUtterance:
    """One utterance: ``digits`` spoken by ``speaker``, from FSDD files ``sources``, with ``pauses``
    in seconds before the first digit, between digits and after the last (``len(digits) + 1``)."""

    speaker: str
    digits: tuple[int, ...]
    sources: tuple[str, ...]
    pauses: tuple[float, ...]
    noise_seed: int

    @property
    def text(self) -> str:
        """The transcript as numerals, e.g. ``"4 7 1"``."""
        return " ".join(str(d) for d in self.digits)


def compose(
    recordings: Sequence[FsddRecording], count: int, rng: random.Random, composition: Composition = Composition()
) -> list[DigitUtterance]:
    """Draw ``count`` utterances; each picks one speaker, then digits and a recording per digit."""
    by_speaker_digit: dict[str, dict[int, list[FsddRecording]]] = {}
    for rec in sorted(recordings, key=lambda r: Path(r.path).name):
        by_speaker_digit.setdefault(rec.speaker, {}).setdefault(rec.digit, []).append(rec)
    speakers = sorted(by_speaker_digit)
    utterances = []
    for _ in range(count):
        speaker = rng.choice(speakers)
        available = sorted(by_speaker_digit[speaker])
        digits = [rng.choice(available) for _ in range(rng.randint(composition.min_digits, composition.max_digits))]
        sources = [Path(rng.choice(by_speaker_digit[speaker][d]).path).name for d in digits]
        inner = [round(rng.uniform(*composition.inner_pause), 3) for _ in digits[1:]]
        edges = [round(rng.uniform(*composition.edge_pause), 3) for _ in range(2)]
        pauses = (edges[0], *inner, edges[1])
        utterances.append(DigitUtterance(speaker, tuple(digits), tuple(sources), pauses, rng.getrandbits(31)))
    return utterances


def render(
    utterance: DigitUtterance, audio: Mapping[str, torch.Tensor], dither: float = 1e-3, sample_rate: int = SAMPLE_RATE
) -> torch.Tensor:
    """The waveform ``(samples,)``: silences and recordings (``audio[file name]``) in turn, plus
    Gaussian dither of standard deviation ``dither`` so that no stretch is digital silence."""
    pieces = []
    for pause, source in zip(utterance.pauses, (*utterance.sources, None)):
        pieces.append(torch.zeros(round(pause * sample_rate)))
        if source is not None:
            pieces.append(audio[source])
    waveform = torch.cat(pieces)
    generator = torch.Generator().manual_seed(utterance.noise_seed)
    return waveform + dither * torch.randn(waveform.shape, generator=generator)


def cache_dir(candidates: Sequence[Path] | None = None) -> Path:
    """The first writable folder of ``candidates`` (created if needed).

    Default order: :func:`config.cache_dir` (the user's cache, never the data directory, which may be
    a read-only shared copy), then a folder in the system's temporary directory.
    """
    if candidates is None:
        candidates = [
            config.cache_dir(),
            Path(tempfile.gettempdir()) / "resnet-speech-book-cache",
        ]
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder):
                return folder
        except OSError:
            continue
    raise OSError(f"none of these folders is writable: {', '.join(map(str, candidates))}")


def _pool_dir(
    cache: Path, speaker: str, pool: str, count: int, seed: int, recordings: Sequence[FsddRecording], composition: Composition
) -> Path:
    names = sorted(Path(r.path).name for r in recordings)
    key = json.dumps([FORMAT_VERSION, speaker, pool, count, seed, asdict(composition), names])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache / "connected_digits" / f"{speaker}-{pool}-{count}-seed{seed}-{digest}"


def build_pool(
    recordings: Sequence[FsddRecording],
    speaker: str,
    pool: str,
    count: int,
    seed: int = 0,
    cache: Path | None = None,
    composition: Composition = Composition(),
) -> Path:
    """Render ``count`` utterances of ``speaker`` from ``recordings`` (one pool's takes) into the cache,
    unless already there; returns the folder holding ``manifest.jsonl`` and the FLAC files."""
    mine = [r for r in recordings if r.speaker == speaker]
    if not mine:
        raise ValueError(f"no recordings of speaker {speaker!r} in this {pool} pool")
    folder = _pool_dir(cache or cache_dir(), speaker, pool, count, seed, mine, composition)
    if (folder / "manifest.jsonl").exists():
        return folder
    rng = random.Random(f"{seed}/{speaker}/{pool}")
    utterances = compose(mine, count, rng, composition)
    audio = {Path(r.path).name: load_audio(r.path, sample_rate=SAMPLE_RATE, resample=True)[0] for r in mine}
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
    try:
        lines = []
        for i, utt in enumerate(utterances):
            name = f"{i:05d}.flac"
            waveform = render(utt, audio, composition.dither).clamp(-1, 1)
            soundfile.write(staging / name, waveform.numpy(), SAMPLE_RATE, subtype="PCM_16")
            lines.append(json.dumps({"file": name, **asdict(utt)}))
        (staging / "manifest.jsonl").write_text("\n".join(lines) + "\n")
        staging.rename(folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / "manifest.jsonl").exists():  # not built meanwhile by another process
            raise
    return folder


class ConnectedDigits(Dataset):
    """Rendered utterances: item ``i`` is ``(waveform (samples,), labels (digits,))`` at 8 kHz, labels
    ``digit + 1`` (0 is CTC's blank, as in :data:`tutorial_utils.vocabulary.DIGITS`).

    ``transform`` (optional) maps each waveform, e.g. to add background noise while training.
    """

    def __init__(
        self, folders: Sequence[Path], transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        self.files: list[Path] = []
        self.utterances: list[DigitUtterance] = []
        for folder in folders:
            for line in (Path(folder) / "manifest.jsonl").read_text().splitlines():
                entry = json.loads(line)
                self.files.append(Path(folder) / entry.pop("file"))
                self.utterances.append(DigitUtterance(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}))
        self.transform = transform
        self.sample_rate = SAMPLE_RATE
        #: Samples of each utterance (for batching by length without decoding the audio).
        self.sample_lengths = [soundfile.info(str(f)).frames for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        waveform, _ = load_audio(self.files[index])
        if self.transform is not None:
            waveform = self.transform(waveform)
        return waveform, torch.tensor(self.utterances[index].digits) + 1


def connected_digit_splits(
    test_speakers: Sequence[str] | None = None,
    counts: Mapping[str, int] | None = None,
    seed: int = 0,
    root: Path | None = None,
    cache: Path | None = None,
    composition: Composition = Composition(),
    speakers: Sequence[str] | None = None,
    extra_voices: Sequence[FsddRecording] = (),
) -> dict[str, ConnectedDigits]:
    """``{"train", "validation", "test"}`` datasets, built into the cache on first use.

    ``test_speakers=None``: speaker-dependent (every speaker in every split, different FSDD takes);
    else speaker-independent, holding out ``test_speakers``. ``counts``: utterances per speaker and
    pool (default :data:`DEFAULT_COUNTS`). ``root``: where FSDD is, as for :func:`list_fsdd`
    (default: found, or downloaded, under the data directory). ``cache``: default :func:`cache_dir`.
    ``speakers``: use only these speakers (default: every speaker present).
    ``extra_voices``: recordings of more voices (speakers not in FSDD), added to the training set
    only, ``counts["extra_voice"]`` utterances per voice drawn from all of its recordings.
    """
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    recordings = only_speakers(list_fsdd(root), speakers)
    speakers = sorted({r.speaker for r in recordings})
    unknown = set(test_speakers or ()) - set(speakers)
    if unknown:
        raise ValueError(f"unknown speakers {sorted(unknown)}; FSDD here has {speakers}")
    takes = split_fsdd(recordings)  # speaker-dependent: takes 0-4 test, 5-9 validation, rest train
    cache = cache or cache_dir()

    def pool(speaker: str, name: str) -> Path:
        return build_pool(takes[name], speaker, name, counts[name], seed, cache, composition)

    if test_speakers is None:
        plan = {split: [(s, split) for s in speakers] for split in POOLS}
    else:
        held_out = set(test_speakers)
        others = [s for s in speakers if s not in held_out]
        plan = {
            "train": [(s, p) for s in others for p in ("train", "test")],
            "validation": [(s, "validation") for s in others],
            "test": [(s, p) for s in sorted(held_out) for p in POOLS],
        }
    folders = {split: [pool(s, p) for s, p in items] for split, items in plan.items()}
    for voice in sorted({r.speaker for r in extra_voices}):
        if voice in speakers:
            raise ValueError(f"extra voice {voice!r} is also an FSDD speaker: give it another name")
        folders["train"].append(build_pool(extra_voices, voice, "train", counts["extra_voice"], seed, cache, composition))
    return {split: ConnectedDigits(items) for split, items in folders.items()}
