"""Transcribe audio files with a trained CTC recogniser (served whole, its saved clip policy).

``python -m tutorial_utils.transcribe --checkpoint model.pt FILE...`` prints one JSON line per
file, ``{"file": ..., "text": ...}`` (digits as numerals, e.g. ``"4 7 1"``), or
``{"file": ..., "error": ...}`` for a file it cannot read; the other files go on, and the exit
status is 1 if any file failed. Any sample rate and channel count: audio is downmixed and
resampled to the model's rate.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..data.audio import AudioFileError, fit_clip, load_audio
from ..data.text import Vocabulary
from ..evaluation.inference import check_duration, transcribe
from ..training.checkpoint import load_recogniser
from . import common


def vocabulary_of(checkpoint: dict) -> Vocabulary:
    """The vocabulary a checkpoint was trained with (saved as ``vocabulary`` and ``word_level``)."""
    return Vocabulary(tuple(checkpoint["vocabulary"]), word_level=bool(checkpoint["word_level"]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.parser("python -m tutorial_utils.transcribe", __doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, type=Path, help="a recogniser saved by python -m tutorial_utils.train --task asr --save")
    parser.add_argument("--beam", type=common.positive("--beam"), default=1, help="beam width (1: greedy decoding)")
    parser.add_argument("files", nargs="+", type=Path, help="WAV or FLAC files")
    args = parser.parse_args(argv)
    model, checkpoint = common.run(parser.prog, args.debug, lambda: load_recogniser(args.checkpoint))
    vocabulary = vocabulary_of(checkpoint)
    failed = 0
    for path in args.files:
        try:
            waveform, _ = load_audio(path, sample_rate=model.sample_rate, resample=True)
            check_duration(waveform, model.sample_rate, str(path))
            waveform = fit_clip(waveform, checkpoint["clip"]["length"], checkpoint["clip"]["policy"])
            record = {"file": str(path), "text": transcribe(model, waveform, vocabulary, args.beam)}
        except (AudioFileError, ValueError) as error:  # one bad file must not stop the others
            failed += 1
            record = {"file": str(path), "error": str(error)}
            print(f"error: {error}", file=sys.stderr)
        print(json.dumps(record), flush=True)
    return 1 if failed else 0
