"""Exercise checkers: each accepts the book's solution, rejects a wrong one with a useful message,
and reports a NotImplementedError stub as "not implemented yet" without raising. The solutions are
read from the chapters' solution dropdowns (tests/notebook_solutions.py), so they cannot drift."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
import torchaudio

from notebook_solutions import solution
from tutorial_utils import features
from tutorial_utils.book import checks


def stub(*args):
    raise NotImplementedError


# -- mel_filterbank (chapter 1, HTK, no normalisation) ---------------------------------------------


# The solution shown in chapter 1's dropdown, with the chapter's own Mel scale functions.
solution_mel_filterbank = solution(1, "ex-ch1-htk-filterbank", "my_mel_filterbank", uses=("hz_to_mel", "mel_to_hz"))


def test_mel_filterbank_accepts_the_solution_and_torchaudio(capsys):
    assert checks.check_mel_filterbank(solution_mel_filterbank)
    assert "✓ mel_filterbank: correct" in capsys.readouterr().out
    assert checks.check_mel_filterbank(
        lambda n_freqs, rate, n_mels: torchaudio.functional.melscale_fbanks(n_freqs, 0.0, rate / 2, n_mels, rate))


def test_mel_filterbank_names_the_slaney_mistake(capsys):
    assert not checks.check_mel_filterbank(
        lambda n_freqs, rate, n_mels: features.mel_filterbank(n_freqs, rate, n_mels, scale="slaney"))
    out = capsys.readouterr().out
    assert "✗ mel_filterbank: your function(101, 8000, 40) has the right shape but different values" in out
    assert "largest error" in out and "Slaney's Mel scale; the exercise asks for HTK" in out
    assert not checks.check_mel_filterbank(
        lambda n_freqs, rate, n_mels: features.mel_filterbank(n_freqs, rate, n_mels, norm="slaney"))
    assert "unit area" in capsys.readouterr().out


def test_mel_filterbank_rejects_a_transposed_result(capsys):
    def transposed(n_freqs, sample_rate, n_mels):
        return solution_mel_filterbank(n_freqs, sample_rate, n_mels).T

    assert not checks.check_mel_filterbank(transposed)
    assert "transposed(101, 8000, 40) has shape (40, 101), expected (101, 40) (transposed?)" in capsys.readouterr().out


def test_mel_filterbank_reports_stubs_and_errors_without_raising(capsys):
    assert not checks.check_mel_filterbank(stub)
    assert capsys.readouterr().out == "mel_filterbank: not implemented yet - fill in the function above\n"
    assert not checks.check_mel_filterbank(lambda *args: 1 / 0)
    assert "raised ZeroDivisionError" in capsys.readouterr().out
    assert not checks.check_mel_filterbank(lambda *args: None)
    assert "returned None" in capsys.readouterr().out
    assert not checks.check_mel_filterbank(lambda n_freqs, rate, n_mels: torch.full((n_freqs, n_mels), math.nan))
    assert "NaN" in capsys.readouterr().out


# -- residual_jacobian (chapter 2), xavier_uniform_limit and kaiming_std (chapter 4) ----------------


solution_residual_jacobian = solution(2, "ex-ch2-jacobian", "residual_jacobian")


def test_residual_jacobian_accepts_the_solution(capsys):
    assert checks.check_residual_jacobian(solution_residual_jacobian)
    assert "✓ residual_jacobian: correct" in capsys.readouterr().out


def test_residual_jacobian_names_common_mistakes(capsys):
    def branch_only(x, w1, w2):
        return solution_residual_jacobian(x, w1, w2) - torch.eye(len(x), dtype=x.dtype)

    assert not checks.check_residual_jacobian(branch_only)
    assert "adds the identity matrix" in capsys.readouterr().out
    assert not checks.check_residual_jacobian(lambda x, w1, w2: torch.eye(len(x), dtype=x.dtype) + w2 @ w1)
    assert "ReLU's derivative is missing" in capsys.readouterr().out
    assert not checks.check_residual_jacobian(lambda x, w1, w2: solution_residual_jacobian(x, w1, w2)[:, :2])
    assert "expected (3, 3)" in capsys.readouterr().out


def test_residual_jacobian_reports_a_stub(capsys):
    assert not checks.check_residual_jacobian(stub)
    assert "not implemented yet" in capsys.readouterr().out


solution_xavier_limit = solution(4, "ex-ch4-xavier", "xavier_limit")


def test_xavier_uniform_limit_accepts_the_solution_and_matches_torch(capsys):
    assert checks.check_xavier_uniform_limit(solution_xavier_limit)
    assert "✓ xavier_uniform_limit: correct" in capsys.readouterr().out
    torch.manual_seed(0)
    theirs = torch.nn.init.xavier_uniform_(torch.empty(144, 72), gain=0.5)
    torch.manual_seed(0)
    ours = torch.empty(144, 72).uniform_(-solution_xavier_limit(72, 144, 0.5), solution_xavier_limit(72, 144, 0.5))
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)


def test_xavier_uniform_limit_names_common_mistakes(capsys):
    assert not checks.check_xavier_uniform_limit(lambda fan_in, fan_out, gain: gain * math.sqrt(2 / (fan_in + fan_out)))
    assert "the standard deviation" in capsys.readouterr().out
    assert not checks.check_xavier_uniform_limit(lambda fan_in, fan_out, gain: math.sqrt(6 / (fan_in + fan_out)))
    assert "the gain is missing" in capsys.readouterr().out
    assert not checks.check_xavier_uniform_limit(lambda fan_in, fan_out, gain: gain * math.sqrt(6 / fan_in))
    assert "different values" in capsys.readouterr().out
    assert not checks.check_xavier_uniform_limit(stub)
    assert "not implemented yet" in capsys.readouterr().out


solution_leaky_kaiming_std = solution(4, "ex-ch4-leaky", "leaky_kaiming_std")


def test_kaiming_std_accepts_the_solution_and_matches_torch(capsys):
    assert checks.check_kaiming_std(solution_leaky_kaiming_std)
    assert "✓ kaiming_std: correct" in capsys.readouterr().out
    weight = torch.nn.init.kaiming_normal_(torch.empty(400, 500), a=0.2, nonlinearity="leaky_relu")
    assert abs(weight.std().item() / solution_leaky_kaiming_std(500, 0.2) - 1) < 0.01


def test_kaiming_std_names_common_mistakes(capsys):
    assert not checks.check_kaiming_std(lambda fan_in, slope: math.sqrt(2 / fan_in))
    assert "the ReLU value" in capsys.readouterr().out
    assert not checks.check_kaiming_std(lambda fan_in, slope: 2 / ((1 + slope**2) * fan_in))
    assert "take its square root" in capsys.readouterr().out
    assert not checks.check_kaiming_std(lambda fan_in, slope: math.sqrt(2 / ((1 + slope) * fan_in)))
    assert "different values" in capsys.readouterr().out
    assert not checks.check_kaiming_std(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- mix_at_snr (chapter 5) ------------------------------------------------------------------------


solution_mix_at_snr = solution(5, "ex-ch5-snr", "my_mix_at_snr")


def test_mix_at_snr_accepts_the_solution_and_hits_the_snr(capsys):
    assert checks.check_mix_at_snr(solution_mix_at_snr)
    assert "✓ mix_at_snr: correct" in capsys.readouterr().out
    signal, noise = torch.randn(2, 1000), torch.randn(2, 1000)
    mixed = solution_mix_at_snr(signal, noise, 12.0)
    snr = 10 * torch.log10(signal.pow(2).mean(-1) / (mixed - signal).pow(2).mean(-1))
    assert torch.allclose(snr, torch.full((2,), 12.0), atol=1e-3)


def test_mix_at_snr_names_common_mistakes(capsys):
    def amplitude_mistake(signal, noise, snr_db):
        gain = torch.sqrt(signal.pow(2).mean(-1, keepdim=True) / noise.pow(2).mean(-1, keepdim=True)) / 10 ** (snr_db / 10)
        return signal + gain * noise

    def batch_power(signal, noise, snr_db):
        return signal + torch.sqrt(signal.pow(2).mean() / (noise.pow(2).mean() * 10 ** (snr_db / 10))) * noise

    assert not checks.check_mix_at_snr(amplitude_mistake)
    assert "10**(snr/20)" in capsys.readouterr().out
    assert not checks.check_mix_at_snr(batch_power)
    assert "per example" in capsys.readouterr().out
    assert not checks.check_mix_at_snr(lambda signal, noise, snr_db: None)
    assert "return" in capsys.readouterr().out
    assert not checks.check_mix_at_snr(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- conv_output_size and binary_cross_entropy_with_logits (chapter 3) ------------------------------


solution_conv_output_size = solution(3, "ex-ch3-output-size", "conv_output_size")


def test_conv_output_size_accepts_the_solution(capsys):
    assert checks.check_conv_output_size(solution_conv_output_size)
    assert "✓ conv_output_size: correct" in capsys.readouterr().out


def test_conv_output_size_names_common_mistakes(capsys):
    assert not checks.check_conv_output_size(lambda size, k, s, p, d: (size + 2 * p - k) // s + 1)
    assert "dilation is missing" in capsys.readouterr().out
    assert not checks.check_conv_output_size(lambda size, k, s, p, d: (size + p - d * (k - 1) - 1) // s + 1)
    assert "both sides" in capsys.readouterr().out
    assert not checks.check_conv_output_size(lambda size, k, s, p, d: math.ceil((size + 2 * p - d * (k - 1) - 1) / s) + 1)
    assert "rounded up" in capsys.readouterr().out
    assert not checks.check_conv_output_size(lambda size, k, s, p, d: (size + 2 * p - d * (k - 1) - 1) / s + 1)
    assert "of type float, expected an int; use // (floor division)" in capsys.readouterr().out
    assert not checks.check_conv_output_size(stub)
    assert capsys.readouterr().out == "conv_output_size: not implemented yet - fill in the function above\n"


solution_binary_cross_entropy_with_logits = solution(3, "ex-ch3-bce", "binary_cross_entropy_with_logits")


def test_binary_cross_entropy_accepts_the_solution(capsys):
    assert checks.check_binary_cross_entropy_with_logits(solution_binary_cross_entropy_with_logits)
    assert "✓ binary_cross_entropy_with_logits: correct" in capsys.readouterr().out


def test_binary_cross_entropy_rejects_the_overflowing_textbook_formula(capsys):
    def textbook(z, y):
        p = torch.sigmoid(z)
        return (-y * torch.log(p) - (1 - y) * torch.log(1 - p)).mean()

    assert not checks.check_binary_cross_entropy_with_logits(textbook)
    out = capsys.readouterr().out
    assert "textbook(z, y) for logits of +-1000 is" in out and "exp overflowed?" in out


def test_binary_cross_entropy_names_other_mistakes(capsys):
    assert not checks.check_binary_cross_entropy_with_logits(
        lambda z, y: torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs())))
    assert "return the mean over all elements" in capsys.readouterr().out
    assert not checks.check_binary_cross_entropy_with_logits(
        lambda z, y: torch.tensor(torch.nn.functional.binary_cross_entropy_with_logits(z, y).item()))
    assert "not differentiable" in capsys.readouterr().out
    assert not checks.check_binary_cross_entropy_with_logits(
        lambda z, y: (torch.clamp(z, min=0) + torch.log1p(torch.exp(-z.abs()))).mean())
    assert "different values" in capsys.readouterr().out
    assert not checks.check_binary_cross_entropy_with_logits(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- adam_step (chapter 8) -------------------------------------------------------------------------


solution_adam_step = solution(8, "ex-ch8-adam", "adam_step")


def adam_step_variant(*, bias_correction=True, eps_inside=False, first_step=1, squared=True):
    """The solution with one of the common mistakes switched on."""
    def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
        beta1, beta2 = betas
        exp_avg = beta1 * exp_avg + (1 - beta1) * grad
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * (grad**2 if squared else grad)
        t = step + 1 - first_step
        m_hat = exp_avg / (1 - beta1**t) if bias_correction else exp_avg
        v_hat = exp_avg_sq / (1 - beta2**t) if bias_correction else exp_avg_sq
        denominator = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
        return param - lr * m_hat / denominator, exp_avg, exp_avg_sq

    return adam_step


def test_adam_step_accepts_the_solution_and_the_package_optimizer(capsys):
    assert checks.check_adam_step(solution_adam_step)
    assert "✓ adam_step: correct" in capsys.readouterr().out

    def with_package_adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
        from tutorial_utils import optim

        state = {"step": step - 1, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
        optim.Adam.adam_step(param, grad, state, {"lr": lr, "betas": betas, "eps": eps})
        return param, state["exp_avg"], state["exp_avg_sq"]

    assert checks.check_adam_step(with_package_adam)


def test_adam_step_names_common_mistakes(capsys):
    cases = {
        "bias correction is missing": adam_step_variant(bias_correction=False),
        "eps belongs outside the square root": adam_step_variant(eps_inside=True),
        "uses t + 1": adam_step_variant(first_step=0),
        "average the *squared* gradient": adam_step_variant(squared=False),
    }
    for hint, wrong in cases.items():
        assert not checks.check_adam_step(wrong)
        out = capsys.readouterr().out
        assert out.startswith("✗ adam_step:") and hint in out, out


def test_adam_step_reports_stubs_wrong_returns_and_infinities(capsys):
    assert not checks.check_adam_step(stub)
    assert capsys.readouterr().out == "adam_step: not implemented yet - fill in the function above\n"
    assert not checks.check_adam_step(lambda p, g, m, v, t, lr, betas, eps: p - lr * g)
    assert "must return three tensors" in capsys.readouterr().out
    assert not checks.check_adam_step(adam_step_variant(first_step=2))  # step 1 divides by 1 - beta**0 = 0
    assert "NaN or infinite" in capsys.readouterr().out


# -- precision_recall (chapter 7) --------------------------------------------------------------------


solution_precision_recall = solution(7, "ex-ch7-precision-recall", "my_precision_recall")


def test_precision_recall_accepts_the_solution_which_equals_sklearn(capsys):
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    assert checks.check_precision_recall(solution_precision_recall)
    assert "✓ precision_recall: correct" in capsys.readouterr().out
    labels, predictions = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0]), torch.tensor([0, 1, 1, 1, 2, 2, 0, 0])
    matrix = torch.bincount(labels * 3 + predictions, minlength=9).reshape(3, 3)
    precision, recall, _, _ = precision_recall_fscore_support(labels.numpy(), predictions.numpy())
    assert torch.allclose(torch.stack(solution_precision_recall(matrix)), torch.from_numpy(np.stack([precision, recall])))


def test_precision_recall_names_common_mistakes(capsys):
    def swapped(matrix):
        return solution_precision_recall(matrix)[::-1]

    def over_total(matrix):
        return matrix.diagonal() / matrix.sum(), matrix.diagonal() / matrix.sum()

    assert not checks.check_precision_recall(swapped)
    assert "swapped" in capsys.readouterr().out
    assert not checks.check_precision_recall(over_total)
    assert "total number" in capsys.readouterr().out
    assert not checks.check_precision_recall(lambda matrix: matrix.diagonal())
    assert "two tensors" in capsys.readouterr().out
    assert not checks.check_precision_recall(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- rounding to a float format's mantissa (chapter 6) ------------------------------------------------


solution_round_to_mantissa = solution(6, "ex-ch6-round", "my_round_to_mantissa")


def test_round_to_mantissa_accepts_the_solution_which_equals_torchs_casts(capsys):
    assert checks.check_round_to_mantissa(solution_round_to_mantissa)
    assert "✓ round_to_mantissa: correct" in capsys.readouterr().out
    x = (torch.randn(1000, generator=torch.Generator().manual_seed(1)) * 30).double()  # exact in float32
    assert torch.equal(solution_round_to_mantissa(x, 7), x.float().to(torch.bfloat16).double())
    assert torch.equal(solution_round_to_mantissa(x, 10), x.float().to(torch.float16).double())
    assert torch.equal(solution_round_to_mantissa(x, 23), x)


def test_round_to_mantissa_names_common_mistakes(capsys):
    def truncating(x, bits):
        mantissa, exponent = torch.frexp(x)
        return torch.ldexp(torch.trunc(mantissa * 2.0 ** (bits + 1)) / 2.0 ** (bits + 1), exponent)

    def without_the_hidden_bit(x, bits):
        return solution_round_to_mantissa(x, bits - 1)

    assert not checks.check_round_to_mantissa(truncating)
    assert "truncated" in capsys.readouterr().out
    assert not checks.check_round_to_mantissa(without_the_hidden_bit)
    assert "one mantissa bit too few" in capsys.readouterr().out
    assert not checks.check_round_to_mantissa(lambda x, bits: x.float())
    assert "different values" in capsys.readouterr().out
    assert not checks.check_round_to_mantissa(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- pre_emphasis (chapter 1) -------------------------------------------------------------------------


solution_pre_emphasis = solution(1, "ex-ch1-pre-emphasis", "my_pre_emphasis")


def test_pre_emphasis_accepts_the_solution_which_equals_torchaudio(capsys):
    assert checks.check_pre_emphasis(solution_pre_emphasis)
    assert "✓ pre_emphasis: correct" in capsys.readouterr().out
    x = torch.randn(2, 300, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(solution_pre_emphasis(x, 0.97), torchaudio.functional.preemphasis(x, 0.97))


def test_pre_emphasis_names_common_mistakes(capsys):
    assert not checks.check_pre_emphasis(lambda x, a: x - a * torch.roll(x, 1, dims=-1))
    assert "wrapped round" in capsys.readouterr().out
    assert not checks.check_pre_emphasis(lambda x, a: x + a * torch.nn.functional.pad(x[..., :-1], (1, 0)))
    assert "sign is flipped" in capsys.readouterr().out
    assert not checks.check_pre_emphasis(lambda x, a: x[..., 1:] - a * x[..., :-1])
    assert "has shape (399,), expected (400,)" in capsys.readouterr().out
    assert not checks.check_pre_emphasis(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- paths_by_length (chapter 2) ----------------------------------------------------------------------


solution_paths_by_length = solution(2, "ex-ch2-paths", "paths_by_length")


def test_paths_by_length_accepts_the_solution_which_counts_the_paths(capsys):
    assert checks.check_paths_by_length(solution_paths_by_length)
    assert "✓ paths_by_length: correct" in capsys.readouterr().out
    # Brute force for 6 blocks: each path is a subset of the blocks whose branch it takes.
    by_length = [0] * 7
    for subset in range(2**6):
        by_length[bin(subset).count("1")] += 1
    assert solution_paths_by_length(6) == by_length


def test_paths_by_length_names_common_mistakes(capsys):
    assert not checks.check_paths_by_length(lambda n: [math.comb(n, k) for k in range(n)])
    assert "expected 1: k runs from 0" in capsys.readouterr().out
    assert not checks.check_paths_by_length(lambda n: [1] * (n + 1))
    assert "each block doubles the paths" in capsys.readouterr().out
    assert not checks.check_paths_by_length(lambda n: [math.comb(n, k) * 1.5 for k in range(n + 1)])
    assert "non-integers" in capsys.readouterr().out
    assert not checks.check_paths_by_length(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- label_smoothed_cross_entropy (chapter 5) ---------------------------------------------------------


solution_label_smoothed_cross_entropy = solution(5, "ex-ch5-label-smoothing-loss", "my_label_smoothed_cross_entropy")


def test_label_smoothed_cross_entropy_accepts_the_solution(capsys):
    assert checks.check_label_smoothed_cross_entropy(solution_label_smoothed_cross_entropy)
    assert "✓ label_smoothed_cross_entropy: correct" in capsys.readouterr().out
    logits, targets = torch.randn(6, 10, generator=torch.Generator().manual_seed(3)), torch.arange(6)
    torch.testing.assert_close(solution_label_smoothed_cross_entropy(logits, targets, 0.1),
                               torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1))


def test_label_smoothed_cross_entropy_names_common_mistakes(capsys):
    def over_the_wrong_classes(logits, targets, smoothing):
        log_p = logits.log_softmax(-1)
        q = torch.full_like(log_p, smoothing / (logits.shape[1] - 1))
        q[torch.arange(len(targets)), targets] = 1 - smoothing
        return -(q * log_p).sum(1).mean()

    assert not checks.check_label_smoothed_cross_entropy(over_the_wrong_classes)
    assert "K - 1 wrong classes" in capsys.readouterr().out
    assert not checks.check_label_smoothed_cross_entropy(
        lambda z, t, s: torch.nn.functional.cross_entropy(z, t, label_smoothing=s, reduction="none"))
    assert "return the mean over the batch" in capsys.readouterr().out
    assert not checks.check_label_smoothed_cross_entropy(
        lambda z, t, s: torch.nn.functional.cross_entropy(z, t, label_smoothing=s, reduction="sum"))
    assert "summed over the batch" in capsys.readouterr().out
    assert not checks.check_label_smoothed_cross_entropy(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- shift_pitch (chapter 5) ---------------------------------------------------------------------------


solution_shift_pitch = solution(5, "ex-ch5-pitch-shift", "my_shift_pitch")


def test_shift_pitch_accepts_the_solution_and_it_raises_the_pitch(capsys):
    from tutorial_utils import augment

    assert checks.check_shift_pitch(solution_shift_pitch)
    assert "✓ shift_pitch: correct" in capsys.readouterr().out
    power = torch.rand(1, 129, 5, generator=torch.Generator().manual_seed(4)) + 0.1
    torch.testing.assert_close(solution_shift_pitch(power, 1.25), augment.shift_pitch(power, torch.tensor([1.25])))


def test_shift_pitch_names_common_mistakes(capsys):
    from tutorial_utils import augment

    def wrong_way(power, factor):
        return augment.shift_pitch(power, torch.full((power.shape[0],), 1 / factor, dtype=power.dtype))

    def formants_too(power, factor):  # the whole log spectrum stretched
        return augment.shift_pitch(power, torch.full((power.shape[0],), factor, dtype=power.dtype), cutoff=0)

    assert not checks.check_shift_pitch(wrong_way)
    assert "moved the wrong way" in capsys.readouterr().out
    assert not checks.check_shift_pitch(formants_too)
    assert "formants moved with the pitch" in capsys.readouterr().out
    assert not checks.check_shift_pitch(lambda power, factor: power)
    assert "different values" in capsys.readouterr().out
    assert not checks.check_shift_pitch(lambda power, factor: None)
    assert "return" in capsys.readouterr().out
    assert not checks.check_shift_pitch(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- loss_scales (chapter 6) --------------------------------------------------------------------------


solution_loss_scales = solution(6, "ex-ch6-loss-scale", "my_loss_scales")


def test_loss_scales_accepts_the_solution_which_equals_torchs_update(capsys):
    assert checks.check_loss_scales(solution_loss_scales)
    assert "✓ loss_scales: correct" in capsys.readouterr().out
    # The scale update GradScaler.update() runs, step by step.
    found_inf = [False, True, False, False, False, True] + [False] * 7
    scale, good_steps, scales = torch.tensor([512.0]), torch.tensor([0], dtype=torch.int32), []
    for inf in found_inf:
        torch._amp_update_scale_(scale, good_steps, torch.tensor([float(inf)]), 2.0, 0.5, 3)
        scales.append(scale.item())
    assert solution_loss_scales(found_inf, 512.0, 2.0, 0.5, 3) == scales


def test_loss_scales_names_common_mistakes(capsys):
    def never_resets(found_inf, scale=2.0**16, growth=2.0, backoff=0.5, interval=2000):
        good, scales = 0, []
        for inf in found_inf:
            good += not inf
            scale = scale * backoff if inf else scale * (growth if good % interval == 0 else 1)
            scales.append(scale)
        return scales

    assert not checks.check_loss_scales(never_resets)
    assert "not reset by an overflow" in capsys.readouterr().out
    assert not checks.check_loss_scales(lambda found_inf, *settings: solution_loss_scales(found_inf, *settings)[1:])
    assert "expected one per step" in capsys.readouterr().out
    assert not checks.check_loss_scales(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- mcnemar_p_value (chapter 7) ----------------------------------------------------------------------


solution_mcnemar_p_value = solution(7, "ex-ch7-mcnemar", "my_mcnemar_p_value")


def test_mcnemar_p_value_accepts_the_solution_which_equals_scipys_binomial_test(capsys):
    from scipy.stats import binomtest

    assert checks.check_mcnemar_p_value(solution_mcnemar_p_value)
    assert "✓ mcnemar_p_value: correct" in capsys.readouterr().out
    for b, c in [(12, 3), (5, 5), (0, 9), (40, 61)]:
        correct_a = torch.tensor([True] * b + [False] * c + [True] * 20)
        correct_b = torch.tensor([False] * b + [True] * c + [True] * 20)
        assert math.isclose(solution_mcnemar_p_value(correct_a, correct_b), binomtest(b, b + c, 0.5).pvalue,
                            rel_tol=1e-9)


def test_mcnemar_p_value_names_common_mistakes(capsys):
    assert not checks.check_mcnemar_p_value(lambda a, b: solution_mcnemar_p_value(a, b) / 2)
    assert "one-sided" in capsys.readouterr().out

    def chi_square(correct_a, correct_b):
        b, c = int((correct_a & ~correct_b).sum()), int((~correct_a & correct_b).sum())
        return math.erfc(math.sqrt((b - c) ** 2 / (b + c) / 2)) if b + c else 1.0

    assert not checks.check_mcnemar_p_value(chi_square)
    assert "chi-square approximation;" in capsys.readouterr().out
    assert not checks.check_mcnemar_p_value(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- sgd_momentum_step (chapter 8) --------------------------------------------------------------------


solution_sgd_momentum_step = solution(8, "ex-ch8-sgd-momentum", "sgd_momentum_step")


def test_sgd_momentum_step_accepts_the_solution_and_the_package_optimizer(capsys):
    from tutorial_utils import optim

    assert checks.check_sgd_momentum_step(solution_sgd_momentum_step)
    assert "✓ sgd_momentum_step: correct" in capsys.readouterr().out

    def package_step(param, grad, buffer, lr, momentum, weight_decay=0.0):
        p = param.clone().requires_grad_()
        heavy_ball = optim.HeavyBall([p], lr=lr, momentum=momentum, weight_decay=weight_decay)
        if buffer is not None:
            heavy_ball.state[p]["velocity"] = buffer.clone()
        p.grad = grad
        heavy_ball.step()
        return p.detach(), heavy_ball.state[p]["velocity"]

    assert checks.check_sgd_momentum_step(package_step)


def test_sgd_momentum_step_names_common_mistakes(capsys):
    def sutskever(param, grad, velocity, lr, momentum, weight_decay=0.0):
        g = grad + weight_decay * param
        velocity = -lr * g if velocity is None else momentum * velocity - lr * g
        return param + velocity, velocity

    def dampened(param, grad, buffer, lr, momentum, weight_decay=0.0):
        g = grad + weight_decay * param
        buffer = g if buffer is None else momentum * buffer + (1 - momentum) * g
        return param - lr * buffer, buffer

    assert not checks.check_sgd_momentum_step(sutskever)
    assert "Sutskever's velocity" in capsys.readouterr().out
    assert not checks.check_sgd_momentum_step(dampened)
    assert "dampening" in capsys.readouterr().out
    assert not checks.check_sgd_momentum_step(lambda p, g, b, lr, m, wd=0.0: solution_sgd_momentum_step(p, g, b, lr, m))
    assert "weight decay is missing" in capsys.readouterr().out
    assert not checks.check_sgd_momentum_step(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- affine_quantize (chapter 10) ---------------------------------------------------------------------


solution_affine_quantize = solution(10, "ex-ch10-quantize", "my_quantize")


def test_affine_quantize_accepts_the_solution_which_equals_torchs_quantized_tensors(capsys):
    assert checks.check_affine_quantize(solution_affine_quantize)
    assert "✓ affine_quantize: correct" in capsys.readouterr().out
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0)) * 4
    for dtype, zero_point, signed in [(torch.qint8, -7, True), (torch.quint8, 130, False)]:
        expected = torch.quantize_per_tensor(x, 0.05, zero_point, dtype).int_repr().to(torch.int32)
        assert torch.equal(solution_affine_quantize(x, 0.05, zero_point, 8, signed), expected)


def affine_quantize_variant(*, rounding=torch.round, clamp=True, lowest_offset=0, as_float=False):
    """A quantiser with one of the common mistakes."""
    def my_quantize(x, scale, zero_point, bits=8, signed=True):
        lowest, highest = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        q = rounding(x / scale) + zero_point
        q = q.clamp(lowest + lowest_offset, highest) if clamp else q
        return q if as_float else q.to(torch.int32)

    return my_quantize


def test_affine_quantize_names_common_mistakes(capsys):
    for wrong, hint in [
        (affine_quantize_variant(rounding=torch.trunc), "you truncated (rounded towards zero)"),
        (affine_quantize_variant(rounding=lambda v: torch.floor(v + 0.5)), "you rounded halfway cases up"),
        (affine_quantize_variant(clamp=False), "the clamp is missing"),
        (affine_quantize_variant(lowest_offset=1), "you clamped at -127; the lowest signed 8-bit integer is -128"),
        (affine_quantize_variant(as_float=True), "has the right values but as torch.float32"),
        (lambda x, scale, zero_point, bits=8, signed=True: affine_quantize_variant()(x, scale, zero_point, bits, True),
         "you clamped to the signed range"),
    ]:
        assert not checks.check_affine_quantize(wrong)
        assert hint in capsys.readouterr().out
    assert not checks.check_affine_quantize(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- distillation_loss (chapter 10) -------------------------------------------------------------------


solution_distillation_loss = solution(10, "ex-ch10-distillation-loss", "my_distillation_loss")


def test_distillation_loss_accepts_the_solution_which_equals_kl_div_and_cross_entropy(capsys):
    from tutorial_utils.compression import distillation_loss

    assert checks.check_distillation_loss(solution_distillation_loss)
    assert "✓ distillation_loss: correct" in capsys.readouterr().out
    assert checks.check_distillation_loss(distillation_loss)
    generator = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(7, 10, generator=generator, dtype=torch.float64), 3 * torch.randn(7, 10, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 10, (7,), generator=generator)
    T, alpha, smoothing = 3.0, 0.6, 0.1
    kl_div = torch.nn.KLDivLoss(reduction="batchmean")
    expected = (alpha * T**2 * kl_div(F.log_softmax(student / T, -1), F.softmax(teacher / T, -1))
                + (1 - alpha) * F.cross_entropy(student, labels, label_smoothing=smoothing))
    assert torch.allclose(solution_distillation_loss(student, teacher, labels, T, alpha, smoothing), expected)


def distillation_variant(*, squared=True, swapped=False, reduction="batchmean", smoothing=True):
    """A distillation loss with one of the common mistakes."""
    def my_distillation_loss(student_logits, teacher_logits, labels, temperature, alpha, label_smoothing):
        log_student = F.log_softmax(student_logits / temperature, -1)
        log_teacher = F.log_softmax(teacher_logits / temperature, -1)
        if swapped:
            log_student, log_teacher = log_teacher, log_student
        soft = F.kl_div(log_student, log_teacher, reduction=reduction, log_target=True)
        hard = F.cross_entropy(student_logits, labels, label_smoothing=label_smoothing if smoothing else 0.0)
        return alpha * (temperature**2 if squared else 1) * soft + (1 - alpha) * hard

    return my_distillation_loss


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
def test_distillation_loss_names_common_mistakes(capsys):
    for wrong, hint in [
        (distillation_variant(squared=False), "the T**2 factor on the soft term is missing"),
        (distillation_variant(swapped=True), "arguments are swapped"),
        (distillation_variant(reduction="mean"), "reduction='mean'"),
        (distillation_variant(smoothing=False), "the label smoothing is missing"),
        (lambda *args: distillation_variant()(*args).reshape(1), "return the mean over the batch, a single number"),
    ]:
        assert not checks.check_distillation_loss(wrong)
        assert hint in capsys.readouterr().out
    assert not checks.check_distillation_loss(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- causal_attention (chapter 11) ---------------------------------------------------------------------


solution_causal_attention = solution(11, "ex-ch11-causal-attention", "my_causal_attention")


def test_causal_attention_accepts_the_solution_which_equals_pytorchs(capsys):
    assert checks.check_causal_attention(solution_causal_attention)
    assert "✓ causal_attention: correct" in capsys.readouterr().out
    q, k, v = torch.randn(3, 2, 4, 9, 8, generator=torch.Generator().manual_seed(0)).unbind(0)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(solution_causal_attention(q, k, v), expected)
    torch.testing.assert_close(checks._causal_attention(q, k, v), expected)


def test_causal_attention_names_common_mistakes(capsys):
    def variant(**mistake):
        return lambda q, k, v: checks._causal_attention(q, k, v, **mistake)

    for wrong, hint in [
        (variant(scale=False), "not divided by sqrt(d)"),
        (variant(mask_after=True), "after the softmax"),
        (variant(past=True), "you hid the past instead of the future"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), "different values"),
    ]:
        assert not checks.check_causal_attention(wrong)
        assert hint in capsys.readouterr().out
    assert not checks.check_causal_attention(stub)
    assert "not implemented yet" in capsys.readouterr().out


# -- symmetric_dtw (chapter 11) ------------------------------------------------------------------------


solution_symmetric_dtw = solution(11, "ex-ch11-symmetric-dtw", "my_symmetric_dtw")


def test_symmetric_dtw_accepts_the_solution_which_equals_librosa_with_weights(capsys):
    import librosa
    import numpy as np

    from tutorial_utils.dtw import accumulated_cost

    assert checks.check_symmetric_dtw(solution_symmetric_dtw)
    assert "✓ symmetric_dtw: correct" in capsys.readouterr().out
    cost = torch.rand(7, 10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    theirs, _ = librosa.sequence.dtw(C=cost.numpy(), weights_mul=np.array([2.0, 1.0, 1.0]))
    np.testing.assert_allclose(solution_symmetric_dtw(cost).numpy(), theirs + cost[0, 0].item())  # librosa starts at C(1, 1)
    torch.testing.assert_close(checks._symmetric_dtw(cost, diagonal=1.0, start=1.0), accumulated_cost(cost))


def test_symmetric_dtw_names_common_mistakes(capsys):
    from tutorial_utils.dtw import accumulated_cost

    for wrong, hint in [
        (accumulated_cost, "the plain recursion"),
        (lambda cost: checks._symmetric_dtw(cost, start=1.0), "the first cell is C(1, 1)"),
        (lambda cost: checks._symmetric_dtw(cost, diagonal=1.0, side=2.0), "doubled the horizontal and vertical"),
        (lambda cost: checks._symmetric_dtw(cost).T, "shape"),
    ]:
        assert not checks.check_symmetric_dtw(wrong)
        assert hint in capsys.readouterr().out
    assert not checks.check_symmetric_dtw(stub)
    assert "not implemented yet" in capsys.readouterr().out
