"""Run a saved keyword spotter on audio files: ``python -m tutorial_utils.predict --checkpoint PATH FILE...``.

Any WAV/FLAC file works: it is resampled to the model's rate and its channels are averaged, then
cut to the model's input by the clip policy saved with it (centred, or the loudest stretch). One
JSON line per file: ``{"file", "label", "probability"}``, or ``{"file", "error"}`` for a file that
cannot be read -- the other files are still processed (exit status 1 then).

``--score`` tests the spotter on clips of another corpus: each file's true label comes from its
path (Speech Commands' ``seven/0a7c2a8d_nohash_0.wav``, FSDD's ``7_jackson_32.wav``), and a last
line gives the accuracy over the files read, with its 95 % Wilson interval.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..data import DIGIT_WORDS, FSDD_LABELS, AudioFileError, load_audio
from ..evaluation.classification import wilson_interval
from ..evaluation.inference import check_duration, classify
from ..training.checkpoint import load_spotter
from . import common


def predict_files(spotter: tuple, files: Sequence[str | Path]) -> list[dict]:
    """One result per file, in order: ``label`` and its ``probability``, or an ``error`` message.
    ``spotter``: what :func:`~tutorial_utils.training.checkpoint.load_spotter` returns."""
    model, front_end, saved = spotter
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


def label_from_path(path: str | Path, labels: Sequence[str]) -> str | None:
    """The label that ``path`` names, or ``None``: its folder (Speech Commands' layout,
    ``seven/0a7c2a8d_nohash_0.wav``), else its name's first ``_`` field (FSDD's ``7_jackson_32.wav``).
    Where the labels are FSDD's digits, a digit's English word names it (``seven`` is ``7``)."""
    words = {word: str(digit) for digit, word in enumerate(DIGIT_WORDS)} if tuple(labels) == FSDD_LABELS else {}
    path = Path(path)
    for name in (path.parent.name, path.name.split("_")[0]):
        name = words.get(name.lower(), name)
        if name in labels:
            return name
    return None


def score(results: Sequence[dict], truths: Sequence[str]) -> dict:
    """The summary line of ``--score``: clips scored (the files read), clips right, accuracy, Wilson interval."""
    scored = [(result["label"], truth) for result, truth in zip(results, truths) if "label" in result]
    right = sum(label == truth for label, truth in scored)
    low, high = wilson_interval(right, len(scored))
    return {"scored": len(scored), "right": right, "accuracy": round(right / len(scored), 4) if scored else None,
            "wilson_95": [round(low, 4), round(high, 4)]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.parser("python -m tutorial_utils.predict", __doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a spotter saved by python -m tutorial_utils.train --save")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--score", action="store_true",
                        help="read each file's true label from its path (seven/clip.wav, 7_name_0.wav) and "
                             "end with the accuracy")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    device = common.usable_device(parser, args.device)
    spotter = common.run(parser.prog, args.debug, lambda: load_spotter(args.checkpoint, device))
    truths = []
    if args.score:  # every file's label is known before any work
        labels = spotter[2]["labels"]
        for file in args.files:
            truths.append(label_from_path(file, labels))
            if truths[-1] is None:
                parser.error(f"--score: {file} names none of the labels {', '.join(labels)}: put it in a folder named "
                             "by its label (Speech Commands: seven/clip.wav) or start its name with it (7_name_0.wav)")
    results = common.run(parser.prog, args.debug, lambda: predict_files(spotter, args.files))
    if args.score:
        results = [*results, score(results, truths)]
    for result in results:
        print(json.dumps(result), flush=True)
        if "error" in result:
            print(f"error: {result['error']}", file=sys.stderr)
    return 1 if any("error" in result for result in results) else 0
