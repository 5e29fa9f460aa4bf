"""tutorial_utils.evaluation against scipy (Wilson interval) and scikit-learn (confusion matrix,
precision/recall), with edge cases: 0 or n correct, no examples, classes never predicted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import precision_recall_fscore_support

from tutorial_utils import evaluation


@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (1, 1), (0, 1), (3, 7), (238, 250), (499, 500), (41, 500)])
@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_interval_equals_scipy(k, n, confidence):
    expected = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = evaluation.wilson_interval(k, n, confidence)
    assert low == pytest.approx(expected.low, abs=1e-12) and high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_interval_at_the_edges_is_not_degenerate():
    low, high = evaluation.wilson_interval(250, 250)
    assert high == 1.0 and 0.98 < low < 1.0  # the normal interval would be [1, 1]
    low, high = evaluation.wilson_interval(0, 250)
    assert low == 0.0 and 0.0 < high < 0.02
    assert evaluation.wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("k, n, confidence", [(5, 4, 0.95), (-1, 4, 0.95), (1, 4, 1.0), (1, 4, 0.0)])
def test_wilson_interval_rejects_nonsense(k, n, confidence):
    with pytest.raises(ValueError):
        evaluation.wilson_interval(k, n, confidence)


def test_bootstrap_interval_is_close_to_wilson_for_a_middle_proportion():
    correct = torch.tensor([1] * 160 + [0] * 40)
    low, high = evaluation.bootstrap_interval(correct, resamples=4000)
    wilson = evaluation.wilson_interval(160, 200)
    assert low == pytest.approx(wilson[0], abs=0.015) and high == pytest.approx(wilson[1], abs=0.015)
    assert evaluation.bootstrap_interval(correct, seed=3) == evaluation.bootstrap_interval(correct, seed=3)


def test_bootstrap_interval_collapses_when_all_are_correct():
    # the bootstrap's known weakness: every resample of all-correct data is all correct
    assert evaluation.bootstrap_interval(torch.ones(50)) == (1.0, 1.0)
    assert evaluation.bootstrap_interval(torch.zeros(0)) == (0.0, 1.0)


def test_accuracy_counts_and_formats():
    result = evaluation.accuracy(torch.tensor([1, 2, 3, 3]), [1, 2, 0, 3])
    assert (result.correct, result.total, result.value) == (3, 4, 0.75)
    assert (result.low, result.high) == evaluation.wilson_interval(3, 4)
    assert "3/4" in str(result) and "75.0%" in str(result)
    empty = evaluation.accuracy([], [])
    assert empty.total == 0 and math.isnan(empty.value) and (empty.low, empty.high) == (0.0, 1.0)


def test_accuracy_rejects_logits_and_mismatched_lengths():
    with pytest.raises(ValueError, match="argmax"):
        evaluation.accuracy(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(TypeError, match="integers"):
        evaluation.accuracy(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="3 predictions for 4 labels"):
        evaluation.accuracy([0, 1, 2], [0, 1, 2, 0])


def test_accuracy_by_group_splits_by_key_in_sorted_order():
    predictions, labels = [0, 1, 1, 2, 2, 0], [0, 1, 0, 2, 1, 0]
    groups = ["theo", "george", "george", "theo", "theo", "jackson"]
    result = evaluation.accuracy_by_group(predictions, labels, groups)
    assert list(result) == ["george", "jackson", "theo"]
    assert [(r.correct, r.total) for r in result.values()] == [(1, 2), (1, 1), (2, 3)]
    assert evaluation.accuracy_by_group([], [], []) == {}
    with pytest.raises(ValueError, match="group keys"):
        evaluation.accuracy_by_group([0, 1], [0, 1], ["a"])


def test_confusion_matrix_equals_sklearn_including_absent_classes():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 7, (300,), generator=generator)  # classes 7..9 never occur
    predictions = torch.where(torch.rand(300, generator=generator) < 0.7, labels,
                              torch.randint(0, 5, (300,), generator=generator))  # 5, 6 sometimes never predicted
    matrix = evaluation.confusion_matrix(labels, predictions, 10)
    expected = sk_confusion_matrix(labels.numpy(), predictions.numpy(), labels=list(range(10)))
    assert matrix.dtype == torch.long and np.array_equal(matrix.numpy(), expected)
    assert matrix.sum() == 300 and matrix.trace() == (labels == predictions).sum()


def test_confusion_matrix_rejects_out_of_range_and_handles_empty():
    with pytest.raises(ValueError, match="0..2"):
        evaluation.confusion_matrix([0, 3], [0, 1], 3)
    assert torch.equal(evaluation.confusion_matrix([], [], 2), torch.zeros(2, 2, dtype=torch.long))


def test_per_class_metrics_equal_sklearn_with_nan_for_undefined_ratios():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    predictions = torch.tensor([0, 1, 0, 1, 0, 2, 2, 1, 0, 1])  # 3 is never predicted, 4 never occurs
    metrics = evaluation.per_class_metrics(evaluation.confusion_matrix(labels, predictions, 5))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels.numpy(), predictions.numpy(), labels=list(range(5)), zero_division=np.nan)
    for name, expected in {"precision": precision, "recall": recall, "f1": f1}.items():
        assert np.allclose(metrics[name].numpy(), expected, equal_nan=True, atol=1e-12), name
    assert np.array_equal(metrics["support"].numpy(), support)
    assert math.isnan(metrics["precision"][3]) and metrics["recall"][3] == 0 and metrics["f1"][3] == 0
    assert math.isnan(metrics["recall"][4]) and math.isnan(metrics["f1"][4])


def _tta_fixture():
    from torch.utils.data import DataLoader, TensorDataset

    from tutorial_utils.front_end import FrontEnd
    from tutorial_utils.models import kws_model

    torch.manual_seed(0)
    waveforms, labels = torch.randn(6, 8000), torch.arange(6) % 3
    model, front_end = kws_model("res8-narrow", 3).eval(), FrontEnd().eval()
    return model, front_end, DataLoader(TensorDataset(waveforms, labels), batch_size=4), waveforms, labels


def test_speed_tta_at_rate_one_is_the_models_own_softmax():
    from tutorial_utils.evaluation.tta import speed_tta_probabilities

    model, front_end, loader, waveforms, labels = _tta_fixture()
    probabilities, got_labels = speed_tta_probabilities(model, loader, front_end, [1.0])
    with torch.no_grad():
        expected = model(front_end(waveforms)).softmax(1)
    assert torch.allclose(probabilities, expected, atol=1e-6) and torch.equal(got_labels, labels)


def test_speed_tta_averages_the_probabilities_of_each_speed():
    from tutorial_utils.augment import change_speed
    from tutorial_utils.evaluation.tta import speed_tta_probabilities

    model, front_end, loader, waveforms, _ = _tta_fixture()
    probabilities, _ = speed_tta_probabilities(model, loader, front_end, [0.9, 1.0, 1.1])
    with torch.no_grad():
        each = [model(front_end(change_speed(waveforms, torch.full((6,), rate)))).softmax(1) for rate in (0.9, 1.0, 1.1)]
    assert torch.allclose(probabilities, sum(each) / 3, atol=1e-6)
    assert torch.allclose(probabilities.sum(1), torch.ones(6), atol=1e-6)
    assert not torch.allclose(each[0], each[2], atol=1e-4)  # the speeds do change what the model sees
    with pytest.raises(ValueError, match="at least one rate"):
        speed_tta_probabilities(model, loader, front_end, [])
