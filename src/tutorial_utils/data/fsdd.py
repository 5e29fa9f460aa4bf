"""The Free Spoken Digit Dataset (FSDD, v1.0.10): finding or downloading it, listing, splitting, loading.

FSDD holds 3,000 recordings of the digits 0-9 by six English speakers, 50 takes each, as 8 kHz
mono 16-bit WAV files named ``{digit}_{speaker}_{take}.wav``. It lives in
``<data dir>/fsdd/recordings`` and is checked against the SHA-256 manifest shipped with this
package (``fsdd_sha256sums.txt``). A copy may hold only some speakers: the files present must match
the manifest, and only a fresh download must be complete.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TypeVar

import torch
from torch.utils.data import Dataset

from .. import config
from .audio import fit_clip, load_audio
from . import download
from .download import ChecksumError, DownloadError, _some, check_sha256sums, download_file, read_sha256sums

FSDD_VERSION = "1.0.10"
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v{FSDD_VERSION}.tar.gz"
FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
SAMPLE_RATE = 8000
#: Takes 0-4 of every speaker and digit are FSDD's official test set.
TEST_TAKES = range(0, 5)

_NAME = re.compile(r"(\d+)_([^_]+)_(\d+)")
#: Folders already checked in this process: (folder, its files' state, manifest), see _verification_key.
_verified: set[tuple[str, int, int]] = set()

T = TypeVar("T")


@dataclass(frozen=True)
class FsddRecording:
    """One FSDD file: ``path`` to ``{digit}_{speaker}_{take}.wav`` and the fields of its name."""

    path: Path
    digit: int
    speaker: str
    take: int

    @classmethod
    def from_path(cls, path: str | Path) -> FsddRecording:
        """Parse a file name such as ``7_jackson_32.wav``."""
        path = Path(path)
        match = _NAME.fullmatch(path.stem)
        if match is None or path.suffix != ".wav":
            raise ValueError(f"{path.name} is not an FSDD file name like 7_jackson_32.wav")
        return cls(path, int(match[1]), match[2], int(match[3]))


@lru_cache(maxsize=1)
def fsdd_manifest() -> Mapping[str, str]:
    """``{file name: sha256}`` of all 3,000 recordings of FSDD v1.0.10 (shipped with the package)."""
    text = importlib.resources.files(__package__).joinpath("fsdd_sha256sums.txt").read_text()
    return MappingProxyType(read_sha256sums(text))


def _fix(recordings: Path, url: str) -> str:
    return (
        f"No network? Download {url} by hand and unpack it so that {recordings} holds the WAV files, "
        f"or set {config.DATA_DIR_VARIABLE} to a folder that has fsdd/recordings."
    )


def _verification_key(recordings: Path, manifest: Mapping[str, str]) -> tuple[str, int, int]:
    """Identifies a folder's state (its WAV files' names, sizes and times) and the manifest."""
    with os.scandir(recordings) as entries:
        wavs = [entry for entry in entries if entry.name.endswith(".wav")]
        files = sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns) for entry in wavs)
    return str(recordings.resolve()), hash(tuple(files)), hash(frozenset(manifest.items()))


def _problems(recordings: Path, manifest: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """``(altered, missing)``: WAV files whose SHA-256 differs from ``manifest``, and the files of
    ``manifest`` missing for the speakers present (a copy may hold only some speakers, but each of
    those completely). Files that ``manifest`` does not list -- a reader's own recordings -- are
    neither checked nor listed (see :func:`list_fsdd`)."""
    present = {p.name: p for p in recordings.glob("*.wav") if p.name in manifest}
    altered = sorted(name for name, path in present.items() if download.sha256sum(path) != manifest[name])
    speakers = {FsddRecording.from_path(name).speaker for name in present}
    missing = sorted(n for n in manifest if n not in present and FsddRecording.from_path(n).speaker in speakers)
    return altered, missing


def _verify_present(recordings: Path, manifest: Mapping[str, str], restore: Callable[[list[str]], None] | None) -> None:
    """Check the recordings against ``manifest``, once per process unless they change. Missing
    recordings of a present speaker are fetched again by ``restore`` (if given); a corrupt file is
    named, with the fix for that file alone: nothing is ever deleted here."""
    key = _verification_key(recordings, manifest)
    if key in _verified:
        return
    altered, missing = _problems(recordings, manifest)
    if altered:
        raise ChecksumError(
            f"{len(altered)} FSDD file(s) in {recordings} differ from FSDD's checksums (corrupt or edited): "
            f"{_some(altered)}. Delete just those files and run again: missing recordings are fetched anew "
            f"(or copy them from a good copy of FSDD)",
            f"{len(altered)} altered",
        )
    if missing and restore is not None:
        restore(missing)
        altered, missing = _problems(recordings, manifest)
    if missing:
        raise FileNotFoundError(
            f"FSDD in {recordings} lacks {len(missing)} recording(s) of the speakers it holds: {_some(missing)}. "
            f"Run ensure_fsdd() with a network connection to fetch just those, or copy them from a good copy of FSDD"
        )
    if not any(name in manifest for name in os.listdir(recordings)):
        raise FileNotFoundError(
            f"{recordings} holds no FSDD recordings: delete the empty folder and call ensure_fsdd() to download FSDD"
        )
    _verified.add(key)


def _recording_members(tar: tarfile.TarFile) -> tuple[str, list[tarfile.TarInfo]]:
    """The archive's top folder and its ``<top>/recordings/*.wav`` members (checked to be safe)."""
    members = []
    for member in tar.getmembers():
        parts = PurePosixPath(member.name).parts
        if len(parts) == 3 and parts[1] == "recordings" and parts[2].endswith(".wav"):
            if parts[0] in (".", "..") or not member.isfile():
                raise DownloadError(
                    f"the archive's member {member.name!r} is not a plain file inside the archive's folder"
                )
            members.append(member)
    tops = {PurePosixPath(m.name).parts[0] for m in members}
    if len(tops) != 1:
        raise DownloadError(f"the archive does not hold one <folder>/recordings/ with WAV files (found {len(tops)})")
    return tops.pop(), members


def _extract_recordings(archive: Path, dest: Path) -> Path:
    """Unpack the archive's ``<top>/recordings/*.wav`` into ``dest``; returns the recordings folder."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            top, members = _recording_members(tar)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.12, 3.11.4, 3.10.12: refuses unsafe paths
                tar.extractall(dest, members=members, filter="data")
            else:  # the members were checked above to be plain files with relative paths
                tar.extractall(dest, members=members)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        cause = str(error).splitlines()[0].rstrip(":")
        raise DownloadError(f"the archive is not a readable tar.gz ({type(error).__name__}: {cause})") from error
    return dest / top / "recordings"


STAGING_PREFIX = ".fsdd-download-"


def _remove_stale_downloads(root: Path) -> None:
    """Remove the staging folders of downloads whose process has died (killed mid-download)."""
    for folder in root.glob(f"{STAGING_PREFIX}*"):
        pid = folder.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _restore_recordings(root: Path, url: str, manifest: Mapping[str, str], progress: bool, names: list[str]) -> None:
    """Fetch the archive again and put back just the recordings ``names`` (verified, atomically
    each); the recordings already there are left as they are."""
    recordings = root / "fsdd" / "recordings"
    try:
        _remove_stale_downloads(root)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f"{STAGING_PREFIX}{os.getpid()}-"))
    except OSError as error:
        raise DownloadError(
            f"FSDD in {recordings} lacks {len(names)} recording(s) ({_some(names)}) and {root} is not writable "
            f"({error}): copy them from a good copy of FSDD", str(error)
        ) from error
    try:
        archive = download_file(url, staging / "fsdd.tar.gz", progress=progress)
        unpacked = _extract_recordings(archive, staging / "unpacked")
        for name in names:
            source = unpacked / name
            if not source.is_file() or download.sha256sum(source) != manifest[name]:
                raise DownloadError(f"the archive's copy of {name} is missing or corrupt", name)
            os.replace(source, recordings / name)
    except DownloadError as error:
        raise DownloadError(
            f"FSDD in {recordings} lacks {len(names)} recording(s) ({_some(names)}) and fetching them failed: "
            f"{error.reason}. {_fix(recordings, url)}", error.reason
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install_fsdd(root: Path, url: str, manifest: Mapping[str, str], progress: bool) -> Path:
    """Download, unpack and verify FSDD in a temporary folder, then rename it into place."""
    recordings = root / "fsdd" / "recordings"

    def failure(reason: str) -> DownloadError:
        message = f"could not install FSDD from {url} into {recordings}: {reason}. {_fix(recordings, url)}"
        return DownloadError(message, reason)

    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_downloads(root)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f"{STAGING_PREFIX}{os.getpid()}-"))
    except OSError as error:
        raise failure(f"cannot write to {root} ({error})") from error
    made_parent = False
    try:
        archive = download_file(url, staging / "fsdd.tar.gz", progress=progress)
        unpacked = _extract_recordings(archive, staging / "unpacked")
        try:
            check_sha256sums(unpacked, manifest, pattern="*.wav", require_all=True)
        except ChecksumError as error:
            raise DownloadError(f"the archive's recordings/ holds {error.problems}") from error
        if not recordings.parent.is_dir():
            recordings.parent.mkdir()
            made_parent = True
        try:
            os.rename(unpacked, recordings)
        except OSError as error:
            if not recordings.is_dir():  # else another process installed it meanwhile
                raise DownloadError(f"cannot move the recordings into place ({error})") from error
    except BaseException as error:
        if made_parent:
            shutil.rmtree(recordings.parent, ignore_errors=True)
        if isinstance(error, DownloadError):
            raise failure(error.reason) from error
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _verified.add(_verification_key(recordings, manifest))  # checked completely before the rename
    return recordings


def ensure_fsdd(
    root: str | Path | None = None,
    download: bool = True,
    url: str = FSDD_URL,
    manifest: Mapping[str, str] | None = None,
    progress: bool = True,
) -> Path:
    """The folder of FSDD's WAV files, ``<root>/fsdd/recordings``, downloaded if absent.

    ``root``: the data directory (default ``config.data_dir()``). A copy already there is checked
    against ``manifest`` (``{file name: sha256}``, default: FSDD v1.0.10's), once per process: the
    recordings present must match it, and each speaker present must be complete (recordings missing
    are fetched again when ``download``; a corrupt one is named, and only it needs replacing). Other
    WAV files, such as your own recordings, are left alone and not listed. A fresh download must
    hold every listed file; it is unpacked beside the destination and renamed into place, so a
    failure leaves nothing behind.
    """
    root = Path(root) if root is not None else config.data_dir()
    manifest = fsdd_manifest() if manifest is None else manifest
    recordings = root / "fsdd" / "recordings"
    if not recordings.is_dir():
        if not download:
            raise FileNotFoundError(
                f"FSDD is not in {recordings}: call ensure_fsdd() with download=True to fetch it. "
                + _fix(recordings, url)
            )
        _install_fsdd(root, url, manifest, progress)
    restore = (lambda names: _restore_recordings(root, url, manifest, progress, names)) if download else None
    _verify_present(recordings, manifest, restore)
    return recordings


def list_fsdd(root: str | Path | None = None) -> list[FsddRecording]:
    """FSDD recordings, sorted by speaker, digit and take.

    ``root``: the data directory, as for :func:`ensure_fsdd` (FSDD is found and checked, or
    downloaded, there), or a folder of WAV files named like FSDD's, such as the one
    :func:`ensure_fsdd` returns or your own recordings (listed as they are).
    """
    folder = Path(root) if root is not None else None
    if folder is None or not any(folder.glob("*.wav")):
        folder = ensure_fsdd(folder)
        manifest = fsdd_manifest()
        paths = [path for path in folder.glob("*.wav") if path.name in manifest]  # not a reader's own files
    else:
        paths = list(folder.glob("*.wav"))
    recordings = [FsddRecording.from_path(path) for path in paths]
    return sorted(recordings, key=lambda r: (r.speaker, r.digit, r.take))


def split_fsdd(
    recordings: Sequence[FsddRecording],
    test_speakers: Sequence[str] | None = None,
    validation_takes: Sequence[int] = range(5, 10),
) -> dict[str, list[FsddRecording]]:
    """Split into ``{"train", "validation", "test"}`` lists (each keeps the input's order).

    ``test_speakers=None``: FSDD's official, speaker-dependent split -- takes 0-4 test,
    ``validation_takes`` validation, the other takes train. Named speakers: speaker-independent --
    all their recordings test; the other speakers' ``validation_takes`` validation, the rest train.
    """
    validation_takes = set(validation_takes)
    held_out = None if test_speakers is None else set(test_speakers)
    if held_out is None and validation_takes & set(TEST_TAKES):
        raise ValueError(f"validation_takes must not include the test takes {TEST_TAKES.start}-{TEST_TAKES.stop - 1}")
    if held_out is not None:
        present = sorted({r.speaker for r in recordings})
        unknown = held_out - set(present)
        if not held_out or unknown:
            raise ValueError(
                f"test_speakers must name speakers present in the recordings; unknown: {sorted(unknown)}, "
                f"present: {present}"
            )
        if held_out == set(present):
            raise ValueError(f"test_speakers {sorted(held_out)} leave no speaker to train on")
    splits: dict[str, list[FsddRecording]] = {"train": [], "validation": [], "test": []}
    for recording in recordings:
        if (recording.take in TEST_TAKES) if held_out is None else (recording.speaker in held_out):
            splits["test"].append(recording)
        elif recording.take in validation_takes:
            splits["validation"].append(recording)
        else:
            splits["train"].append(recording)
    return splits


class FsddDataset(Dataset):
    """FSDD recordings as ``(waveform (length,), digit)`` pairs: float32 at ``sample_rate`` (resampled
    if it is not 8000), made ``length`` samples long by the book's clip policy
    (:func:`~tutorial_utils.data.audio.fit_clip`: centred, or the loudest window).

    ``cache=True`` keeps each decoded waveform in memory after its first use (2,500 one-second
    clips take 80 MB at 8 kHz); with ``DataLoader`` workers each worker keeps its own cache, so use
    ``persistent_workers=True`` (or no workers). ``transform`` (optional) maps each waveform on every
    access, e.g. to add noise while training.
    """

    def __init__(
        self,
        recordings: Sequence[FsddRecording],
        length: int = 8000,
        sample_rate: int = SAMPLE_RATE,
        cache: bool = False,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.recordings = list(recordings)
        self.length = length
        self.sample_rate = sample_rate
        self.transform = transform
        self._cache: dict[int, torch.Tensor] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.recordings)

    def _waveform(self, index: int) -> torch.Tensor:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        waveform, _ = load_audio(self.recordings[index].path, sample_rate=self.sample_rate, resample=True)
        waveform = fit_clip(waveform, self.length)
        if self._cache is not None:
            self._cache[index] = waveform
        return waveform

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        waveform = self._waveform(index)
        if self.transform is not None:
            waveform = self.transform(waveform)
        return waveform, self.recordings[index].digit


def load_fsdd_tensors(
    recordings: Sequence[FsddRecording], length: int = 8000, sample_rate: int = SAMPLE_RATE
) -> tuple[torch.Tensor, torch.Tensor]:
    """All of ``recordings`` at once: ``(waveforms (n, length) float32, digits (n,) int64)``, for data
    sets small enough to hold in memory."""
    dataset = FsddDataset(recordings, length, sample_rate)
    if len(dataset) == 0:
        return torch.zeros(0, length), torch.zeros(0, dtype=torch.long)
    waveforms, digits = zip(*(dataset[i] for i in range(len(dataset))))
    return torch.stack(waveforms), torch.tensor(digits)


def load_fsdd_features(
    recordings: Sequence[FsddRecording],
    transform: Callable[[torch.Tensor], torch.Tensor],
    length: int = 8000,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`load_fsdd_tensors`, then ``transform`` (e.g. a ``LogMelSpectrogram``) applied to the
    whole batch without gradients: ``(features (n, ...), digits (n,))``, computed once and kept in
    memory, so that training never touches the audio again."""
    waveforms, digits = load_fsdd_tensors(recordings, length, sample_rate)
    with torch.no_grad():
        return transform(waveforms), digits


#: The class names of FSDD's digits, in label order.
FSDD_LABELS = tuple(str(digit) for digit in range(10))
#: The digits' English words, in label order (what a synthesiser is asked to say; Speech Commands' folder names).
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def only_speakers(recordings: Sequence[FsddRecording], speakers: Sequence[str] | None) -> list[FsddRecording]:
    """The recordings of ``speakers`` (all of them for ``None``), so that a run on a six-speaker
    download can repeat one made on a copy with fewer; a named speaker that is absent is an error."""
    if speakers is None:
        return list(recordings)
    present = sorted({r.speaker for r in recordings})
    absent = sorted(set(speakers) - set(present))
    if absent:
        raise ValueError(f"speakers {absent} are not in this copy of FSDD, which has {present}")
    return [r for r in recordings if r.speaker in set(speakers)]


def fsdd_recordings(
    test_speakers: Sequence[str] | None = None, root: str | Path | None = None, limit: int | None = None,
    speakers: Sequence[str] | None = None,
) -> dict[str, list[FsddRecording]]:
    """FSDD's ``train``/``validation``/``test`` recordings (see :func:`split_fsdd`).
    ``limit``: at most that many per split, evenly spread over it (for quick tests).
    ``speakers``: use only these speakers' recordings (default: every speaker present)."""
    splits = split_fsdd(only_speakers(list_fsdd(root), speakers), test_speakers=test_speakers)
    return {name: evenly_spaced(rs, limit) for name, rs in splits.items()}


def evenly_spaced(items: Sequence[T], count: int | None) -> list[T]:
    """``count`` items evenly spread over ``items``, in order (all of them for ``None``): a small
    subset that still covers every speaker and digit of a sorted list, for quick runs."""
    return list(items) if count is None else [items[i * len(items) // count] for i in range(min(count, len(items)))]


def fsdd_tensors(
    test_speakers: Sequence[str] | None = None, length: int = 8000, root: str | Path | None = None,
    limit: int | None = None, speakers: Sequence[str] | None = None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The splits of :func:`fsdd_recordings`, in the same order, as ``(waveforms (n, length),
    digits (n,))`` at 8 kHz (:func:`load_fsdd_tensors`)."""
    splits = fsdd_recordings(test_speakers, root, limit, speakers)
    return {name: load_fsdd_tensors(recordings, length) for name, recordings in splits.items()}


def fsdd_speakers(root: str | Path | None = None) -> list[str]:
    """The FSDD speakers present in the data directory."""
    return sorted({r.speaker for r in list_fsdd(root)})
