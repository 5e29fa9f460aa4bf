"""Exercise checkers: each accepts the book's solution, rejects a wrong one with a useful message,
and reports a NotImplementedError stub as "not implemented yet" without raising. The solutions are
read from the chapters' solution dropdowns (tests/notebook_solutions.py), so they cannot drift."""

from __future__ import annotations

import math

import torch
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
