"""Plots that every chapter uses: waveforms, spectrograms, filterbanks, confusion matrices and
posteriors over time (matplotlib).

Each function draws into ``ax`` (a new figure if ``None``) and returns the Axes, so that callers
can add titles, lines or limits (``plot_posteriors_over_time`` makes its own two-panel figure and
returns both Axes). Tensors may live on any device and may require grad.

:func:`use_book_style` sets the sizes every chapter's figures are drawn at: at most
:data:`MAX_FIGURE_WIDTH` inches wide, so that a figure is not shrunk on the page, and no text under
:data:`MIN_FONT_SIZE` points, so that every label reads at 9 pixels or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.ticker import LogFormatter

Y_AXES = ("hz", "mel", "index")

#: The widest figure, in inches: the book's text column on a laptop is about 760 pixels, and a
#: figure drawn wider is scaled down, its text with it.
MAX_FIGURE_WIDTH = 7.5
#: The smallest text, in points (tick labels, legends); body text is one point larger.
MIN_FONT_SIZE = 9

BOOK_STYLE: dict[str, Any] = {
    "figure.figsize": (MAX_FIGURE_WIDTH, 3.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,  # the PNG copy that the PDF edition prints
    "font.size": MIN_FONT_SIZE + 1,
    "axes.titlesize": MIN_FONT_SIZE + 1,
    "axes.labelsize": MIN_FONT_SIZE + 1,
    "xtick.labelsize": MIN_FONT_SIZE,
    "ytick.labelsize": MIN_FONT_SIZE,
    "legend.fontsize": MIN_FONT_SIZE,
    "legend.title_fontsize": MIN_FONT_SIZE,
    "figure.titlesize": MIN_FONT_SIZE + 2,
    "svg.fonttype": "none",  # text stays text: sharp at any zoom, searchable, and measurable
}


def use_book_style() -> None:
    """Draw figures as the book does: :data:`BOOK_STYLE`, and in a notebook each figure shown as
    SVG (for the page) with a PNG copy (for the PDF edition)."""
    plt.rcParams.update(BOOK_STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # matplotlib without a Jupyter kernel: nothing to show inline
        return
    set_matplotlib_formats("svg", "png")
_Y_LABELS = {"hz": "frequency (Hz)", "mel": "Mel band", "index": "index"}


def _to_numpy(values: torch.Tensor | np.ndarray, ndim: int, name: str) -> np.ndarray:
    array = values.detach().cpu().float().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(array.shape)}.")
    return array


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def label_log_axis(axis: Axis) -> None:
    """Label a log-scaled ``axis`` (``ax.xaxis`` or ``ax.yaxis``) as 1e-05, 0.3, 60: matplotlib's
    default labels, 10 to a power, draw the exponent at 70 % of the tick size, under
    :data:`MIN_FONT_SIZE`."""
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter())


def plot_waveform(
    waveform: torch.Tensor | np.ndarray, sample_rate: int, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Plot a ``(time,)`` waveform against time in seconds."""
    samples = _to_numpy(waveform, 1, "waveform")
    ax = _axes(ax, (MAX_FIGURE_WIDTH, 2.5))
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
    ax = _axes(ax, (MAX_FIGURE_WIDTH, 3))
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
    ax = _axes(ax, (MAX_FIGURE_WIDTH, 3))
    ax.plot(np.linspace(0, sample_rate / 2, weights.shape[0]), weights, linewidth=0.8)
    ax.set_xlim(0, sample_rate / 2)
    ax.set(xlabel="frequency (Hz)", ylabel="weight")
    ax.set_title(title if title is not None else f"{weights.shape[1]} Mel filters")
    return ax


def plot_confusion_matrix(
    matrix: torch.Tensor | np.ndarray,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Show a ``(classes, classes)`` confusion matrix (rows: true class, columns: predicted) as an
    image with each nonzero count written in its cell; ``labels`` name the classes (default 0, 1, ...)."""
    counts = _to_numpy(matrix, 2, "matrix")
    if counts.shape[0] != counts.shape[1]:
        raise ValueError(f"matrix must be square, got shape {tuple(counts.shape)}.")
    classes = counts.shape[0]
    labels = [str(i) for i in range(classes)] if labels is None else list(labels)
    if len(labels) != classes:
        raise ValueError(f"{len(labels)} labels for {classes} classes.")
    ax = _axes(ax, (5, 4.5))
    ax.imshow(counts, cmap="Blues", interpolation="nearest")
    for (row, col), count in np.ndenumerate(counts):
        if count:
            dark = count > counts.max() / 2
            ax.text(col, row, f"{count:g}", ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks(range(classes), labels)
    ax.set_yticks(range(classes), labels)
    ax.set(xlabel="predicted", ylabel="true")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_posteriors_over_time(
    waveform: torch.Tensor | np.ndarray,
    sample_rate: int,
    times: torch.Tensor | np.ndarray,
    posteriors: torch.Tensor | np.ndarray,
    segments: Sequence[Any] = (),
    labels: Sequence[str] | None = None,
    detections: Sequence[Any] = (),
    threshold: float | None = None,
) -> tuple[Axes, Axes]:
    """The waveform above the class posteriors ``(windows, classes)`` at window times ``(windows,)``
    seconds, on a shared time axis. ``segments`` (objects with ``start``, ``end``, ``label``, e.g.
    :class:`tutorial_utils.streaming.Segment`) are shaded and named in both panels; ``detections``
    (``time``, ``label``) are marked on the posteriors; ``threshold`` is drawn as a dashed line."""
    probabilities = _to_numpy(posteriors, 2, "posteriors")
    window_times = _to_numpy(times, 1, "times")
    if len(window_times) != len(probabilities):
        raise ValueError(f"{len(window_times)} times for {len(probabilities)} windows of posteriors.")
    names = [str(i) for i in range(probabilities.shape[1])] if labels is None else list(labels)
    colors = plt.get_cmap("tab10")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(MAX_FIGURE_WIDTH, 4.2), sharex=True, height_ratios=(1, 1.4))
    plot_waveform(waveform, sample_rate, ax=top)
    top.set_xlabel("")
    for segment in segments:
        for ax in (top, bottom):
            ax.axvspan(segment.start, segment.end, color="0.85", zorder=0)
        top.text((segment.start + segment.end) / 2, 1.02, names[segment.label], transform=top.get_xaxis_transform(),
                 ha="center", va="bottom")
    for k, name in enumerate(names):
        bottom.plot(window_times, probabilities[:, k], color=colors(k % 10), linewidth=1.2, label=name)
    for detection in detections:
        bottom.plot(detection.time, 1.04, "v", color=colors(detection.label % 10), clip_on=False)
        bottom.text(detection.time, 1.1, names[detection.label], ha="center", va="bottom",
                    color=colors(detection.label % 10))
    if threshold is not None:
        bottom.axhline(threshold, color="0.3", linestyle="--", linewidth=0.8)
    bottom.set(xlabel="time (s)", ylabel="posterior", ylim=(0, 1.2))
    bottom.legend(ncol=min(len(names), 10), loc="upper center", bbox_to_anchor=(0.5, -0.35), frameon=False,
                  columnspacing=1.0, handlelength=1.2)
    return top, bottom
