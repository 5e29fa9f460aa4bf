"""Run a saved keyword spotter on audio files: ``python -m tutorial_utils.predict --checkpoint PATH FILE...``.

Any WAV/FLAC file works: it is resampled to the model's rate and its channels are averaged; a
clip shorter than the model's input is centred between zeros, of a longer one the loudest stretch
is used. One JSON line per file: ``{"file", "label", "probability"}``, or ``{"file", "error"}``
for a file that cannot be read -- the other files are still processed (exit status 1 then).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .data import AudioFileError, load_audio
from .keyword_spotting import fit_clip, load_spotter


@torch.no_grad()
def predict_files(checkpoint: str | Path, files: Sequence[str | Path], device: str = "cpu") -> list[dict]:
    """One result per file, in order: ``label`` and its ``probability``, or an ``error`` message."""
    model, front_end, saved = load_spotter(checkpoint, device)
    rate, length, labels = saved["front_end"]["sample_rate"], saved["length"], saved["labels"]
    results = []
    for file in files:
        try:
            waveform, _ = load_audio(file, sample_rate=rate, resample=True)
        except AudioFileError as error:
            results.append({"file": str(file), "error": str(error)})
            continue
        if waveform.numel() == 0:
            results.append({"file": str(file), "error": f"{file} holds no audio samples"})
            continue
        clip = fit_clip(waveform, length).to(device)
        probabilities = model(front_end(clip.unsqueeze(0))).softmax(dim=-1)[0]
        best = int(probabilities.argmax())
        results.append({"file": str(file), "label": labels[best], "probability": round(float(probabilities[best]), 4)})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial_utils.predict", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a spotter saved by python -m tutorial_utils.train --save")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    if not Path(args.checkpoint).is_file():
        parser.error(f"checkpoint {args.checkpoint} not found: train one with python -m tutorial_utils.train --save PATH")
    results = predict_files(args.checkpoint, args.files, args.device)
    for result in results:
        print(json.dumps(result), flush=True)
    return 1 if any("error" in result for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
