"""tutorial_utils.streaming with fake models whose posteriors are known."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tutorial_utils.evaluation import streaming

RATE = 100  # samples per second: small numbers, easy times


class MeanLevel(nn.Module):
    """A fake 'front end + model': class 1's logit is 10 x the window's mean, class 0's is 5
    (the window's mean is the fraction of it covered by a word of amplitude 1)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, windows):
        mean = windows.mean(dim=-1, keepdim=True)
        return torch.cat([torch.full_like(mean, 5.0), self.scale * mean], dim=-1)


def test_stitch_clips_places_segments_where_the_clips_are():
    clips = [torch.full((50,), 1.0), torch.full((30,), 2.0), torch.full((40,), 3.0)]
    waveform, segments = streaming.stitch_clips(clips, [4, 7, 1], RATE, pause=(0.2, 0.5), seed=1)
    assert [s.label for s in segments] == [4, 7, 1]
    for clip, segment in zip(clips, segments):
        start, end = round(segment.start * RATE), round(segment.end * RATE)
        assert end - start == len(clip) and torch.equal(waveform[start:end], clip)
    gaps = [segments[0].start] + [b.start - a.end for a, b in zip(segments, segments[1:])]
    gaps.append(len(waveform) / RATE - segments[-1].end)
    assert all(0.2 - 1e-9 <= g <= 0.5 + 1e-9 for g in gaps) and len(set(gaps)) > 1
    assert waveform.abs().sum() == sum(c.abs().sum() for c in clips)  # the pauses are silent
    assert torch.equal(streaming.stitch_clips(clips, [4, 7, 1], RATE, seed=1)[0],
                       streaming.stitch_clips(clips, [4, 7, 1], RATE, seed=1)[0])
    with pytest.raises(ValueError, match="3 clips for 2 labels"):
        streaming.stitch_clips(clips, [4, 7], RATE)


@pytest.mark.parametrize("samples, count", [(100, 1), (101, 2), (130, 2), (131, 3), (40, 1)])
def test_sliding_windows_cover_every_sample(samples, count):
    windows = streaming.sliding_windows(torch.arange(1.0, samples + 1), 100, 30)
    assert windows.shape == (count, 100)
    assert torch.equal(windows[:, 0], torch.arange(count) * 30 + 1.0)
    assert windows.max() == samples  # the last sample is in a window; the rest is zero padding


def test_sliding_posteriors_times_and_values_follow_the_fake_model():
    waveform = torch.zeros(500)
    waveform[200:300] = 1.0  # a "word" from 2 s to 3 s
    model = MeanLevel()
    times, posteriors = streaming.sliding_posteriors(model, nn.Identity(), waveform, RATE, 1.0, 0.1, batch_size=7)
    assert posteriors.shape == (len(times), 2) and torch.allclose(posteriors.sum(-1), torch.ones(len(times)))
    assert torch.allclose(times[:3], torch.tensor([0.5, 0.6, 0.7]))
    coverage = streaming.sliding_windows(waveform, 100, 10).mean(-1)
    expected = torch.stack([torch.zeros_like(coverage), 10 * coverage - 5], -1).softmax(-1)
    assert torch.allclose(posteriors, expected, atol=1e-6)
    assert abs(times[posteriors[:, 1].argmax()] - 2.5) < 1e-6  # the window centred on the word
    assert not model.training


def test_detect_keywords_picks_peaks_above_threshold_with_a_minimum_gap():
    times = torch.arange(12) * 0.1
    p1 = torch.tensor([0.0, 0.2, 0.9, 0.95, 0.9, 0.1, 0.0, 0.85, 0.7, 0.0, 0.6, 0.0])
    p0 = torch.tensor([0.5, 0.3, 0.0, 0.0, 0.0, 0.1, 0.99, 0.0, 0.0, 0.0, 0.0, 0.0])
    posteriors = torch.stack([p0, p1], -1)
    detections = streaming.detect_keywords(times, posteriors, threshold=0.8, min_gap=0.3)
    assert [(d.label, round(d.time, 3)) for d in detections] == [(1, 0.3), (0, 0.6)]  # 0.7 is too close to 0.6
    assert detections[0].score == pytest.approx(0.95)
    ones = streaming.detect_keywords(times, posteriors[:, 1:], threshold=0.8, min_gap=0.3)
    assert [(round(d.time, 3), round(d.score, 3)) for d in ones] == [(0.3, 0.95), (0.7, 0.85)]  # not 0.2, 0.4
    # a wider gap keeps only the strongest of the two peaks; a higher threshold neither
    assert [round(d.time, 3) for d in streaming.detect_keywords(times, posteriors[:, 1:], 0.8, min_gap=0.5)] == [0.3]
    assert streaming.detect_keywords(times, posteriors[:, 1:], threshold=0.96) == []


def test_detect_keywords_smoothing_removes_a_one_window_spike():
    times = torch.arange(9) * 0.1
    p1 = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.95, 0.0, 0.0, 0.0, 0.0])
    posteriors = torch.stack([torch.full((9,), 0.05), p1], -1)
    assert len(streaming.detect_keywords(times, posteriors, 0.8)) == 1
    assert streaming.detect_keywords(times, posteriors, 0.8, smoothing=3) == []


def test_match_detections_counts_hits_wrong_labels_misses_and_false_alarms():
    segments = [streaming.Segment(1.0, 1.4, 3), streaming.Segment(2.0, 2.5, 5), streaming.Segment(4.0, 4.3, 1)]
    detections = [streaming.Detection(1.2, 3, 0.9), streaming.Detection(1.3, 3, 0.9),  # second: no segment left
                  streaming.Detection(2.7, 6, 0.9), streaming.Detection(6.0, 1, 0.9)]
    assert streaming.match_detections(detections, segments, tolerance=0.3) == {
        "correct": 1, "wrong_label": 1, "missed": 1, "false_alarms": 2}
    assert streaming.match_detections([], segments)["missed"] == 3
