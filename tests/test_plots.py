"""tutorial_utils.plots: labels, limits and image extents (not pixels), on the Agg backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from tutorial_utils import features, plots  # noqa: E402

SAMPLE_RATE, HOP = 8000, 80


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_waveform_has_time_in_seconds():
    waveform = torch.linspace(-1, 1, 4000, requires_grad=True)
    ax = plots.plot_waveform(waveform, SAMPLE_RATE, title="ramp")
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "amplitude" and ax.get_title() == "ramp"
    assert ax.get_xlim() == (0, 0.5)
    line = ax.get_lines()[0]
    assert np.allclose(line.get_xdata()[[0, -1]], [0, 3999 / SAMPLE_RATE])


def test_plot_waveform_draws_into_a_given_axes_and_accepts_numpy():
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_waveform(np.zeros(800), SAMPLE_RATE, ax=right) is right
    assert len(left.get_lines()) == 0 and len(right.get_lines()) == 1
    with pytest.raises(ValueError, match="waveform must have 1 dimension"):
        plots.plot_waveform(np.zeros((2, 800)), SAMPLE_RATE)


def test_plot_spectrogram_hz_axis_spans_zero_to_nyquist():
    spec = torch.rand(129, 101, dtype=torch.float64)  # n_fft=256: bins 31.25 Hz apart
    ax = plots.plot_spectrogram(spec, SAMPLE_RATE, HOP, title="noise")
    image = ax.get_images()[0]
    frame_s, bin_hz = HOP / SAMPLE_RATE, 4000 / 128
    # pixel centres: frame t at t * hop / rate seconds, bin k at k * bin_hz
    assert np.allclose(image.get_extent(), [-frame_s / 2, 100.5 * frame_s, -bin_hz / 2, 4000 + bin_hz / 2])
    assert ax.get_ylim() == (0, 4000)
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (Hz)" and ax.get_title() == "noise"
    assert image.origin == "lower"
    assert len(ax.figure.axes) == 2  # the colour bar


def test_plot_spectrogram_f_max_limits_the_hz_axis():
    ax = plots.plot_spectrogram(np.zeros((129, 10)), SAMPLE_RATE, HOP, f_max=2000, colorbar=False)
    assert ax.get_ylim() == (0, 2000)
    assert len(ax.figure.axes) == 1


def test_plot_spectrogram_mel_and_index_axes_count_rows():
    log_mel = features.log_mel_spectrogram(torch.randn(8000), SAMPLE_RATE, n_fft=200, hop_length=HOP, n_mels=40)
    fig, (top, bottom) = plt.subplots(2, 1)
    assert plots.plot_spectrogram(log_mel, SAMPLE_RATE, HOP, ax=top, y_axis="mel") is top
    assert top.get_ylabel() == "Mel band"
    assert np.allclose(top.get_images()[0].get_extent()[2:], [-0.5, 39.5])
    assert np.allclose(top.get_xlim(), [-0.005, 1.005])  # 101 frames, 10 ms apart
    plots.plot_spectrogram(torch.zeros(39, 101), SAMPLE_RATE, HOP, ax=bottom, y_axis="index", colorbar=False)
    assert bottom.get_ylabel() == "index" and np.allclose(bottom.get_ylim(), [-0.5, 38.5])


def test_plot_spectrogram_rejects_bad_arguments():
    with pytest.raises(ValueError, match="y_axis must be one of hz, mel, index"):
        plots.plot_spectrogram(np.zeros((40, 10)), SAMPLE_RATE, HOP, y_axis="bark")
    with pytest.raises(ValueError, match="f_max only applies to y_axis='hz'"):
        plots.plot_spectrogram(np.zeros((40, 10)), SAMPLE_RATE, HOP, y_axis="mel", f_max=2000)
    with pytest.raises(ValueError, match=r"spec must have 2 dimension\(s\), got shape \(1, 40, 10\)"):
        plots.plot_spectrogram(np.zeros((1, 40, 10)), SAMPLE_RATE, HOP)


def test_plot_filterbank_draws_one_line_per_filter():
    fbank = features.mel_filterbank(101, SAMPLE_RATE, 20)
    ax = plots.plot_filterbank(fbank, SAMPLE_RATE)
    assert len(ax.get_lines()) == 20
    assert ax.get_xlim() == (0, 4000) and ax.get_xlabel() == "frequency (Hz)" and ax.get_ylabel() == "weight"
    assert np.allclose(ax.get_lines()[0].get_xdata()[[0, -1]], [0, 4000])
    assert ax.get_title() == "20 Mel filters"


def test_plot_confusion_matrix_writes_counts_and_names_axes():
    matrix = torch.tensor([[5, 1, 0], [0, 4, 2], [0, 0, 6]])
    ax = plots.plot_confusion_matrix(matrix, labels=["a", "b", "c"], title="cm")
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true" and ax.get_title() == "cm"
    assert sorted(t.get_text() for t in ax.texts) == sorted(["5", "1", "4", "2", "6"])  # zeros are left blank
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert np.array_equal(ax.get_images()[0].get_array(), matrix.numpy())
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 labels for 3 classes"):
        plots.plot_confusion_matrix(matrix, labels=["a", "b"])


def test_plot_posteriors_over_time_shares_time_and_marks_segments_and_detections():
    from tutorial_utils.evaluation.streaming import Detection, Segment

    times = torch.arange(20) * 0.1 + 0.5
    posteriors = torch.rand(20, 3).softmax(-1)
    top, bottom = plots.plot_posteriors_over_time(
        torch.zeros(2 * SAMPLE_RATE), SAMPLE_RATE, times, posteriors, segments=[Segment(0.5, 0.9, 2)],
        labels=["zero", "one", "two"], detections=[Detection(0.7, 2, 0.9)], threshold=0.8)
    assert top.get_shared_x_axes().joined(top, bottom)
    assert bottom.get_xlabel() == "time (s)" and bottom.get_ylabel() == "posterior"
    assert [t.get_text() for t in top.texts] == ["two"] and [t.get_text() for t in bottom.texts] == ["two"]
    assert len(bottom.patches) == 1 and len(top.patches) == 1  # the shaded segment in both panels
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == ["zero", "one", "two"]
    with pytest.raises(ValueError, match="19 times for 20 windows"):
        plots.plot_posteriors_over_time(torch.zeros(800), SAMPLE_RATE, times[:19], posteriors)


def test_book_style_draws_svg_text_no_smaller_than_its_minimum():
    """Under the book style, a figure's SVG keeps its text as text, none under MIN_FONT_SIZE."""
    import io
    import re

    with plt.rc_context():
        plots.use_book_style()
        fig, (left, right) = plt.subplots(1, 2)
        plots.plot_waveform(np.sin(np.arange(800) / 9), SAMPLE_RATE, ax=left, title="sine")
        plots.plot_confusion_matrix(np.eye(3) * 4, ["a", "b", "c"], ax=right)
        right.legend(["x"])
        svg = io.StringIO()
        fig.savefig(svg, format="svg")
        plt.close(fig)
    assert fig.get_figwidth() <= plots.MAX_FIGURE_WIDTH
    sizes = [float(s) for s in re.findall(r"<text[^>]*font-size: ([\d.]+)px", svg.getvalue())]
    assert len(sizes) > 10 and min(sizes) >= plots.MIN_FONT_SIZE


def test_a_labelled_log_axis_has_no_superscripts_under_the_minimum_size():
    """matplotlib's 10^k tick labels draw the exponent at 70 % of the tick size (an SVG tspan);
    label_log_axis writes 1e-05, 0.3, 60 at full size."""
    import io

    with plt.rc_context():
        plots.use_book_style()
        fig, (default, labelled) = plt.subplots(1, 2)
        for ax in (default, labelled):
            ax.semilogy([1, 2, 3], [2.5, 0.8, 1e-5])
        plots.label_log_axis(labelled.yaxis)
        labels = [t.get_text() for t in labelled.get_yticklabels() + labelled.get_yticklabels(minor=True)]
        svg = io.StringIO()
        fig.savefig(svg, format="svg")
        plt.close(fig)
    assert "$" not in "".join(labels) and "1e-05" in [s.replace("\u2212", "-") for s in labels]
    assert "<tspan" in svg.getvalue()  # the default axis: the check below would see a superscript
