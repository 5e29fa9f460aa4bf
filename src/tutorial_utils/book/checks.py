"""Auto-checkers for the book's exercises: one small function per checked exercise.

Each ``check_<what>(student_fn)`` calls the student's function on a few inputs, compares with the
book's reference, prints a friendly verdict that says what differs (shape, values, largest error,
a hint for common mistakes) and returns True or False. It never raises: a stub that raises
``NotImplementedError`` gives "not implemented yet", any other exception is reported.

To add a checker, write a ``find_problem(student_fn) -> str | None`` (None: all good) and return
``_verdict(name, student_fn, find_problem)``; ``_compare`` describes how an array differs and
``_called`` names the call in the message.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import augment, features, init
from ..evaluation import classification


def _verdict(name: str, student_fn: Callable, find_problem: Callable[[Callable], str | None]) -> bool:
    """Run ``find_problem(student_fn)``, print the verdict for exercise ``name``, return True if correct."""
    try:
        problem = find_problem(student_fn)
    except NotImplementedError:
        print(f"{name}: not implemented yet - fill in the function above")
        return False
    except Exception as error:  # a student's bug must not stop the notebook
        print(f"✗ {name}: your function raised {type(error).__name__}: {error}")
        return False
    if problem is not None:
        print(f"✗ {name}: {problem}")
        return False
    print(f"✓ {name}: correct, it matches the reference")
    return True


def _called(fn: Callable, *args: Any) -> str:
    """How a call of the student's function reads in a verdict, e.g. ``my_dct_matrix(13, 40)``."""
    name = getattr(fn, "__name__", "<lambda>")
    return f"{'your function' if name == '<lambda>' else name}({', '.join(map(repr, args))})"


def _compare(
    call: str, got: Any, expected: torch.Tensor, atol: float, variants: Mapping[str, torch.Tensor] | None = None
) -> str | None:
    """None if ``got`` equals ``expected`` within ``atol``, else what differs for the call ``call``.

    ``variants`` maps a hint (e.g. "you used Slaney's Mel scale") to the result of that mistake.
    """
    if got is None:
        return f"{call} returned None; did you forget `return`?"
    try:
        got = torch.as_tensor(got).detach().cpu().to(torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return f"{call} returned a {type(got).__name__}, expected a tensor"
    expected = expected.to(torch.float64)
    if got.shape != expected.shape:
        hint = " (transposed?)" if got.shape == expected.shape[::-1] else ""
        return f"{call} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}{hint}"
    if not torch.isfinite(got).all():
        return f"{call} contains NaN or infinite values"
    error = (got - expected).abs()
    if error.max() <= atol:
        return None
    where = [int(i) for i in np.unravel_index(int(error.argmax()), tuple(error.shape))]
    message = (f"{call} has the right shape but different values: largest error {error.max().item():.3g} "
               f"at index {where} (tolerance {atol:g})")
    for hint, wrong in (variants or {}).items():
        if wrong.shape == got.shape and (got - wrong.to(torch.float64)).abs().max() <= atol:
            return f"{message}. It looks like {hint}."
    return message


# -- Chapter 1: Mel filterbank -----------------------------------------------------------


def check_mel_filterbank(student_fn: Callable[[int, int, int], torch.Tensor]) -> bool:
    """Check ``student_fn(n_freqs, sample_rate, n_mels) -> (n_freqs, n_mels)``: HTK Mel scale from 0 Hz
    to ``sample_rate / 2``, triangles with peak 1 and no area normalisation (torchaudio's default)."""

    def find_problem(fn: Callable) -> str | None:
        for n_freqs, sample_rate, n_mels in [(101, 8000, 40), (129, 8000, 23), (201, 16000, 64)]:
            def reference(scale: str = "htk", norm: str | None = None) -> torch.Tensor:
                return features.mel_filterbank(n_freqs, sample_rate, n_mels, scale=scale, norm=norm,
                                               dtype=torch.float64)

            variants = {
                "you used Slaney's Mel scale; the exercise asks for HTK": reference(scale="slaney"),
                "you normalised each triangle to unit area; the exercise wants peak 1": reference(norm="slaney"),
                "you used Slaney's scale and area normalisation (librosa's default)": reference("slaney", "slaney"),
            }
            problem = _compare(_called(fn, n_freqs, sample_rate, n_mels), fn(n_freqs, sample_rate, n_mels),
                               reference(), atol=1e-4, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("mel_filterbank", student_fn, find_problem)


def check_pre_emphasis(student_fn: Callable[[torch.Tensor, float], torch.Tensor]) -> bool:
    """Check ``student_fn(waveform, coefficient) -> (..., time)``, the first-order high-pass filter
    ``y[0] = x[0]``, ``y[n] = x[n] - coefficient * x[n - 1]`` along the last axis, against
    ``torchaudio.functional.preemphasis``."""
    import torchaudio

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(1)
        for shape, coefficient in [((400,), 0.97), ((3, 250), 0.95), ((2, 2, 50), 0.5)]:
            x = torch.randn(*shape, generator=generator, dtype=torch.float64)
            expected = torchaudio.functional.preemphasis(x, coefficient)
            previous = F.pad(x[..., :-1], (1, 0))
            variants = {
                "the sign is flipped: subtract coefficient * x[n - 1]": x + coefficient * previous,
                "you used the next sample x[n + 1]; pre-emphasis subtracts the previous one, x[n - 1]":
                    x - coefficient * F.pad(x[..., 1:], (0, 1)),
                "the last sample wrapped round to the front (torch.roll?): y[0] should be x[0]":
                    x - coefficient * torch.roll(x, 1, dims=-1),
                "you filtered along the first axis; the time axis is the last one":
                    x - coefficient * F.pad(x.movedim(0, -1)[..., :-1], (1, 0)).movedim(-1, 0),
            }
            call = f"{getattr(fn, '__name__', 'your function')}(x, {coefficient}) for x of shape {shape}"
            problem = _compare(call, fn(x.clone(), coefficient), expected, atol=1e-10, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("pre_emphasis", student_fn, find_problem)


# -- Chapter 2: residual connections -----------------------------------------------------


def check_residual_jacobian(student_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Check ``student_fn(x, w1, w2) -> (d, d)``: the Jacobian of ``y = x + w2 @ relu(w1 @ x)`` at ``x``
    ``(d,)`` for ``w1`` ``(m, d)`` and ``w2`` ``(d, m)``, against autograd in float64."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(0)
        name = getattr(fn, "__name__", "your function")
        for d, m in [(3, 4), (5, 2), (6, 6)]:
            x, w1, w2 = (torch.randn(*shape, dtype=torch.float64, generator=generator) for shape in [(d,), (m, d), (d, m)])
            expected = torch.autograd.functional.jacobian(lambda v: v + w2 @ torch.relu(w1 @ v), x)
            identity = torch.eye(d, dtype=torch.float64)
            variants = {
                "the branch's Jacobian alone: the shortcut adds the identity matrix I": expected - identity,
                "the ReLU's derivative is missing (it is 1 where W1 x > 0, else 0)": identity + w2 @ w1,
            }
            call = f"{name}(x, w1, w2) for x of shape ({d},) and w1 of shape ({m}, {d})"
            problem = _compare(call, fn(x.clone(), w1.clone(), w2.clone()), expected, atol=1e-8, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("residual_jacobian", student_fn, find_problem)


def check_paths_by_length(student_fn: Callable[[int], list[int]]) -> bool:
    """Check ``student_fn(n_blocks) -> counts`` (``n_blocks + 1`` integers): ``counts[k]`` is the number
    of input-to-output paths through exactly ``k`` of the residual branches, the binomial C(n, k)."""

    def find_problem(fn: Callable) -> str | None:
        for n in (0, 1, 3, 10, 27, 54):
            expected = [math.comb(n, k) for k in range(n + 1)]
            call = _called(fn, n)
            got = fn(n)
            if got is None:
                return f"{call} returned None; did you forget `return`?"
            try:
                values = [v.item() if isinstance(v, torch.Tensor) else v for v in got]
            except TypeError:
                return f"{call} returned a {type(got).__name__}, expected a list of {n + 1} integers"
            if len(values) != n + 1:
                return (f"{call} returned {len(values)} counts, expected {n + 1}: k runs from 0 (the path "
                        f"through the shortcuts only) to n (the path through every branch)")
            if any(not isinstance(v, numbers.Number) or v != int(v) for v in values):
                return f"{call} returned non-integers; count with math.comb, not with floats"
            values = [int(v) for v in values]
            if values == expected:
                continue
            total = sum(values)
            hint = "" if total == 2**n else f"; they add up to {total}, but each block doubles the paths: 2**{n}"
            k = next(k for k, (a, b) in enumerate(zip(values, expected)) if a != b)
            return f"{call}[{k}] is {values[k]}, expected C({n}, {k}) = {expected[k]}{hint}"
        return None

    return _verdict("paths_by_length", student_fn, find_problem)


# -- Chapter 3: a ResNet layer by layer --------------------------------------------------


def check_conv_output_size(student_fn: Callable[[int, int, int, int, int], int]) -> bool:
    """Check ``student_fn(size, kernel_size, stride, padding, dilation) -> int``, the number of kernel
    positions along one axis, ``floor((size + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``,
    against the output sizes of ``torch.nn.functional.conv2d`` for a few hundred settings."""

    def find_problem(fn: Callable) -> str | None:
        for size, kernel, stride, padding, dilation in itertools.product(
            [1, 2, 7, 16, 63, 101], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2]
        ):
            span = dilation * (kernel - 1) + 1
            if size + 2 * padding < span:
                continue  # the kernel does not fit; PyTorch raises an error
            expected = F.conv2d(
                torch.zeros(1, 1, size, 1), torch.zeros(1, 1, kernel, 1),
                stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1),
            ).shape[2]
            call = _called(fn, size, kernel, stride, padding, dilation)
            got = fn(size, kernel, stride, padding, dilation)
            if isinstance(got, bool) or not isinstance(got, numbers.Integral):
                hint = "; use // (floor division) instead of /" if isinstance(got, float) else ""
                return f"{call} returned {got!r} of type {type(got).__name__}, expected an int{hint}"
            if got == expected:
                continue
            mistakes = {
                "dilation is missing: a dilated kernel spans dilation * (kernel_size - 1) + 1 samples":
                    (size + 2 * padding - kernel) // stride + 1,
                "padding is added on both sides: 2 * padding": (size + padding - span) // stride + 1,
                "you rounded up; a window counts only if it fits entirely (floor)":
                    math.ceil((size + 2 * padding - span) / stride) + 1,
                "the + 1 is missing (the first position counts too)": (size + 2 * padding - span) // stride,
            }
            hint = next((f". It looks like {m}" for m, value in mistakes.items() if got == value), "")
            return f"{call} returned {got}, nn.Conv2d gives {expected}{hint}"
        return None

    return _verdict("conv_output_size", student_fn, find_problem)


def check_binary_cross_entropy_with_logits(student_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Check ``student_fn(logits, targets) -> mean loss`` against
    ``torch.nn.functional.binary_cross_entropy_with_logits``: value and gradient, with 0/1 and soft
    targets and logits of +-1000 (where the textbook formula gives inf or nan)."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(0)
        name = getattr(fn, "__name__", "<lambda>")
        name = "your function" if name == "<lambda>" else name
        cases = {
            "64 random logits and 0/1 targets": (
                3 * torch.randn(64, generator=generator), torch.randint(0, 2, (64,), generator=generator).float()),
            "logits of shape (4, 8) and soft targets": (
                3 * torch.randn(4, 8, generator=generator), torch.rand(4, 8, generator=generator)),
            "logits of +-1000": (
                torch.tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.5]), torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5])),
        }
        overflow = " (exp overflowed? write the loss with log(1 + exp(-|z|)))"
        for description, (logits, targets) in cases.items():
            call = f"{name}(z, y) for {description}"
            logits = logits.clone().requires_grad_(True)
            loss = fn(logits, targets.clone())
            expected = F.binary_cross_entropy_with_logits(logits.detach(), targets)
            if isinstance(loss, torch.Tensor) and loss.dim() != 0:
                return f"{call} has shape {tuple(loss.shape)}; return the mean over all elements, a single number"
            if isinstance(loss, torch.Tensor) and not torch.isfinite(loss):
                return f"{call} is {loss.item()}, expected {expected.item():.4f}{overflow}"
            problem = _compare(call, loss, expected, atol=1e-5 * max(1.0, expected.item()))
            if problem is not None:
                return problem
            if not loss.requires_grad:
                return f"{call} is right but not differentiable: compute it with torch operations on z"
            (grad,) = torch.autograd.grad(loss, logits)
            expected_grad = (torch.sigmoid(logits.detach()) - targets) / targets.numel()
            if not torch.isfinite(grad).all():
                return f"the gradient of {call} contains NaN or infinite values{overflow}"
            problem = _compare(f"the gradient of {call}", grad, expected_grad, atol=1e-6)
            if problem is not None:
                return problem
        return None

    return _verdict("binary_cross_entropy_with_logits", student_fn, find_problem)


# -- Chapter 4: initialisation -----------------------------------------------------------


def check_xavier_uniform_limit(student_fn: Callable[[int, int, float], float]) -> bool:
    """Check ``student_fn(fan_in, fan_out, gain) -> a``, the bound of Xavier/Glorot uniform ``U(-a, a)``:
    ``gain * sqrt(6 / (fan_in + fan_out))``, the bound ``torch.nn.init.xavier_uniform_`` draws from."""

    def find_problem(fn: Callable) -> str | None:
        for fan_in, fan_out, gain in [(72, 144, 1.0), (64, 10, 1.0), (160, 160, 2**0.5), (3, 7, 0.5)]:
            expected = init.xavier_uniform_limit(fan_in, fan_out, gain)
            variants = {"the standard deviation; U(-a, a) has std a / sqrt(3)": expected / 3**0.5}
            if gain != 1.0:
                variants["the gain is missing; it multiplies the bound"] = expected / gain
            problem = _compare(_called(fn, fan_in, fan_out, gain), fn(fan_in, fan_out, gain), torch.tensor(expected),
                               atol=1e-7, variants={k: torch.tensor(v) for k, v in variants.items()})
            if problem is not None:
                return problem
        return None

    return _verdict("xavier_uniform_limit", student_fn, find_problem)


def check_kaiming_std(student_fn: Callable[[int, float], float]) -> bool:
    """Check ``student_fn(fan_in, negative_slope) -> std`` of Kaiming normal initialisation for a layer
    followed by Leaky ReLU ``max(negative_slope * y, y)``: ``sqrt(2 / ((1 + negative_slope^2) fan_in))``,
    the std ``torch.nn.init.kaiming_normal_(w, a=negative_slope, nonlinearity="leaky_relu")`` uses."""

    def find_problem(fn: Callable) -> str | None:
        for fan_in, slope in [(500, 0.2), (72, 0.01), (144, 0.0), (10, 1.0)]:
            expected = init.kaiming_std(fan_in, init.gain("leaky_relu", slope))
            variants = {"the variance; take its square root": expected**2}
            if slope:
                variants["the ReLU value; Leaky ReLU's negative side keeps slope^2 of the variance"] = (
                    init.kaiming_std(fan_in))
            problem = _compare(_called(fn, fan_in, slope), fn(fan_in, slope), torch.tensor(expected),
                               atol=1e-9, variants={k: torch.tensor(v) for k, v in variants.items()})
            if problem is not None:
                return problem
        return None

    return _verdict("kaiming_std", student_fn, find_problem)


# -- Chapter 5: keyword spotting ---------------------------------------------------------


def check_mix_at_snr(student_fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """Check ``student_fn(signal, noise, snr_db) -> signal + g * noise`` for ``(batch, samples)`` inputs:
    ``g`` per row such that ``10 log10(P_signal / P_(g noise)) = snr_db`` (P: mean square of the row)."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(5)
        for snr in (10.0, 0.0, 25.0):
            signal = torch.randn(3, 400, generator=generator, dtype=torch.float64) * torch.tensor([[0.1], [1.0], [3.0]])
            noise = torch.randn(3, 400, generator=generator, dtype=torch.float64) * 2
            expected = augment.mix_at_snr(signal, noise, snr)
            gain = ((expected - signal) / noise)[:, :1]
            variants = {
                "the gain uses 10**(snr/10); for an amplitude it is 10**(snr/20) (power is amplitude squared)":
                    signal + gain * 10 ** (-snr / 20) * noise,
                "the powers are taken over the whole batch, not per example (row)":
                    augment.mix_at_snr(signal.reshape(1, -1), noise.reshape(1, -1), snr).reshape(3, 400),
                "you returned the scaled noise without the signal": expected - signal,
            }
            call = f"{getattr(fn, '__name__', 'your function')}(signal, noise, {snr}) for (3, 400) inputs"
            problem = _compare(call, fn(signal.clone(), noise.clone(), snr), expected, atol=1e-6, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("mix_at_snr", student_fn, find_problem)


def check_shift_pitch(student_fn: Callable[[torch.Tensor, float], torch.Tensor]) -> bool:
    """Check ``student_fn(power, factor)`` for power spectrograms ``(batch, n_freqs, frames)``: the pitch
    raised by ``factor`` with the formants kept, as :func:`tutorial_utils.augment.shift_pitch` (cepstral
    envelope below 20 samples of ``log(power + 1e-10)``); compared as log power."""

    def log_power(power: Any) -> torch.Tensor:
        return torch.log(torch.as_tensor(power).detach().to(torch.float64).clamp(min=0) + 1e-10)

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(5)
        for factor in (1.2, 0.85, 1.0):
            power = (4 * torch.rand(2, 129, 7, generator=generator, dtype=torch.float64)).exp()
            factors = torch.full((2,), factor, dtype=torch.float64)
            variants = {
                "the formants moved with the pitch: stretch only what is left after subtracting the envelope":
                    log_power(augment.shift_pitch(power, factors, cutoff=0)),
                "the pitch moved the wrong way: bin k takes the value of bin k / factor, not of k * factor":
                    log_power(augment.shift_pitch(power, 1 / factors)),
            }
            got = fn(power.clone(), factor)
            call = f"the log of {getattr(fn, '__name__', 'your function')}(power, {factor}) for a (2, 129, 7) power"
            problem = _compare(call, None if got is None else log_power(got),
                               log_power(augment.shift_pitch(power, factors)), atol=1e-6, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("shift_pitch", student_fn, find_problem)


def check_label_smoothed_cross_entropy(student_fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """Check ``student_fn(logits, targets, smoothing) -> mean loss`` for ``logits`` ``(batch, classes)``
    and class indices ``targets`` ``(batch,)``: the cross-entropy against ``(1 - smoothing) one_hot +
    smoothing / classes``, as ``F.cross_entropy(logits, targets, label_smoothing=smoothing)``."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(5)
        for batch, classes, smoothing in [(8, 10, 0.1), (5, 12, 0.0), (16, 3, 0.3), (4, 10, 1.0)]:
            logits = 4 * torch.randn(batch, classes, generator=generator, dtype=torch.float64)
            targets = torch.randint(0, classes, (batch,), generator=generator)
            expected = F.cross_entropy(logits, targets, label_smoothing=smoothing)
            log_p = logits.log_softmax(-1)
            nll = -log_p.gather(1, targets[:, None]).squeeze(1)
            wrong = -(log_p.sum(1) + nll) / (classes - 1)  # mean of -log p over the wrong classes
            variants = {"you summed over the batch; return the mean": expected * batch}
            if smoothing:
                variants["you spread the smoothing over the K - 1 wrong classes; PyTorch spreads it over all K"] = (
                    (1 - smoothing) * nll + smoothing * wrong).mean()
                variants["the smoothing is missing: this is the plain cross-entropy"] = nll.mean()
            call = (f"{getattr(fn, '__name__', 'your function')}(logits, targets, {smoothing}) "
                    f"for {batch} examples, {classes} classes")
            got = fn(logits.clone(), targets.clone(), smoothing)
            if isinstance(got, torch.Tensor) and got.dim() > 0:
                return f"{call} has shape {tuple(got.shape)}; return the mean over the batch, a single number"
            problem = _compare(call, got, expected, atol=1e-8, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("label_smoothed_cross_entropy", student_fn, find_problem)


# -- Chapter 6: training on a GPU --------------------------------------------------------


def _round_to_mantissa(x: torch.Tensor, bits: int, rounding: Callable = torch.round) -> torch.Tensor:
    """``x`` (float64) rounded to ``bits`` stored mantissa bits, to nearest, ties to even."""
    mantissa, exponent = torch.frexp(x)  # x = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    scale = 2.0 ** (bits + 1)
    return torch.ldexp(rounding(mantissa * scale) / scale, exponent)


def check_round_to_mantissa(student_fn: Callable[[torch.Tensor, int], torch.Tensor]) -> bool:
    """Check ``student_fn(x, bits)``: float64 ``x`` rounded to nearest (ties to even) with ``bits``
    stored mantissa bits -- 7 is bfloat16, 10 float16, 23 float32 -- within their normal range."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(6)
        n = 500
        signs = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
        powers = torch.exp2(torch.randint(-6, 9, (n,), generator=generator).double())
        x = (signs * (1 + torch.rand(n, generator=generator, dtype=torch.float64)) * powers).float().double()
        for bits, name in ((7, "bfloat16"), (10, "float16"), (23, "float32")):
            ties = torch.tensor([1 + 2.0 ** -(bits + 1), 1 + 3 * 2.0 ** -(bits + 1), -(2 + 2.0 ** -bits)], dtype=torch.float64)
            values = torch.cat([x, ties])
            reference = _round_to_mantissa(values, bits)
            problem = _compare(f"{_called(fn, 'x', bits)} ({name})", fn(values.clone(), bits), reference, atol=0.0,
                               variants={
                                   "you truncated (rounded towards zero) instead of rounding to nearest":
                                       _round_to_mantissa(values, bits, torch.trunc),
                                   "you rounded halfway cases away from zero; IEEE rounds ties to even":
                                       _round_to_mantissa(values, bits, lambda v: torch.sign(v) * torch.floor(v.abs() + 0.5)),
                                   "you kept one mantissa bit too many: the leading 1 is not stored":
                                       _round_to_mantissa(values, bits + 1),
                                   "you kept one mantissa bit too few: the leading 1 is not stored":
                                       _round_to_mantissa(values, bits - 1),
                               })
            if problem is not None:
                return problem
        return None

    return _verdict("round_to_mantissa", student_fn, find_problem)


def _loss_scales(found_inf: list[bool], init_scale: float, growth_factor: float, backoff_factor: float,
                 growth_interval: int, reset_on_overflow: bool = True, grow_after: int = 0) -> list[float]:
    """The scale after each step of ``torch.amp.GradScaler`` (``reset_on_overflow``, ``grow_after``:
    two mistakes, for the hints)."""
    scale, good_steps, scales = init_scale, 0, []
    for overflow in found_inf:
        if overflow:
            scale *= backoff_factor
            good_steps = 0 if reset_on_overflow else good_steps
        else:
            good_steps += 1
            if good_steps == growth_interval + grow_after:
                scale, good_steps = scale * growth_factor, 0
        scales.append(scale)
    return scales


def check_loss_scales(student_fn: Callable[..., list[float]]) -> bool:
    """Check ``student_fn(found_inf, init_scale, growth_factor, backoff_factor, growth_interval) ->
    scales``: the loss scale after each step's ``update()``, as ``torch.amp.GradScaler`` computes it
    (an overflow multiplies the scale by ``backoff_factor`` and resets the count of good steps; the
    ``growth_interval``-th good step in a row multiplies it by ``growth_factor`` and resets the count)."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(6)
        random_steps = (torch.rand(60, generator=generator) < 0.15).tolist()
        cases = [
            ([True, True, True], 2.0**16, 2.0, 0.5, 2000),
            ([False] * 9, 1024.0, 2.0, 0.5, 3),
            ([True, False, False, True, False, False, False, False, False], 256.0, 2.0, 0.5, 3),
            (random_steps, 2.0**16, 2.0, 0.5, 4),
            (random_steps, 100.0, 1.5, 0.25, 2),
        ]
        for found_inf, *settings in cases:
            expected = _loss_scales(found_inf, *settings)
            variants = {
                "the count of good steps is not reset by an overflow": _loss_scales(found_inf, *settings, False),
                "the scale grows one step late: it grows on the growth_interval-th good step in a row":
                    _loss_scales(found_inf, *settings, grow_after=1),
                "the scale grows one step early: it grows on the growth_interval-th good step in a row":
                    _loss_scales(found_inf, *settings, grow_after=-1),
            }
            described = "".join("x" if inf else "." for inf in found_inf)
            call = (f"{getattr(fn, '__name__', 'your function')}(steps {described!r} (x: overflow), "
                    f"{', '.join(map(repr, settings))})")
            got = fn(list(found_inf), *settings)
            if isinstance(got, (list, tuple)):
                if len(got) != len(found_inf):
                    return f"{call} returned {len(got)} scales, expected one per step: {len(found_inf)}"
                got = torch.tensor([float(s) for s in got], dtype=torch.float64)  # not float32's default
            problem = _compare(call, got, torch.tensor(expected, dtype=torch.float64), atol=0.0,
                               variants={k: torch.tensor(v, dtype=torch.float64) for k, v in variants.items()})
            if problem is not None:
                return problem
        return None

    return _verdict("loss_scales", student_fn, find_problem)


# -- Chapter 7: evaluation ---------------------------------------------------------------


def check_precision_recall(student_fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> bool:
    """Check ``student_fn(matrix) -> (precision, recall)``, each ``(classes,)``, for a confusion matrix
    ``(classes, classes)`` whose rows are the true classes and columns the predictions."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(7)
        for classes in (2, 4, 10):
            matrix = torch.randint(1, 9, (classes, classes), generator=generator) + 20 * torch.eye(classes, dtype=torch.long)
            reference = classification.per_class_metrics(matrix)
            result = fn(matrix.clone())
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                return f"{_called(fn, 'matrix')} must return two tensors (precision, recall), got {type(result).__name__}"
            diagonal = matrix.diagonal().double()
            variants = {
                "precision and recall are swapped: rows are true classes, so recall divides by row sums":
                    reference["recall"],
                "you divided by the total number of examples, not by a row or column sum":
                    diagonal / matrix.sum(),
            }
            call = f"{getattr(fn, '__name__', 'your function')}(matrix) for {classes} classes"
            problem = _compare(f"precision from {call}", result[0], reference["precision"], atol=1e-6, variants=variants)
            variants["precision and recall are swapped: rows are true classes, so recall divides by row sums"] = \
                reference["precision"]
            problem = problem or _compare(f"recall from {call}", result[1], reference["recall"], atol=1e-6,
                                          variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("precision_recall", student_fn, find_problem)


def _mcnemar_p_value(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value for ``b`` and ``c`` discordant pairs."""
    if b + c == 0:
        return 1.0
    tail = sum(math.comb(b + c, k) for k in range(min(b, c) + 1)) / 2 ** (b + c)
    return min(1.0, 2 * tail)


def check_mcnemar_p_value(student_fn: Callable[[torch.Tensor, torch.Tensor], float]) -> bool:
    """Check ``student_fn(correct_a, correct_b) -> p``, for boolean ``(clips,)`` tensors saying which
    clips models A and B got right: the exact two-sided McNemar test, ``min(1, 2 P[Binomial(b + c,
    1/2) <= min(b, c)])`` with ``b`` the clips only A got right, ``c`` those only B got right."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(7)
        cases = [(300, 0.9, 0.93), (50, 0.8, 0.8), (200, 0.95, 0.7), (40, 1.0, 1.0), (30, 0.6, 0.9)]
        for n, accuracy_a, accuracy_b in cases:
            correct_a = torch.rand(n, generator=generator) < accuracy_a
            correct_b = torch.rand(n, generator=generator) < accuracy_b
            b, c = int((correct_a & ~correct_b).sum()), int((~correct_a & correct_b).sum())
            expected = _mcnemar_p_value(b, c)
            chi2_p = [math.erfc(math.sqrt(max(0.0, abs(b - c) - shift) ** 2 / (b + c) / 2)) if b + c else 1.0
                      for shift in (0, 1)]
            variants = {
                "a one-sided p-value: the test is two-sided, so double the tail": torch.tensor(expected / 2),
                "the chi-square approximation; the exercise asks for the exact binomial test": torch.tensor(chi2_p[0]),
                "the chi-square approximation with continuity correction; use the exact binomial test":
                    torch.tensor(chi2_p[1]),
                "you used every clip as a trial; only the clips where A and B disagree count":
                    torch.tensor(min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n)),
            }
            call = f"{getattr(fn, '__name__', 'your function')}(correct_a, correct_b) with b = {b}, c = {c}"
            problem = _compare(call, fn(correct_a.clone(), correct_b.clone()), torch.tensor(expected),
                               atol=1e-9 + 1e-6 * expected, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("mcnemar_p_value", student_fn, find_problem)


# -- Chapter 8: optimizers ---------------------------------------------------------------


def check_adam_step(student_fn: Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> bool:
    """Check ``student_fn(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps) -> (param, exp_avg,
    exp_avg_sq)``: Adam's update number ``step`` (counting from 1) with bias correction, no weight
    decay. 30 steps on random gradients in float64, compared after every step with
    ``torch.optim.Adam`` given the same gradients (tolerance 1e-10)."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(0)
        lr, betas, eps = 0.05, (0.8, 0.95), 1e-3  # an eps large enough that where it goes matters
        beta1, beta2 = betas
        reference = torch.randn(4, 3, dtype=torch.float64, generator=generator).requires_grad_()
        adam = torch.optim.Adam([reference], lr=lr, betas=betas, eps=eps)
        param = reference.detach().clone()
        exp_avg, exp_avg_sq = torch.zeros_like(param), torch.zeros_like(param)
        name = getattr(fn, "__name__", "<lambda>")
        name = "your function" if name == "<lambda>" else name
        for t in range(1, 31):
            grad = torch.randn(4, 3, dtype=torch.float64, generator=generator) + 0.5
            result = fn(param.clone(), grad.clone(), exp_avg.clone(), exp_avg_sq.clone(), t, lr, betas, eps)
            if not (isinstance(result, (tuple, list)) and len(result) == 3):
                return f"{name} must return three tensors (param, exp_avg, exp_avg_sq), got {type(result).__name__}"
            reference.grad = grad
            adam.step()
            m, v = adam.state[reference]["exp_avg"], adam.state[reference]["exp_avg_sq"]
            call = f"{name}(...) at step {t}"
            problem = _compare(f"exp_avg (m) from {call}", result[1], m, atol=1e-10, variants={
                "the factor (1 - beta1) on the gradient is missing": beta1 * exp_avg + grad})
            problem = problem or _compare(f"exp_avg_sq (v) from {call}", result[2], v, atol=1e-10, variants={
                "v should average the *squared* gradient": beta2 * exp_avg_sq + (1 - beta2) * grad})

            def step_with(m_hat: torch.Tensor, v_hat: torch.Tensor, eps_inside: bool = False) -> torch.Tensor:
                return param - lr * m_hat / ((v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps)

            corrected = (m / (1 - beta1**t), v / (1 - beta2**t))
            problem = problem or _compare(f"param from {call}", result[0], reference.detach(), atol=1e-10, variants={
                "the bias correction is missing: divide m by 1 - beta1**t and v by 1 - beta2**t": step_with(m, v),
                "eps belongs outside the square root: sqrt(v_hat) + eps": step_with(*corrected, eps_inside=True),
                "the bias correction uses t + 1; the first step is t = 1": step_with(
                    m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))),
            })
            if problem is not None:
                return problem
            param, exp_avg, exp_avg_sq = (torch.as_tensor(r).detach().to(torch.float64) for r in result)
        return None

    return _verdict("adam_step", student_fn, find_problem)


def check_sgd_momentum_step(student_fn: Callable[..., tuple[torch.Tensor, torch.Tensor]]) -> bool:
    """Check ``student_fn(param, grad, buffer, lr, momentum, weight_decay) -> (param, buffer)``, one
    step of PyTorch's SGD with momentum (``buffer`` None at the first step): 12 steps in float64 with
    the learning rate cut after step 6, compared after each with ``torch.optim.SGD`` (tolerance 1e-12)."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(8)
        momentum, weight_decay = 0.9, 0.01
        reference = torch.randn(3, 4, dtype=torch.float64, generator=generator).requires_grad_()
        sgd = torch.optim.SGD([reference], lr=0.1, momentum=momentum, weight_decay=weight_decay)
        name = getattr(fn, "__name__", "<lambda>")
        name = "your function" if name == "<lambda>" else name
        buffer = None
        for t in range(1, 13):
            lr = 0.1 if t <= 6 else 0.02
            sgd.param_groups[0]["lr"] = lr
            param = reference.detach().clone()
            grad = torch.randn(3, 4, dtype=torch.float64, generator=generator)
            result = fn(param.clone(), grad.clone(), None if buffer is None else buffer.clone(), lr, momentum,
                        weight_decay)
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                return f"{name} must return two tensors (param, buffer), got {type(result).__name__}"
            reference.grad = grad
            sgd.step()
            expected_buffer = sgd.state[reference]["momentum_buffer"]
            decayed = grad + weight_decay * param
            previous = torch.zeros_like(param) if buffer is None else buffer
            call = f"{name}(...) at step {t} (lr {lr})"
            problem = _compare(f"the buffer from {call}", result[1], expected_buffer, atol=1e-12, variants={
                "your buffer includes the learning rate (Sutskever's velocity v = momentum v - lr g); "
                "PyTorch's buffer holds gradients and multiplies by lr in the step": -lr * expected_buffer,
                "the weight decay is missing: add weight_decay * param to the gradient first":
                    momentum * previous + grad if buffer is not None else grad,
                "you averaged (dampening): PyTorch's buffer is momentum * buffer + g, without (1 - momentum)":
                    momentum * previous + (1 - momentum) * decayed,
            })
            problem = problem or _compare(f"the parameters from {call}", result[0], reference.detach(), atol=1e-12)
            if problem is not None:
                return problem
            buffer = expected_buffer.clone()
        return None

    return _verdict("sgd_momentum_step", student_fn, find_problem)


# -- Chapter 9: CTC ----------------------------------------------------------------------


def _ctc_cases() -> list[tuple[torch.Tensor, list[int]]]:
    """One-utterance CTC cases ``(log_probs (frames, classes), labels)``: plain, repeated labels,
    barely long enough (frames = labels + repeats), a single label, and too short to be possible."""
    generator = torch.Generator().manual_seed(9)
    shapes = [(8, 5, [1, 2, 3]), (6, 4, [2, 2, 3]), (7, 4, [3, 3, 3, 3]), (3, 3, [1]), (4, 4, [1, 1, 1])]
    return [
        (torch.randn(frames, classes, generator=generator, dtype=torch.float64).log_softmax(-1), labels)
        for frames, classes, labels in shapes
    ]


def check_ctc_loss(student_fn: Callable[[torch.Tensor, list[int]], torch.Tensor]) -> bool:
    """Check ``student_fn(log_probs, labels) -> -log p(labels | x)`` for one utterance (``log_probs``
    ``(frames, classes)``, blank 0) against ``torch.nn.functional.ctc_loss``, repeated labels and an
    impossible case (loss ``inf``) included."""
    import math

    import torch.nn.functional as F

    def find_problem(fn):
        for log_probs, labels in _ctc_cases():
            call = f"{getattr(fn, '__name__', 'your function')}(log_probs of {len(log_probs)} frames, {labels})"
            expected = F.ctc_loss(
                log_probs.unsqueeze(1), torch.tensor([labels]), [len(log_probs)], [len(labels)], reduction="sum"
            ).item()
            got = fn(log_probs.clone(), list(labels))
            if got is None:
                return f"{call} returned None; did you forget `return`?"
            got = float(got)
            if math.isinf(expected):
                if not (math.isinf(got) and got > 0):
                    return f"{call}: these labels cannot fit in so few frames, so the loss is inf; you gave {got:.4f}"
            elif not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-8):
                hint = ""
                if len(set(labels)) < len(labels):
                    hint = " Between two equal labels a path must pass through a blank: no skip there."
                return f"{call} gave {got:.6f}, expected {expected:.6f}.{hint}"
        return None

    return _verdict("ctc_loss", student_fn, find_problem)


def check_ctc_greedy_decoder(student_fn: Callable[[torch.Tensor], list[int]]) -> bool:
    """Check ``student_fn(log_probs) -> labels`` (best path: the most likely symbol per frame, repeats
    merged, then blanks (0) removed) for ``log_probs`` ``(frames, classes)``."""
    paths = [[1, 1, 0, 2, 2, 0, 2], [0, 0, 0], [3, 0, 3, 3, 0, 1], [2, 2, 2, 2], [0, 1, 2, 1, 0]]
    expected = [[1, 2, 2], [], [3, 3, 1], [2], [1, 2, 1]]

    def find_problem(fn):
        for path, want in zip(paths, expected):
            log_probs = torch.full((len(path), 4), -6.0)
            log_probs[torch.arange(len(path)), torch.tensor(path)] = -0.01
            got = fn(log_probs.clone())
            if got is None:
                return "your function returned None; did you forget `return`?"
            got = [int(x) for x in got]
            if got != want:
                hint = ""
                if 0 in got:
                    hint = " Remove the blanks (label 0)."
                elif len(got) < len(want):
                    hint = " Merge repeats first, then drop blanks: a blank separates two equal labels."
                return f"frames whose best symbols are {path} should decode to {want}, you gave {got}.{hint}"
        return None

    return _verdict("ctc_greedy_decoder", student_fn, find_problem)


# -- Chapter 10: small and fast ------------------------------------------------------------


def _affine_quantize(x: torch.Tensor, scale: Any, zero_point: Any, bits: int, signed: bool,
                     rounding: Callable = torch.round, low: int | None = None, high: int | None = None) -> torch.Tensor:
    """``clamp(rounding(x / scale) + zero_point)`` to the ``bits``-bit integer range (float64)."""
    lowest, highest = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    q = rounding(x.to(torch.float64) / torch.as_tensor(scale, dtype=torch.float64)) + torch.as_tensor(zero_point)
    return q.clamp(lowest if low is None else low, highest if high is None else high)


def check_affine_quantize(student_fn: Callable[..., torch.Tensor]) -> bool:
    """Check ``student_fn(x, scale, zero_point, bits=8, signed=True) -> integer tensor``: affine
    quantisation ``clamp(round(x / scale) + zero_point, lowest, highest)``, rounding halfway cases to
    even (as ``torch.round`` and ONNX's QuantizeLinear do), clamped to the range of a signed
    (``-2**(bits-1)`` to ``2**(bits-1) - 1``) or unsigned (``0`` to ``2**bits - 1``) integer. ``scale``
    and ``zero_point`` are numbers (per tensor) or tensors that broadcast against ``x`` (per channel)."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(10)
        x = 3 * torch.randn(4, 3, 5, generator=generator)
        halves = torch.arange(-40, 41, dtype=torch.float32) / 8  # x / 0.25 = k / 2: every halfway case
        per_channel = (torch.tensor([0.02, 0.05, 0.1, 0.2]).reshape(4, 1, 1), torch.tensor([0, -3, 5, 0]).reshape(4, 1, 1))
        cases = [  # x, scale, zero point, bits, signed, how the call reads
            (x, 0.05, -10, 8, True, "x, 0.05, -10"),
            (halves, 0.25, 3, 8, True, "halves, 0.25, 3 (x / scale hits every k + 0.5)"),
            (halves, 0.01, 0, 8, True, "halves, 0.01, 0 (far beyond the int8 range)"),
            (x, 0.04, 128, 8, False, "x, 0.04, 128, signed=False"),
            (x, 0.5, 0, 4, True, "x, 0.5, 0, bits=4"),
            (x, *per_channel, 8, True, "x, scale (4, 1, 1), zero_point (4, 1, 1) (per channel)"),
        ]
        name = getattr(fn, "__name__", "<lambda>")
        name = "your function" if name == "<lambda>" else name
        for values, scale, zero_point, bits, signed, described in cases:
            call = f"{name}({described}{'' if bits == 8 else f', bits={bits}'})"
            expected = _affine_quantize(values, scale, zero_point, bits, signed)
            lowest = -(2 ** (bits - 1)) if signed else 0
            variants = {
                "you truncated (rounded towards zero) instead of rounding to the nearest integer":
                    _affine_quantize(values, scale, zero_point, bits, signed, torch.trunc),
                "you rounded halfway cases away from zero; torch.round (and ONNX) round them to even":
                    _affine_quantize(values, scale, zero_point, bits, signed, lambda v: torch.sign(v) * torch.floor(v.abs() + 0.5)),
                "you rounded halfway cases up (floor(v + 0.5)); torch.round (and ONNX) round them to even":
                    _affine_quantize(values, scale, zero_point, bits, signed, lambda v: torch.floor(v + 0.5)),
                "the clamp is missing: values beyond the integer range must saturate at its ends":
                    _affine_quantize(values, scale, zero_point, bits, signed, low=-(2**20), high=2**20),
                f"you clamped at {lowest + 1}; the lowest {'signed' if signed else 'unsigned'} {bits}-bit integer is {lowest}":
                    _affine_quantize(values, scale, zero_point, bits, signed, low=lowest + 1),
                "you clamped to the signed range; signed=False is 0 to 2**bits - 1":
                    _affine_quantize(values, scale, zero_point, bits, True),
                "you subtracted the zero point; quantising adds it (dequantising subtracts it)":
                    _affine_quantize(values, scale, -torch.as_tensor(zero_point), bits, signed),
                "you multiplied by the scale; quantising divides by it":
                    _affine_quantize(values, 1 / torch.as_tensor(scale, dtype=torch.float64), zero_point, bits, signed),
            }
            got = fn(values.clone(), scale, zero_point, bits, signed)
            problem = _compare(call, got, expected, atol=0.0, variants=variants)
            if problem is not None:
                return problem
            if torch.as_tensor(got).is_floating_point():
                return (f"{call} has the right values but as {torch.as_tensor(got).dtype}; return integers "
                        "(e.g. .to(torch.int32), which holds every bit width here)")
        return None

    return _verdict("affine_quantize", student_fn, find_problem)


def _distillation(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, temperature: float, alpha: float,
                  smoothing: float, *, squared: bool = True, swapped: bool = False, hard_temperature: bool = False,
                  reduction: str = "batchmean", weights_swapped: bool = False) -> torch.Tensor:
    """The distillation loss, or one of its common mistakes (the keyword arguments)."""
    log_student, log_teacher = F.log_softmax(student / temperature, -1), F.log_softmax(teacher / temperature, -1)
    if swapped:
        log_student, log_teacher = log_teacher, log_student
    pointwise = F.kl_div(log_student, log_teacher, reduction="none", log_target=True)  # (batch, classes)
    soft = {"batchmean": pointwise.sum() / len(pointwise), "sum": pointwise.sum(), "mean": pointwise.mean()}[reduction]
    soft = soft * (temperature**2 if squared else 1)
    hard = F.cross_entropy(student / temperature if hard_temperature else student, labels, label_smoothing=smoothing)
    return (1 - alpha) * soft + alpha * hard if weights_swapped else alpha * soft + (1 - alpha) * hard


def check_distillation_loss(student_fn: Callable[..., torch.Tensor]) -> bool:
    """Check ``student_fn(student_logits, teacher_logits, labels, temperature, alpha, label_smoothing)
    -> scalar``: ``alpha * T**2 * KL(softmax(teacher / T) || softmax(student / T))`` (summed over
    the classes, averaged over the batch) plus ``(1 - alpha)`` times the label-smoothed cross-entropy
    of the student's logits at temperature 1, as ``F.cross_entropy(..., label_smoothing=...)``; in
    float64, to within 1e-6 (float32 smoothed targets are fine)."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(11)
        name = getattr(fn, "__name__", "<lambda>")
        name = "your function" if name == "<lambda>" else name
        for batch, classes, temperature, alpha, smoothing in [(6, 10, 4.0, 0.9, 0.1), (5, 10, 2.0, 0.5, 0.0),
                                                              (8, 12, 10.0, 0.7, 0.1), (4, 10, 4.0, 0.0, 0.1)]:
            student = 3 * torch.randn(batch, classes, generator=generator, dtype=torch.float64)
            teacher = 5 * torch.randn(batch, classes, generator=generator, dtype=torch.float64)
            labels = torch.randint(0, classes, (batch,), generator=generator)
            args = (student, teacher, labels, temperature, alpha, smoothing)
            expected = _distillation(*args)
            variants = {
                "the T**2 factor on the soft term is missing": _distillation(*args, squared=False),
                "the KL divergence's arguments are swapped: distillation uses KL(teacher || student), "
                "the teacher's probabilities weighting the log-ratio": _distillation(*args, swapped=True),
                "you averaged the KL divergence over the classes as well (reduction='mean'); sum over the "
                "classes and average over the batch ('batchmean')": _distillation(*args, reduction="mean"),
                "you summed the KL divergence over the batch; average it over the batch":
                    _distillation(*args, reduction="sum"),
                "the hard term's cross-entropy takes the student's logits at temperature 1, not divided by T":
                    _distillation(*args, hard_temperature=True),
                "the label smoothing is missing from the hard term": _distillation(*args[:5], 0.0),
                "alpha and 1 - alpha are swapped: alpha weights the teacher's soft term":
                    _distillation(*args, weights_swapped=True),
            }
            call = (f"{name}(student_logits, teacher_logits, labels, temperature={temperature}, alpha={alpha}, "
                    f"label_smoothing={smoothing}) for {batch} examples, {classes} classes")
            got = fn(student.clone(), teacher.clone(), labels.clone(), temperature, alpha, smoothing)
            if isinstance(got, torch.Tensor) and got.dim() > 0:
                return f"{call} has shape {tuple(got.shape)}; return the mean over the batch, a single number"
            problem = _compare(call, got, expected, atol=1e-6, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("distillation_loss", student_fn, find_problem)


# -- Chapter 11: residual networks among their rivals -------------------------------------------


def _causal_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, *, scale: bool = True,
                      mask_after: bool = False, past: bool = False) -> torch.Tensor:
    """Causal scaled dot-product attention (float64), or one of its common mistakes (the keywords)."""
    scores = query @ key.transpose(-2, -1) / (math.sqrt(query.shape[-1]) if scale else 1.0)
    future = torch.ones(scores.shape[-2:], dtype=torch.bool).triu(1)
    if past:
        future = future.T
    if mask_after:
        return scores.softmax(dim=-1).masked_fill(future, 0.0) @ value
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ value


def check_causal_attention(student_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Check ``student_fn(query, key, value) -> (..., frames, d)``: ``softmax(Q Kᵀ / √d) V`` with the
    scores of keys after their query set to -inf before the softmax, as
    ``F.scaled_dot_product_attention(query, key, value, is_causal=True)``; in float64, to within 1e-9."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(12)
        name = getattr(fn, "__name__", "<lambda>")
        name = "your function" if name == "<lambda>" else name
        for shape in [(2, 3, 7, 8), (1, 1, 5, 4), (6, 16), (1, 2, 1, 3)]:
            query, key, value = (torch.randn(*shape, generator=generator, dtype=torch.float64) for _ in range(3))
            expected = _causal_attention(query, key, value)
            variants = {
                "the scores are not divided by sqrt(d)": _causal_attention(query, key, value, scale=False),
                "you zeroed the future weights after the softmax; set the scores to -inf before it, so that "
                "each row's weights still sum to 1": _causal_attention(query, key, value, mask_after=True),
                "you hid the past instead of the future: a frame attends to itself and the frames before it":
                    _causal_attention(query, key, value, past=True),
            }
            call = f"{name}(query, key, value) for shape {shape}"
            problem = _compare(call, fn(query.clone(), key.clone(), value.clone()), expected, atol=1e-9, variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("causal_attention", student_fn, find_problem)


def _symmetric_dtw(cost: torch.Tensor, diagonal: float = 2.0, side: float = 1.0, start: float = 2.0) -> torch.Tensor:
    """Accumulated cost of the DTW recursion with weights ``diagonal`` and ``side`` on the steps and
    ``start`` on the first cell (float64); Sakoe and Chiba's symmetric form by default."""
    cost = cost.to(torch.float64)
    n, m = cost.shape
    total = torch.full((n, m), math.inf, dtype=torch.float64)
    for i in range(n):
        for j in range(m):
            c = cost[i, j]
            if i == 0 and j == 0:
                total[i, j] = start * c
                continue
            steps = [total[i - 1, j - 1] + diagonal * c] if i and j else []
            steps += [total[i - 1, j] + side * c] if i else []
            steps += [total[i, j - 1] + side * c] if j else []
            total[i, j] = min(steps)
    return total


def check_symmetric_dtw(student_fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Check ``student_fn(cost) -> D``: for a cost matrix ``(n, m)``, the accumulated cost ``(n, m)`` of
    ``D(i, j) = min(D(i-1, j-1) + 2 C, D(i-1, j) + C, D(i, j-1) + C)`` with ``D(1, 1) = 2 C(1, 1)``
    (Sakoe and Chiba's symmetric form); to within 1e-9."""

    def find_problem(fn: Callable) -> str | None:
        generator = torch.Generator().manual_seed(13)
        name = getattr(fn, "__name__", "<lambda>")
        name = "your function" if name == "<lambda>" else name
        for n, m in [(6, 9), (1, 4), (5, 1), (8, 8)]:
            cost = torch.rand(n, m, generator=generator, dtype=torch.float64)
            variants = {
                "you used the plain recursion of section 1; the diagonal step counts the cost twice":
                    _symmetric_dtw(cost, diagonal=1.0, start=1.0),
                "the first cell is C(1, 1), not 2 C(1, 1) (librosa's start, one less than the symmetric form's)":
                    _symmetric_dtw(cost, start=1.0),
                "you doubled the horizontal and vertical steps instead of the diagonal one":
                    _symmetric_dtw(cost, diagonal=1.0, side=2.0),
            }
            problem = _compare(f"{name}(cost of shape ({n}, {m}))", fn(cost.clone()), _symmetric_dtw(cost), atol=1e-9,
                               variants=variants)
            if problem is not None:
                return problem
        return None

    return _verdict("symmetric_dtw", student_fn, find_problem)
