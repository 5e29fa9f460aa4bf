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


def macs(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass of ``example`` (torchinfo's count)."""
    try:
        import torchinfo
    except ImportError as error:
        raise ImportError("counting multiply-accumulates needs torchinfo: pip install torchinfo") from error
    return int(torchinfo.summary(model, input_data=example, verbose=0).total_mult_adds)


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
