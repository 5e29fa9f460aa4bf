"""Keyword spotting on a long recording: stitch clips into one stream with pauses (knowing where
each word lies), run a clip classifier over it with a sliding window, and pick peaks of the
posteriors as detections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Segment:
    """A word in a stream: label index and where it lies, in seconds."""

    start: float
    end: float
    label: int


@dataclass(frozen=True)
class Detection:
    """A detected word: when (the centre of the window that detected it), which label, how sure."""

    time: float
    label: int
    score: float


def stitch_clips(
    clips: Sequence[torch.Tensor],
    labels: Sequence[int],
    sample_rate: int,
    pause: tuple[float, float] = (0.3, 0.8),
    seed: int = 0,
) -> tuple[torch.Tensor, list[Segment]]:
    """Concatenate 1-D ``clips`` into one waveform ``(samples,)``, with a silence of a random length
    uniform in ``pause`` seconds before the first clip, between clips and after the last; return it
    and the true :class:`Segment` of each clip."""
    if len(clips) != len(labels):
        raise ValueError(f"{len(clips)} clips for {len(labels)} labels")
    generator = torch.Generator().manual_seed(seed)

    def silence() -> torch.Tensor:
        seconds = pause[0] + (pause[1] - pause[0]) * torch.rand((), generator=generator).item()
        return torch.zeros(round(seconds * sample_rate))

    pieces, segments = [silence()], []
    position = len(pieces[0])
    for clip, label in zip(clips, labels):
        clip = torch.as_tensor(clip, dtype=torch.float32).flatten()
        segments.append(Segment(position / sample_rate, (position + len(clip)) / sample_rate, int(label)))
        gap = silence()
        pieces += [clip, gap]
        position += len(clip) + len(gap)
    return torch.cat(pieces), segments


def sliding_windows(waveform: torch.Tensor, window: int, hop: int) -> torch.Tensor:
    """Overlapping windows ``(windows, window)`` of a ``(samples,)`` waveform, one every ``hop``
    samples; the end is padded with zeros so that every sample lies in some window."""
    waveform = torch.as_tensor(waveform).flatten()
    count = 1 + max(0, -(-(len(waveform) - window) // hop))  # ceil division
    padded = nn.functional.pad(waveform, (0, (count - 1) * hop + window - len(waveform)))
    return padded.unfold(0, window, hop)


@torch.no_grad()
def sliding_posteriors(
    model: nn.Module,
    front_end: nn.Module,
    waveform: torch.Tensor,
    sample_rate: int,
    window_seconds: float = 1.0,
    hop_seconds: float = 0.1,
    batch_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class posteriors of ``model`` on every window of ``waveform`` ``(samples,)``: windows of
    ``window_seconds`` every ``hop_seconds`` go through ``front_end`` and ``model`` (both in eval
    mode, on the model's device) in batches. Returns the windows' centre times in seconds
    ``(windows,)`` and the softmax posteriors ``(windows, classes)`` on the CPU."""
    window, hop = round(window_seconds * sample_rate), round(hop_seconds * sample_rate)
    windows = sliding_windows(waveform, window, hop)
    device = next(model.parameters()).device
    model.eval()
    front_end.eval().to(device)
    posteriors = [
        model(front_end(batch.to(device))).float().softmax(dim=-1).cpu() for batch in windows.split(batch_size)
    ]
    times = (torch.arange(len(windows)) * hop + window / 2) / sample_rate
    return times, torch.cat(posteriors)


def detect_keywords(
    times: torch.Tensor, posteriors: torch.Tensor, threshold: float = 0.8, min_gap: float = 0.5,
    smoothing: int = 1,
) -> list[Detection]:
    """Peak picking: average each class's posterior over ``smoothing`` consecutive windows, keep the
    local maxima of at least ``threshold``, then, strongest first, drop any peak closer than
    ``min_gap`` seconds to one already kept. Returns the detections in time order."""
    if smoothing > 1:
        kernel = torch.ones(posteriors.shape[1], 1, smoothing) / smoothing
        padded = nn.functional.pad(posteriors.T[None], (smoothing // 2, (smoothing - 1) // 2), mode="replicate")
        posteriors = nn.functional.conv1d(padded, kernel, groups=posteriors.shape[1])[0].T
    before = torch.cat([torch.full_like(posteriors[:1], -1.0), posteriors[:-1]])
    after = torch.cat([posteriors[1:], torch.full_like(posteriors[:1], -1.0)])
    peaks = (posteriors >= threshold) & (posteriors >= before) & (posteriors > after)
    candidates = sorted(
        (Detection(float(times[i]), int(k), float(posteriors[i, k])) for i, k in peaks.nonzero().tolist()),
        key=lambda d: -d.score,
    )
    kept: list[Detection] = []
    for candidate in candidates:
        if all(abs(candidate.time - d.time) >= min_gap for d in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda d: d.time)


def match_detections(
    detections: Sequence[Detection], segments: Sequence[Segment], tolerance: float = 0.5
) -> dict[str, int]:
    """Score detections against the truth: a detection *hits* a segment if its time lies within the
    segment widened by ``tolerance`` seconds on both sides and no earlier detection took it. Returns
    counts of ``correct`` (right label), ``wrong_label``, ``missed`` segments and ``false_alarms``
    (detections that hit no segment)."""
    taken: set[int] = set()
    counts = {"correct": 0, "wrong_label": 0, "missed": 0, "false_alarms": 0}
    for detection in detections:
        hit = next((i for i, s in enumerate(segments) if i not in taken
                    and s.start - tolerance <= detection.time <= s.end + tolerance), None)
        if hit is None:
            counts["false_alarms"] += 1
            continue
        taken.add(hit)
        counts["correct" if detection.label == segments[hit].label else "wrong_label"] += 1
    counts["missed"] = len(segments) - len(taken)
    return counts
