"""Making a trained spotter small and fast (chapter 10): measure it, quantise it to int8, prune it,
distil it into a narrower net, and export it to ONNX with its front end inside."""

from .distill import distillation_loss, distillation_step
from .export import ExportableFrontEnd, WaveformSpotter, export_onnx, export_shipped_spotter, onnx_session
from .measure import Latency, file_kilobytes, latency, macs, parameter_count
from .prune import magnitude_mask, prune_channels, prune_magnitude, sparsity
from .quantize import dequantize, int8_conv2d, qparams, quantize, quantize_onnx

__all__ = [
    "ExportableFrontEnd", "Latency", "WaveformSpotter", "dequantize", "distillation_loss", "distillation_step",
    "export_onnx", "export_shipped_spotter", "file_kilobytes", "int8_conv2d", "latency", "macs", "magnitude_mask",
    "onnx_session", "parameter_count", "prune_channels", "prune_magnitude", "qparams", "quantize", "quantize_onnx",
    "sparsity",
]
