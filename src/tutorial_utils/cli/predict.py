"""Run a saved keyword spotter on audio files: ``python -m tutorial_utils.predict --checkpoint PATH FILE...``.

Any WAV/FLAC file works: it is resampled to the model's rate and its channels are averaged, then
cut to the model's input by the clip policy saved with it (centred, or the loudest stretch). One
JSON line per file: ``{"file", "label", "probability"}``, or ``{"file", "error"}`` for a file that
cannot be read -- the other files are still processed (exit status 1 then).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..data import AudioFileError, load_audio
from ..evaluation.inference import check_duration, classify
from ..training.checkpoint import load_spotter
from . import common


def predict_files(checkpoint: str | Path, files: Sequence[str | Path], device: str = "cpu") -> list[dict]:
    """One result per file, in order: ``label`` and its ``probability``, or an ``error`` message."""
    model, front_end, saved = load_spotter(checkpoint, device)
    results = []
    rate = saved["front_end"]["sample_rate"]
    for file in files:
        try:
            waveform, _ = load_audio(file, sample_rate=rate, resample=True)
            check_duration(waveform, rate, str(file))
        except (AudioFileError, ValueError) as error:
            results.append({"file": str(file), "error": str(error)})
            continue
        label, probability = classify(model, front_end, waveform, saved["labels"], saved["clip"])
        results.append({"file": str(file), "label": label, "probability": round(probability, 4)})
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.parser("python -m tutorial_utils.predict", __doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a spotter saved by python -m tutorial_utils.train --save")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    device = common.usable_device(parser, args.device)
    results = common.run(parser.prog, args.debug, lambda: predict_files(args.checkpoint, args.files, device))
    for result in results:
        print(json.dumps(result), flush=True)
        if "error" in result:
            print(f"error: {result['error']}", file=sys.stderr)
    return 1 if any("error" in result for result in results) else 0
