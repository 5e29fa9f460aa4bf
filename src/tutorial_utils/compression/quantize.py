"""int8 quantisation: from scratch on one convolution, then a whole exported model with ONNX Runtime.

A float ``x`` is stored as an 8-bit integer ``q = clamp(round(x / scale) + zero_point, -128, 127)``
and read back as ``(q - zero_point) * scale``. A quantised convolution multiplies int8 inputs by
int8 weights, adds the products up in int32 (they would overflow 8 bits at once), and rescales the
sum to the output's scale and zero point (requantisation).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

INT8_MIN, INT8_MAX = -128, 127


def qparams(low: torch.Tensor | float, high: torch.Tensor | float, symmetric: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and zero point that map ``[low, high]`` (widened to include 0, so that 0 is exact) onto
    int8. ``symmetric``: zero point 0 and ``[-max|x|, max|x|]`` onto ``[-127, 127]`` (as for
    weights; -128 is left out so that the range is symmetric, as ONNX Runtime does).
    Per channel: pass tensors of lows and highs."""
    low = torch.clamp(torch.as_tensor(low, dtype=torch.float32), max=0.0)
    high = torch.clamp(torch.as_tensor(high, dtype=torch.float32), min=0.0)
    if symmetric:
        bound = torch.maximum(-low, high)
        scale = (bound / INT8_MAX).clamp(min=torch.finfo(torch.float32).tiny)
        return scale, torch.zeros_like(scale, dtype=torch.int32)
    scale = ((high - low) / (INT8_MAX - INT8_MIN)).clamp(min=torch.finfo(torch.float32).tiny)
    zero_point = torch.clamp(torch.round(INT8_MIN - low / scale), INT8_MIN, INT8_MAX).to(torch.int32)
    return scale, zero_point


def quantize(x: torch.Tensor, scale: torch.Tensor | float, zero_point: torch.Tensor | int) -> torch.Tensor:
    """``clamp(round(x / scale) + zero_point)`` as int8 (rounding half to even, as ONNX does)."""
    q = torch.round(x / scale) + zero_point
    return q.clamp(INT8_MIN, INT8_MAX).to(torch.int8)


def dequantize(q: torch.Tensor, scale: torch.Tensor | float, zero_point: torch.Tensor | int) -> torch.Tensor:
    """``(q - zero_point) * scale`` as float32."""
    return (q.to(torch.int32) - zero_point).to(torch.float32) * scale


def int8_conv2d(
    x_q: torch.Tensor, x_scale: float, x_zero_point: int,
    w_q: torch.Tensor, w_scale: torch.Tensor, y_scale: float, y_zero_point: int,
    padding: int = 0, dilation: int = 1,
) -> torch.Tensor:
    """A quantised 2-D convolution, integers throughout: int8 input ``(batch, c_in, H, W)`` and
    weights ``(c_out, c_in, k, k)`` (symmetric, one scale per output channel ``(c_out,)``), products
    summed in int32, then requantised to int8 ``(batch, c_out, H', W')``. Stride 1, no bias."""
    batch, _, height, width = x_q.shape
    c_out, _, k, _ = w_q.shape
    # im2col: every k x k patch of (x - zero_point) as a column; the values are small integers,
    # exact in float32, so unfold (which only works on floats) moves them without rounding
    centred = (x_q.to(torch.int32) - x_zero_point).to(torch.float32)
    patches = F.unfold(centred, k, dilation=dilation, padding=padding).to(torch.int32)  # (batch, c_in*k*k, L)
    accumulator = w_q.reshape(c_out, -1).to(torch.int32) @ patches  # int32 sums: (batch, c_out, L)
    multiplier = (x_scale * w_scale / y_scale).to(torch.float32).reshape(1, c_out, 1)
    y = torch.round(accumulator.to(torch.float32) * multiplier) + y_zero_point
    out_h = height + 2 * padding - dilation * (k - 1)
    out_w = width + 2 * padding - dilation * (k - 1)
    return y.clamp(INT8_MIN, INT8_MAX).to(torch.int8).reshape(batch, c_out, out_h, out_w)


def quantize_onnx(float_model: str | Path, out: str | Path, calibration: torch.Tensor, per_channel: bool = True,
                  float_ends: bool = True) -> Path:
    """Static int8 quantisation of an exported spotter with ONNX Runtime. The convolutions and the
    classifier get int8 weights (one scale per output channel if ``per_channel``) and 8-bit
    activations whose ranges are the min and max seen on ``calibration`` waveforms ``(n, samples)``,
    written as QuantizeLinear/DequantizeLinear pairs (QDQ) that ONNX Runtime fuses into integer
    kernels. Activations are unsigned (uint8 times int8 is the product x86's integer instructions
    multiply fastest). ``float_ends``: the first convolution (one input channel) and the classifier
    stay float32: they are under 1 % of the weights, and rounding there cost the most accuracy. The
    front end stays float32. Returns ``out``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if calibration.dim() != 2 or len(calibration) == 0:
        raise ValueError(f"calibration must be waveforms (n, samples) with n >= 1, got shape {tuple(calibration.shape)}")

    class Waveforms(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"waveform": w.unsqueeze(0).numpy()} for w in calibration.to(torch.float32)])

        def get_next(self):
            return next(self.batches, None)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    prepared = out.with_name(out.stem + ".prepared.onnx")  # shapes inferred, constants folded
    root = logging.getLogger()
    level = root.level
    try:
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        layers = [n.name for n in onnx.load(str(prepared)).graph.node if n.op_type in ("Conv", "Gemm")]
        root.setLevel(logging.ERROR)  # quiet its advice to pre-process: done above
        quantize_static(
            str(prepared), str(out), Waveforms(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
            op_types_to_quantize=["Conv", "Gemm"], activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=[layers[0], layers[-1]] if float_ends else [],
        )
    finally:
        root.setLevel(level)
        prepared.unlink(missing_ok=True)
    return out
