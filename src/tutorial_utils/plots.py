"""Plots that every chapter uses: waveforms, spectrograms and filterbanks (matplotlib).

Each function draws into ``ax`` (a new figure if ``None``) and returns the Axes, so that callers
can add titles, lines or limits. Tensors may live on any device and may require grad.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

Y_AXES = ("hz", "mel", "index")
_Y_LABELS = {"hz": "frequency (Hz)", "mel": "Mel band", "index": "index"}


def _to_numpy(values: torch.Tensor | np.ndarray, ndim: int, name: str) -> np.ndarray:
    array = values.detach().cpu().float().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(array.shape)}.")
    return array


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def plot_waveform(
    waveform: torch.Tensor | np.ndarray, sample_rate: int, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Plot a ``(time,)`` waveform against time in seconds."""
    samples = _to_numpy(waveform, 1, "waveform")
    ax = _axes(ax, (8, 2.5))
    ax.plot(np.arange(len(samples)) / sample_rate, samples, linewidth=0.6)
    ax.set_xlim(0, len(samples) / sample_rate)
    ax.set(xlabel="time (s)", ylabel="amplitude")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_spectrogram(
    spec: torch.Tensor | np.ndarray,
    sample_rate: int,
    hop_length: int,
    ax: Axes | None = None,
    y_axis: str = "hz",
    title: str | None = None,
    colorbar: bool = True,
    f_max: float | None = None,
) -> Axes:
    """Show a ``(freq, frames)`` image (e.g. a spectrogram in dB) with time in seconds on x.

    Frame ``t`` is drawn centred on ``t * hop_length / sample_rate`` s (centred frames). The y axis:
    ``"hz"``: rows are STFT bins spread evenly over 0 to ``sample_rate / 2``, shown up to ``f_max``
    (default ``sample_rate / 2``); ``"mel"``: rows are Mel bands 0, 1, ...; ``"index"``: rows are
    numbered (e.g. stacked MFCCs and deltas). ``colorbar`` adds a colour scale beside the Axes.
    """
    if y_axis not in Y_AXES:
        raise ValueError(f"y_axis must be one of {', '.join(Y_AXES)}, got {y_axis!r}.")
    if f_max is not None and y_axis != "hz":
        raise ValueError("f_max only applies to y_axis='hz'.")
    image = _to_numpy(spec, 2, "spec")
    rows, frames = image.shape
    seconds_per_frame = hop_length / sample_rate
    x_extent = (-0.5 * seconds_per_frame, (frames - 0.5) * seconds_per_frame)
    if y_axis == "hz":
        bin_hz = sample_rate / 2 / max(rows - 1, 1)
        y_extent = (-0.5 * bin_hz, sample_rate / 2 + 0.5 * bin_hz)
    else:
        y_extent = (-0.5, rows - 0.5)
    ax = _axes(ax, (8, 3))
    mappable = ax.imshow(image, origin="lower", aspect="auto", interpolation="nearest", cmap="magma",
                         extent=(*x_extent, *y_extent))
    if y_axis == "hz":
        ax.set_ylim(0, sample_rate / 2 if f_max is None else f_max)
    ax.set(xlabel="time (s)", ylabel=_Y_LABELS[y_axis])
    if title is not None:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(mappable, ax=ax)
    return ax


def plot_filterbank(
    fbank: torch.Tensor | np.ndarray, sample_rate: int, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Plot each column of an ``(n_freqs, n_mels)`` filterbank against frequency, 0 to ``sample_rate / 2``."""
    weights = _to_numpy(fbank, 2, "fbank")
    ax = _axes(ax, (8, 3))
    ax.plot(np.linspace(0, sample_rate / 2, weights.shape[0]), weights, linewidth=0.8)
    ax.set_xlim(0, sample_rate / 2)
    ax.set(xlabel="frequency (Hz)", ylabel="weight")
    ax.set_title(title if title is not None else f"{weights.shape[1]} Mel filters")
    return ax
