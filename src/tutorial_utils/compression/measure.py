"""What a deployed model costs: parameters, bytes on disk, multiply-accumulates and latency.

Latency is measured as a reader would on their own machine: a few warm-up calls (the first ones
allocate memory and pick kernels), then the median of many timed calls of one input, so that one
slow call (another program, a page fault) does not move the number.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


def parameter_count(model: nn.Module) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def file_kilobytes(path: str | Path) -> float:
    """A file's size in kilobytes (1 KB = 1000 bytes)."""
    return Path(path).stat().st_size / 1000


def _recurrent_macs(module: nn.RNNBase, inputs: tuple) -> int:
    """Multiply-accumulates of an LSTM, GRU or RNN call: per layer, direction and frame, ``gates ×
    hidden × (layer input + hidden)`` (the input and the recurrent matrix products)."""
    x = inputs[0]
    frames = x.data.shape[0] if isinstance(x, nn.utils.rnn.PackedSequence) else x.shape[:-1].numel()
    gates = {"LSTM": 4, "GRU": 3}.get(type(module).__name__, 1)
    directions = 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        layer_input = module.input_size if layer == 0 else module.hidden_size * directions
        total += directions * frames * gates * module.hidden_size * (layer_input + module.hidden_size)
    return total


def macs(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass of ``example``: PyTorch's ``FlopCounterMode`` count of
    every matrix product and convolution, halved (one multiply-accumulate is two floating-point
    operations). Recurrent layers are counted by :func:`_recurrent_macs` instead, because the counter
    sees their matrix products on some paths (packed sequences) and not inside fused kernels.
    Element-wise work (activations, normalisation, pooling) and FFTs are not counted."""
    from torch.utils.flop_counter import FlopCounterMode

    root = type(model).__name__
    recurrent = {(f"{root}.{name}" if name else root): module for name, module in model.named_modules()
                 if isinstance(module, nn.RNNBase)}
    by_formula: list[int] = []  # one count per recurrent call
    hooks = [module.register_forward_hook(lambda m, inputs, output: by_formula.append(_recurrent_macs(m, inputs)))
             for module in recurrent.values()]
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
    counts = counter.get_flop_counts()
    seen_inside_recurrent = sum(sum(counts.get(name, {}).values()) for name in recurrent)
    return (counter.get_total_flops() - seen_inside_recurrent) // 2 + sum(by_formula)


@dataclass(frozen=True)
class Latency:
    """Milliseconds per call: the median and the interquartile range of ``runs`` timed calls."""

    median_ms: float
    q1_ms: float
    q3_ms: float
    runs: int

    def __str__(self) -> str:
        return f"{self.median_ms:.2f} ms (IQR {self.q1_ms:.2f}-{self.q3_ms:.2f}, {self.runs} runs)"


def latency(call: Callable[[], object], runs: int = 100, warmup: int = 10, threads: int | None = None) -> Latency:
    """Time ``call()``: ``warmup`` untimed calls, then ``runs`` timed ones. ``threads``: PyTorch's
    intra-op threads during the measurement (restored afterwards); ``None`` leaves them as they are."""
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be positive and warmup non-negative, got {runs} and {warmup}")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                call()
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                call()
                times.append((time.perf_counter() - start) * 1000)
    finally:
        torch.set_num_threads(previous)
    q1, median, q3 = statistics.quantiles(times, n=4) if runs > 1 else (times[0],) * 3
    return Latency(median, q1, q3, runs)
