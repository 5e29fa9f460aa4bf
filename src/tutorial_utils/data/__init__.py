"""Datasets and audio loading.

* :mod:`.audio`: ``load_audio`` (soundfile, optional resampling) and ``fix_length``.
* :mod:`.download`: ``download_file`` (streamed, verified, atomic) and checksum manifests.
* :mod:`.fsdd`: the Free Spoken Digit Dataset -- ``ensure_fsdd``, ``list_fsdd``, ``split_fsdd``,
  ``FsddDataset``, ``load_fsdd_tensors``, ``load_fsdd_features``.
* :mod:`.speech_commands`: Speech Commands v0.02 for keyword spotting, ``SpeechCommandsKWS``.
* :mod:`.connected_digits`: strings of FSDD digits for sequence recognition.
* :mod:`.librispeech`: LibriSpeech audiobook speech with character labels.
"""

from .audio import AudioFileError, fix_length, load_audio
from .connected_digits import ConnectedDigits, connected_digit_splits
from .download import ChecksumError, DownloadError, check_sha256sums, download_file, read_sha256sums, sha256sum
from .fsdd import (
    FSDD_SPEAKERS,
    FSDD_URL,
    FsddDataset,
    FsddRecording,
    ensure_fsdd,
    fsdd_manifest,
    list_fsdd,
    load_fsdd_features,
    load_fsdd_tensors,
    split_fsdd,
)
from .librispeech import LibriSpeech
from .speech_commands import KWS12_WORDS, SPEECH_COMMANDS_WORDS, SpeechCommandsKWS

__all__ = [
    "AudioFileError",
    "ChecksumError",
    "ConnectedDigits",
    "DownloadError",
    "FSDD_SPEAKERS",
    "FSDD_URL",
    "FsddDataset",
    "FsddRecording",
    "KWS12_WORDS",
    "LibriSpeech",
    "SPEECH_COMMANDS_WORDS",
    "SpeechCommandsKWS",
    "check_sha256sums",
    "connected_digit_splits",
    "download_file",
    "ensure_fsdd",
    "fix_length",
    "fsdd_manifest",
    "list_fsdd",
    "load_audio",
    "load_fsdd_features",
    "load_fsdd_tensors",
    "read_sha256sums",
    "sha256sum",
    "split_fsdd",
]
