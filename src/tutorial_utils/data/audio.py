"""Reading audio files into tensors, and the book's one clip policy: how a waveform of any length
becomes a model's input.

Files are read with ``soundfile`` (WAV, FLAC and the other formats libsndfile knows), never with
``torchaudio.load``; resampling uses ``torchaudio.functional.resample``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile
import torch
import torch.nn.functional as F
import torchaudio


class AudioFileError(ValueError):
    """An audio file is missing, unreadable, or not at the sample rate asked for; the message names
    the file and how to fix it."""


def load_audio(
    path: str | Path, sample_rate: int | None = None, resample: bool = False, mono: bool = True
) -> tuple[torch.Tensor, int]:
    """Read an audio file as float32 samples in [-1, 1] and its sample rate.

    Returns ``(waveform, rate)``: ``waveform`` is ``(time,)`` when ``mono`` (channels averaged),
    else ``(channels, time)``. ``sample_rate``: the rate the caller expects; a file at another
    rate is an :class:`AudioFileError` unless ``resample=True``, which converts it.
    """
    path = Path(path)
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not an audio file: name the files in it")
    if not path.is_file():
        raise AudioFileError(
            f"audio file {path} not found: check the path, or run ensure_fsdd() to download FSDD "
            "into the data directory"
        )
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError) as error:
        raise AudioFileError(
            f"{path} is not a readable WAV/FLAC file ({error}); it may be truncated or corrupt: "
            "record or download that file again"
        ) from error
    promised = _wav_frames_promised(path)
    if promised is not None and len(samples) < promised:
        raise AudioFileError(
            f"{path} is truncated: its header promises {promised} frames but only {len(samples)} are there; "
            "record or download that file again"
        )
    if not np.isfinite(samples).all():
        raise AudioFileError(f"{path} holds NaN or infinite samples: it is not audio the models can use")
    waveform = torch.from_numpy(samples.T.copy())  # (channels, time)
    if mono:
        waveform = waveform.mean(dim=0)
    if sample_rate is not None and rate != sample_rate:
        if not resample:
            raise AudioFileError(
                f"{path} is sampled at {rate} Hz, not {sample_rate} Hz: pass resample=True to convert it"
            )
        waveform = torchaudio.functional.resample(waveform, rate, sample_rate)
        rate = sample_rate
    return waveform, rate


def _wav_frames_promised(path: Path) -> int | None:
    """The frame count a RIFF/WAVE file's header declares for its ``data`` chunk (``None`` for other
    formats, or a header that declares no size, as streamed files do). libsndfile reads a cut file
    without complaint, so :func:`load_audio` compares this with what it read."""
    with open(path, "rb") as file:
        head = file.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while chunk := file.read(8):
            if len(chunk) < 8:
                return None
            name, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if name == b"fmt ":
                fmt = file.read(size + size % 2)
                block_align = int.from_bytes(fmt[12:14], "little")
            elif name == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                file.seek(size + size % 2, 1)
    return None


def fix_length(waveform: torch.Tensor, length: int, align: str = "left") -> torch.Tensor:
    """Zero-pad or crop the last dimension: ``(..., time)`` -> ``(..., length)``.

    ``align="left"`` keeps the start (pads or crops at the end); ``"center"`` pads or crops
    equally at both ends, so the middle of the signal stays in the middle.
    """
    if align not in ("left", "center"):
        raise ValueError(f"align must be 'left' or 'center', not {align!r}")
    if length < 1:
        raise ValueError(f"length must be a positive number of samples, not {length}")
    excess = waveform.shape[-1] - length
    if excess >= 0:
        start = 0 if align == "left" else excess // 2
        return waveform[..., start : start + length]
    before = 0 if align == "left" else -excess // 2
    return F.pad(waveform, (before, -excess - before))


#: Clip policies, stored in every saved model so that it is served as it was trained:
#: ``"centre"`` -- :func:`fit_clip` (keyword spotters); ``"whole"`` -- the waveform as it is
#: (sequence models, which take any length).
CLIP_POLICIES = ("centre", "whole")


def fit_clip(waveform: torch.Tensor, length: int | None, policy: str = "centre") -> torch.Tensor:
    """The model's input ``(length,)`` from a waveform ``(time,)``, by ``policy`` (see :data:`CLIP_POLICIES`).

    ``"centre"``: a shorter waveform is centred between zeros; of a longer one the
    ``length``-sample window with the most energy is kept (where the word is). ``"whole"``:
    returned unchanged (``length`` is ignored).
    """
    if policy not in CLIP_POLICIES:
        raise ValueError(f"unknown clip policy {policy!r}; the book's are {', '.join(CLIP_POLICIES)}")
    if policy == "whole":
        return waveform
    if length is None or length < 1:
        raise ValueError(f"the centre policy needs a positive length, not {length}")
    excess = waveform.shape[-1] - length
    if excess <= 0:
        return fix_length(waveform, length, align="center")
    energy = torch.cat([torch.zeros(1, dtype=waveform.dtype), waveform.pow(2).cumsum(0)])
    start = int((energy[length:] - energy[:-length]).argmax())
    return waveform[start : start + length]


def load_clips(paths: Sequence[str | Path], sample_rate: int, length: int) -> torch.Tensor:
    """Read audio files (any rate: resampled; any channels: averaged) as clips ``(files, length)``
    by the ``"centre"`` policy of :func:`fit_clip`."""
    clips = [fit_clip(load_audio(path, sample_rate=sample_rate, resample=True)[0], length) for path in paths]
    return torch.stack(clips) if clips else torch.zeros(0, length)
