"""A keyword spotter as one ONNX graph that takes a waveform: the log-Mel front end, the network and
the softmax together, so that a browser or a phone needs nothing else.

:class:`ExportableFrontEnd` computes exactly what :class:`~tutorial_utils.front_end.FrontEnd` does
at inference, written with operations that export compactly: frames are cut by reshaping the signal
into hops and concatenating neighbours (``unfold`` would export as a gather with an index for every
sample of every frame, a constant larger than the network's int8 weights), then a real FFT.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..features import normalize, unit_rms
from ..front_end import FrontEnd


class ExportableFrontEnd(nn.Module):
    """Waveforms ``(batch, samples)`` -> normalised log-Mel ``(batch, n_mels, frames)``, equal to
    ``front_end`` in eval mode (no augmentation). Normalisations: ``"utterance"``, ``"band"`` or none."""

    def __init__(self, front_end: FrontEnd):
        super().__init__()
        if front_end.config.normalize == "pcen":
            raise ValueError("the exportable front end has no PCEN; export a spotter trained with --normalize utterance")
        log_mel = front_end.log_mel
        self.normalize, self.n_fft, self.hop, self.eps = front_end.config.normalize, log_mel.n_fft, log_mel.hop_length, log_mel.eps
        self.register_buffer("window", log_mel.window.clone())
        self.register_buffer("fbank", log_mel.fbank.clone())  # (n_fft // 2 + 1, n_mels)

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` -> centred frames ``(batch, frames, n_fft)``, as ``torch.stft(center=True)``."""
        pad = self.n_fft // 2
        x = F.pad(x.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
        n_frames = 1 + (x.shape[-1] - self.n_fft) // self.hop
        hops_per_frame = -(-self.n_fft // self.hop)  # ceil
        x = F.pad(x, (0, (n_frames - 1 + hops_per_frame) * self.hop - x.shape[-1]))
        hops = x.reshape(x.shape[0], -1, self.hop)  # (batch, hops, hop)
        neighbours = [hops[:, i:i + n_frames] for i in range(hops_per_frame)]
        return torch.cat(neighbours, dim=-1)[..., : self.n_fft]

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        x = waveforms
        if self.normalize:
            x = unit_rms(x)
        power = torch.fft.rfft(self.frames(x) * self.window, dim=-1).abs().pow(2)  # (batch, frames, bins)
        log_mel = torch.log(power @ self.fbank + self.eps).transpose(1, 2)  # (batch, n_mels, frames)
        if self.normalize == "utterance":
            mean, std = log_mel.mean(dim=(-2, -1), keepdim=True), log_mel.std(dim=(-2, -1), keepdim=True)
            return (log_mel - mean) / std.clamp(min=1e-5)
        if self.normalize == "band":
            return normalize(log_mel)
        return log_mel


class WaveformSpotter(nn.Module):
    """Front end, network and softmax: waveforms ``(batch, samples)`` -> probabilities ``(batch, classes)``."""

    def __init__(self, front_end: nn.Module, model: nn.Module):
        super().__init__()
        self.front_end, self.model = front_end, model

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(self.front_end(waveforms)), dim=-1)


def export_onnx(spotter: nn.Module, path: str | Path, samples: int = 8000) -> Path:
    """Export ``spotter`` (waveforms ``(1, samples)`` in, ``probabilities`` out) to ONNX with
    PyTorch's current exporter (``torch.onnx.export(..., dynamo=True)``), without the exporter's
    debugging notes on each node; returns ``path``."""
    import onnx

    path = Path(path)
    example = torch.zeros(1, samples)
    example[0, ::7] = 0.1  # any non-silent input: the graph is traced, not the values
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # its notes on torchvision's operators, which a spotter has none of
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes about deprecated pytree classes
            program = torch.onnx.export(spotter.eval(), (example,), dynamo=True, input_names=["waveform"],
                                        output_names=["probabilities"], verbose=False)
    finally:
        exporter_log.setLevel(level)
    model = program.model_proto
    for node in model.graph.node:  # the exporter's notes on where each node came from in the
        del node.metadata_props[:]  # PyTorch code: useful to debug an export, a sixth of the file
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def onnx_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime CPU session for ``path`` with ``threads`` intra-op threads."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def spotter_for_export(model: nn.Module, front_end: FrontEnd) -> WaveformSpotter:
    """A loaded spotter (see :func:`~tutorial_utils.training.checkpoint.load_spotter`) ready to export."""
    return WaveformSpotter(ExportableFrontEnd(front_end), model).eval()


def export_shipped_spotter(name: str, path: str | Path) -> Path:
    """Export the shipped spotter ``name`` (e.g. ``"res8-fsdd"``) to ONNX at ``path``."""
    from ..book.trained import load_shipped_spotter

    model, front_end, _ = load_shipped_spotter(name)
    return export_onnx(spotter_for_export(model, front_end), path)
