"""Export a saved keyword spotter to ONNX, its front end inside: ``python -m tutorial_utils.export
--checkpoint PATH --onnx OUT [--int8]``.

The ONNX model takes one second of audio, ``waveform`` ``(1, samples)`` at the spotter's sample
rate, and returns ``probabilities`` ``(1, classes)``. The export is checked against PyTorch on
real clips before the command reports success. ``--int8`` then quantises it with ONNX Runtime,
calibrated on FSDD training clips (from ``BOOK_DATA_DIR``), and reports how often it agrees with the
float model. One JSON line describes the result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..book import trained
from ..compression.export import export_onnx, onnx_session, spotter_for_export
from ..compression.measure import file_kilobytes
from ..compression.quantize import quantize_onnx
from ..data.fsdd import fsdd_tensors
from ..training.checkpoint import load_spotter
from . import common

#: The largest difference between ONNX Runtime's probabilities and PyTorch's that passes the check.
TOLERANCE = 1e-4


def export_spotter(checkpoint: str, onnx_path: Path, int8: bool = False, calibration_clips: int = 200) -> dict:
    """Export (and check, and with ``int8`` quantise) the spotter in ``checkpoint``; the result's record."""
    model, front_end, saved = load_spotter(trained.model_path(checkpoint))
    length = saved["clip"]["length"]
    clips = fsdd_tensors(length=length, limit=calibration_clips)  # fails early, and clearly, without FSDD
    spotter = spotter_for_export(model, front_end)
    float_path = onnx_path if not int8 else onnx_path.with_name(onnx_path.stem + ".float.onnx")
    export_onnx(spotter, float_path, samples=length)
    waveforms = clips["test"][0]
    with torch.no_grad():
        expected = spotter(waveforms).numpy()
    session = onnx_session(float_path)
    got = np.concatenate([session.run(None, {"waveform": w[None].numpy()})[0] for w in waveforms])
    difference = float(np.abs(got - expected).max())
    if difference > TOLERANCE:
        raise ValueError(f"{float_path}: ONNX Runtime differs from PyTorch by {difference:.2g} (> {TOLERANCE}); "
                         "report this with your torch and onnxruntime versions")
    record = {"onnx": str(onnx_path), "labels": saved["labels"], "sample_rate": front_end.config.sample_rate,
              "samples": length, "max_abs_difference": difference, "checked_clips": len(waveforms)}
    if int8:
        quantize_onnx(float_path, onnx_path, clips["train"][0])
        session = onnx_session(onnx_path)
        quantised = np.concatenate([session.run(None, {"waveform": w[None].numpy()})[0] for w in waveforms])
        record |= {"float_onnx": str(float_path), "float_kilobytes": round(file_kilobytes(float_path), 1),
                   "calibration_clips": len(clips["train"][0]),
                   "int8_agreement": float((quantised.argmax(1) == expected.argmax(1)).mean())}
    return record | {"kilobytes": round(file_kilobytes(onnx_path), 1), "int8": int8}


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.parser("python -m tutorial_utils.export", __doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True,
                        help=f"a spotter saved by python -m tutorial_utils.train --save, or a shipped one: "
                             f"{', '.join(n for n in trained.names() if not n.startswith('ctc'))}")
    parser.add_argument("--onnx", required=True, help="the ONNX file to write")
    parser.add_argument("--int8", action="store_true", help="quantise to int8 (ONNX Runtime, static, per channel)")
    parser.add_argument("--calibration-clips", type=common.positive("--calibration-clips"), default=200,
                        help="FSDD training clips that calibrate the int8 ranges (and test clips that check the export)")
    args = parser.parse_args(argv)
    if not trained.model_path(args.checkpoint).is_file():
        parser.error(f"--checkpoint {args.checkpoint}: no such file (train one with python -m tutorial_utils.train "
                     "--save PATH, or give a shipped model's name)")
    onnx_path = common.writable_file(parser, "--onnx", args.onnx)
    record = common.run(parser.prog, args.debug,
                        lambda: export_spotter(args.checkpoint, onnx_path, args.int8, args.calibration_clips))
    print(json.dumps(record), flush=True)
    return 0
