"""Datasets and audio loading.

* :mod:`.audio`: ``load_audio`` (soundfile, optional resampling), ``fix_length``, and the book's one
  clip policy, ``fit_clip`` (stored in every saved model, so that it is served as it was trained).
* :mod:`.download`: ``download_file`` (streamed, verified, atomic) and checksum manifests.
* :mod:`.fsdd`: the Free Spoken Digit Dataset -- ``ensure_fsdd``, ``list_fsdd``, ``split_fsdd``,
  ``FsddDataset``, ``load_fsdd_tensors``, ``load_fsdd_features``.
* :mod:`.speech_commands`: Speech Commands v0.02 for keyword spotting, ``SpeechCommandsKWS``.
* :mod:`.connected_digits`: strings of FSDD digits for sequence recognition.
* :mod:`.synthetic`: spoken digits in many synthetic voices from espeak-ng or flite, extra training speakers.
* :mod:`.librispeech`: LibriSpeech audiobook speech with character labels.
* :mod:`.text`: vocabularies that turn transcripts into label sequences and back.
"""

from .audio import CLIP_POLICIES, AudioFileError, fit_clip, fix_length, load_audio, load_clips
from .connected_digits import ConnectedDigits, connected_digit_splits
from .download import ChecksumError, DownloadError, check_sha256sums, download_file, read_sha256sums, sha256sum
from .fsdd import (
    DIGIT_WORDS,
    FSDD_LABELS,
    FSDD_SPEAKERS,
    FSDD_URL,
    FSDD_VERSION,
    FsddDataset,
    FsddRecording,
    ensure_fsdd,
    evenly_spaced,
    fsdd_manifest,
    fsdd_recordings,
    fsdd_speakers,
    fsdd_tensors,
    list_fsdd,
    load_fsdd_features,
    load_fsdd_tensors,
    only_speakers,
    split_fsdd,
)
from .librispeech import LibriSpeech
from .speech_commands import KWS12_WORDS, SPEECH_COMMANDS_WORDS, SpeechCommandsKWS
from .text import DIGITS, LIBRISPEECH_CHARACTERS, Vocabulary

__all__ = [
    "CLIP_POLICIES",
    "DIGITS",
    "DIGIT_WORDS",
    "FSDD_LABELS",
    "LIBRISPEECH_CHARACTERS",
    "Vocabulary",
    "fit_clip",
    "evenly_spaced",
    "fsdd_recordings",
    "fsdd_speakers",
    "fsdd_tensors",
    "load_clips",
    "AudioFileError",
    "ChecksumError",
    "ConnectedDigits",
    "DownloadError",
    "FSDD_SPEAKERS",
    "FSDD_URL",
    "FSDD_VERSION",
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
    "only_speakers",
    "read_sha256sums",
    "sha256sum",
    "split_fsdd",
]
