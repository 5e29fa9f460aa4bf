"""Data augmentation for keyword spotting, batched on the device: random time shift, speed
perturbation, additive noise at a chosen signal-to-noise ratio (generated coloured noise or
recorded background noise), vocal tract length perturbation, a pitch shift that keeps the
formants, and SpecAugment's frequency and time masks.

Each augmentation is a function of explicit random choices (testable) and an ``nn.Module`` that
draws them -- from ``generator`` if given, else from PyTorch's global generator, so that
``train.seed_everything`` and checkpoints cover them. The modules act in training mode only and
pass inputs through unchanged in ``eval()`` mode, like dropout; put them inside the ``features``
module given to :func:`tutorial_utils.train.fit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from . import config, features
from .data.audio import load_audio

__all__ = [
    "NOISE_EXPONENTS", "AddNoise", "RandomPitch", "RandomSpeed", "RandomTimeShift", "RandomVTLP", "SpecAugment",
    "change_speed", "colored_noise", "shift_pitch", "spectral_envelope", "vtlp_filterbanks", "vtlp_warp",
    "find_noise_recordings", "load_noise_recordings", "mask_along_axis", "mix_at_snr", "random_mask", "signal_power",
    "snr_db", "time_shift",
]

#: Power spectral density ~ 1 / f**exponent.
NOISE_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def _uniform(low: float, high: float, n: int, device, generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, device=device, generator=generator)


# --- time shift -------------------------------------------------------------------------------


def time_shift(waveforms: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Shift each row of ``(batch, samples)`` by ``shifts[i]`` samples (positive: later), filling
    with zeros; the length stays the same."""
    length = waveforms.shape[-1]
    source = torch.arange(length, device=waveforms.device) - shifts.view(-1, 1)  # (batch, samples)
    inside = (source >= 0) & (source < length)
    return waveforms.gather(-1, source.clamp(0, length - 1)) * inside


class RandomTimeShift(nn.Module):
    """Shift every waveform ``(batch, samples)`` by a uniform random whole number of samples in
    ``[-max_shift, max_shift]`` (training mode only)."""

    def __init__(self, max_shift: int, generator: torch.Generator | None = None):
        super().__init__()
        self.max_shift, self.generator = max_shift, generator

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}"

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        if not self.training or self.max_shift == 0:
            return waveforms
        shifts = torch.randint(
            -self.max_shift, self.max_shift + 1, (waveforms.shape[0],), device=waveforms.device, generator=self.generator
        )
        return time_shift(waveforms, shifts)


# --- speed ------------------------------------------------------------------------------------


def change_speed(waveforms: torch.Tensor, rates: torch.Tensor) -> torch.Tensor:
    """Play each row of ``(batch, samples)`` ``rates[i]`` times as fast, by linear interpolation:
    duration scales by ``1 / rate``, pitch and formants by ``rate`` (like a tape played faster), as
    in speed perturbation. The result keeps the length, centred (zeros where there is no input).
    No anti-aliasing: above ``rate = 1`` frequencies beyond ``sample_rate / (2 rate)`` fold back."""
    length = waveforms.shape[-1]
    centre = (length - 1) / 2
    t = torch.arange(length, device=waveforms.device, dtype=waveforms.dtype)
    source = centre + (t - centre) * rates.view(-1, 1).to(waveforms.dtype)  # (batch, samples)
    left = source.floor().clamp(0, length - 1).long()
    right = (left + 1).clamp(max=length - 1)
    fraction = source - left
    inside = (source >= 0) & (source <= length - 1)
    mixed = waveforms.gather(-1, left) * (1 - fraction) + waveforms.gather(-1, right) * fraction
    return mixed * inside


class RandomSpeed(nn.Module):
    """Change the speed of every waveform ``(batch, samples)`` by a factor uniform in ``rates`` =
    (low, high), see :func:`change_speed` (training mode only)."""

    def __init__(self, rates: tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None):
        super().__init__()
        self.rates, self.generator = rates, generator

    def extra_repr(self) -> str:
        return f"rates={self.rates}"

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rates[0] == self.rates[1] == 1:
            return waveforms
        rates = _uniform(*self.rates, waveforms.shape[0], waveforms.device, self.generator)
        return change_speed(waveforms, rates)


# --- vocal tract length perturbation ------------------------------------------------------------


def vtlp_warp(freqs: torch.Tensor, warps: torch.Tensor, nyquist: float, boundary: float = 0.6) -> torch.Tensor:
    """Jaitly and Hinton's (2013) piecewise-linear frequency warp, ``freqs`` ``(n_freqs,)`` and one factor
    per example ``warps`` ``(batch,)`` -> ``(batch, n_freqs)``: ``f -> warp * f`` up to
    ``f_b = f_hi * min(warp, 1) / warp`` with ``f_hi = boundary * nyquist`` (their 4.8 of 8 kHz), then
    the straight line from there to ``(nyquist, nyquist)``, so that the band stays ``[0, nyquist]``."""
    warps = warps.reshape(-1, 1).to(freqs.dtype)
    knee_out = boundary * nyquist * warps.clamp(max=1)  # where the first piece ends, after warping
    knee_in = knee_out / warps
    upper = nyquist - (nyquist - knee_out) / (nyquist - knee_in) * (nyquist - freqs)
    return torch.where(freqs <= knee_in, warps * freqs, upper)


def vtlp_filterbanks(warps: torch.Tensor, sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """One Mel filterbank per factor in ``warps`` ``(batch,)`` -> ``(batch, n_fft // 2 + 1, n_mels)``:
    :func:`tutorial_utils.features.mel_filterbank` read at the warped bin frequencies, so energy at
    ``f`` lands in the Mel band of :func:`vtlp_warp`'s ``f'``: with ``warp > 1`` every formant moves
    up, as if the vocal tract were shorter. ``warp = 1`` gives the plain filterbank."""
    freqs = features.bin_frequencies(n_fft // 2 + 1, sample_rate, warps.device)
    edges = features.mel_edges(n_mels, sample_rate, device=warps.device)
    return features.triangular_filterbank(vtlp_warp(freqs, warps.to(torch.float64), sample_rate / 2), edges)


class RandomVTLP(nn.Module):
    """Vocal tract length perturbation: a warp factor uniform in ``warps`` = (low, high) per example
    (Jaitly and Hinton: (0.9, 1.1)); ``forward(batch_size, device)`` returns their filterbanks
    (:func:`vtlp_filterbanks`), or None in ``eval()`` mode or for (1, 1), meaning the plain one."""

    def __init__(self, warps: tuple[float, float], sample_rate: int, n_fft: int, n_mels: int,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.warps, self.sample_rate, self.n_fft, self.n_mels = warps, sample_rate, n_fft, n_mels
        self.generator = generator

    def extra_repr(self) -> str:
        return f"warps={self.warps}"

    def forward(self, batch_size: int, device: torch.device | str | None = None) -> torch.Tensor | None:
        if not self.training or self.warps[0] == self.warps[1] == 1:
            return None
        warps = _uniform(*self.warps, batch_size, device, self.generator)
        return vtlp_filterbanks(warps, self.sample_rate, self.n_fft, self.n_mels)


# --- pitch, formants kept -----------------------------------------------------------------------


def spectral_envelope(log_power: torch.Tensor, cutoff: int) -> torch.Tensor:
    """Cepstral smoothing along frequency: the part of ``log_power`` ``(..., n_freqs, frames)`` made of
    quefrencies below ``cutoff`` samples, the vocal tract's envelope (formants) without the
    harmonics of the voice's pitch (periods of ``cutoff`` samples or more), same shape."""
    n_fft = 2 * (log_power.shape[-2] - 1)
    cepstrum = torch.fft.irfft(log_power, n=n_fft, dim=-2)  # real and even: the spectrum is real
    quefrency = torch.arange(n_fft, device=log_power.device)
    lifter = ((quefrency < cutoff) | (quefrency > n_fft - cutoff)).to(cepstrum.dtype).unsqueeze(-1)
    return torch.fft.rfft(cepstrum * lifter, dim=-2).real


def shift_pitch(power: torch.Tensor, factors: torch.Tensor, cutoff: int = 20, floor: float = 1e-10) -> torch.Tensor:
    """Raise the pitch of each power spectrogram ``(batch, n_freqs, frames)`` by ``factors[i]`` and keep
    its formants: split the log power into :func:`spectral_envelope` plus the rest (the harmonics),
    stretch the rest along frequency by the factor (bin ``k`` takes bin ``k / factor``, linearly
    interpolated; nothing from beyond the top bin), and put the envelope back. The length in time
    does not change, unlike :func:`change_speed`; ``factors`` of 1 give ``power`` back."""
    log_power = torch.log(power + floor)
    envelope = spectral_envelope(log_power, cutoff)
    harmonics = log_power - envelope
    n_freqs, frames = power.shape[-2:]
    source = torch.arange(n_freqs, device=power.device, dtype=power.dtype) / factors.view(-1, 1).to(power.dtype)
    left = source.floor().clamp(0, n_freqs - 1).long()
    right = (left + 1).clamp(max=n_freqs - 1)
    fraction = (source - left).unsqueeze(-1)
    pick = lambda index: harmonics.gather(-2, index.unsqueeze(-1).expand(-1, -1, frames))
    moved = (pick(left) * (1 - fraction) + pick(right) * fraction) * (source <= n_freqs - 1).unsqueeze(-1)
    return (torch.exp(envelope + moved) - floor).clamp(min=0)


class RandomPitch(nn.Module):
    """Shift the pitch of every power spectrogram ``(batch, n_freqs, frames)`` by a number of
    semitones uniform in ``[-semitones, semitones]``, formants kept (:func:`shift_pitch`; training
    mode only)."""

    def __init__(self, semitones: float, cutoff: int = 20, generator: torch.Generator | None = None):
        super().__init__()
        self.semitones, self.cutoff, self.generator = semitones, cutoff, generator

    def extra_repr(self) -> str:
        return f"semitones={self.semitones}, cutoff={self.cutoff}"

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        if not self.training or self.semitones == 0:
            return power
        steps = _uniform(-self.semitones, self.semitones, power.shape[0], power.device, self.generator)
        return shift_pitch(power, 2 ** (steps / 12), self.cutoff)


# --- noise ------------------------------------------------------------------------------------


def signal_power(x: torch.Tensor) -> torch.Tensor:
    """Mean square over the last dimension: ``(..., samples) -> (...)``."""
    return x.pow(2).mean(dim=-1)


def snr_db(signal: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio in decibels, ``10 log10(P_signal / P_noise)``, per row."""
    return 10 * torch.log10(signal_power(signal) / signal_power(noise))


def colored_noise(
    batch: int, length: int, exponents: torch.Tensor | float = 0.0, *, generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Noise ``(batch, length)`` with zero mean, unit power and a power spectrum ~ ``1 / f**exponent``
    (0 white, 1 pink, 2 brown; one exponent per row or one for all): white Gaussian noise whose
    spectrum is scaled by ``f**(-exponent / 2)``."""
    white = torch.randn(batch, length, device=device, generator=generator)
    exponents = torch.as_tensor(exponents, dtype=white.dtype, device=white.device).reshape(-1, 1)
    spectrum = torch.fft.rfft(white)
    frequencies = torch.arange(spectrum.shape[-1], device=white.device, dtype=white.dtype)
    gains = frequencies.clamp(min=1) ** (-exponents / 2)
    gains[:, 0] = 0  # no DC: zero mean
    noise = torch.fft.irfft(spectrum * gains, n=length)
    return noise / signal_power(noise).sqrt().unsqueeze(-1)


def mix_at_snr(signal: torch.Tensor, noise: torch.Tensor, snr: torch.Tensor | float) -> torch.Tensor:
    """``signal + g * noise`` with ``g`` per row chosen so that the SNR is ``snr`` dB (powers over the
    whole clip, padding included). Shapes ``(batch, samples)``; ``snr`` a number or ``(batch,)``."""
    snr = torch.as_tensor(snr, dtype=signal.dtype, device=signal.device)
    gain = (signal_power(signal) / (signal_power(noise) * 10 ** (snr / 10))).sqrt()
    return signal + gain.unsqueeze(-1) * noise


def find_noise_recordings(data_dir: str | Path | None = None) -> list[Path]:
    """Speech Commands' background-noise WAV files under the data directory: in
    ``speech_commands_noise/`` or in a Speech Commands download's ``_background_noise_/``."""
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    paths = sorted((root / "speech_commands_noise").glob("*.wav"))
    return paths or sorted(root.glob("SpeechCommands/*/_background_noise_/*.wav"))


def load_noise_recordings(
    sample_rate: int, data_dir: str | Path | None = None, paths: Sequence[str | Path] | None = None
) -> list[torch.Tensor]:
    """The background-noise recordings (``paths``, default :func:`find_noise_recordings`) as mono
    waveforms at ``sample_rate``; an empty list if there are none."""
    paths = find_noise_recordings(data_dir) if paths is None else paths
    return [load_audio(path, sample_rate=sample_rate, resample=True)[0] for path in paths]


class AddNoise(nn.Module):
    """Add noise at a random SNR, uniform in ``snr_db`` = (low, high) dB, to a fraction ``p`` of the
    waveforms ``(batch, samples)`` (training mode only).

    Each noisy example draws its source uniformly from ``colors`` (generated, see
    :func:`colored_noise`) and, if ``recordings`` (1-D waveforms at the task's rate, each at least as
    long as the examples; see :func:`load_noise_recordings`) are given, "a random stretch of a random
    recording" as one more source.
    """

    def __init__(
        self, snr_db: tuple[float, float] = (5.0, 30.0), p: float = 0.8, colors: Sequence[str] = ("white", "pink", "brown"),
        recordings: Sequence[torch.Tensor] = (), generator: torch.Generator | None = None,
    ):
        super().__init__()
        unknown = set(colors) - set(NOISE_EXPONENTS)
        if unknown:
            raise ValueError(f"unknown noise colours {sorted(unknown)}; use {', '.join(NOISE_EXPONENTS)}")
        if not colors and not recordings:
            raise ValueError("AddNoise needs noise colours or recordings")
        self.snr_db, self.p, self.generator = snr_db, p, generator
        self.register_buffer("exponents", torch.tensor([NOISE_EXPONENTS[c] for c in colors]), persistent=False)
        lengths = [len(r) for r in recordings]
        bank = torch.zeros(len(recordings), max(lengths, default=0))
        for i, recording in enumerate(recordings):
            bank[i, : len(recording)] = recording
        self.register_buffer("recordings", bank, persistent=False)  # (recordings, longest)
        self.register_buffer("lengths", torch.tensor(lengths, dtype=torch.long), persistent=False)

    def extra_repr(self) -> str:
        colors = [c for c, e in NOISE_EXPONENTS.items() if e in self.exponents.tolist()]
        return f"snr_db={self.snr_db}, p={self.p}, colors={colors}, recordings={len(self.lengths)}"

    def recording_stretches(self, batch: int, length: int) -> torch.Tensor:
        """``(batch, length)`` random stretches of random recordings, scaled to unit power."""
        if int(self.lengths.min()) < length:
            raise ValueError(f"noise recordings must be at least {length} samples long")
        device = self.recordings.device
        which = torch.randint(len(self.lengths), (batch,), device=device, generator=self.generator)
        starts = (torch.rand(batch, device=device, generator=self.generator) * (self.lengths[which] - length + 1)).long()
        stretches = self.recordings[which.view(-1, 1), starts.view(-1, 1) + torch.arange(length, device=device)]
        return stretches / signal_power(stretches).clamp(min=1e-10).sqrt().unsqueeze(-1)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return waveforms
        batch, length = waveforms.shape
        device, generator = waveforms.device, self.generator
        sources = len(self.exponents) + (len(self.lengths) > 0)
        source = torch.randint(sources, (batch,), device=device, generator=generator)
        noise = torch.zeros_like(waveforms)
        if len(self.exponents):
            exponents = self.exponents[source.clamp(max=len(self.exponents) - 1)]
            noise = colored_noise(batch, length, exponents, generator=generator, device=device)
        if len(self.lengths):
            noise = torch.where((source == len(self.exponents)).view(-1, 1), self.recording_stretches(batch, length), noise)
        snr = _uniform(*self.snr_db, batch, device, generator)
        noisy = torch.rand(batch, device=device, generator=generator) < self.p
        return torch.where(noisy.view(-1, 1), mix_at_snr(waveforms, noise, snr), waveforms)


# --- SpecAugment ------------------------------------------------------------------------------


def mask_along_axis(spectrograms: torch.Tensor, starts: torch.Tensor, widths: torch.Tensor, axis: int, value: float = 0.0) -> torch.Tensor:
    """Set bins ``starts[i] <= k < starts[i] + widths[i]`` along ``axis`` (-2 frequency, -1 time)
    of each ``(batch, n_mels, frames)`` example to ``value``."""
    index = torch.arange(spectrograms.shape[axis], device=spectrograms.device)
    masked = (index >= starts.view(-1, 1)) & (index < (starts + widths).view(-1, 1))  # (batch, bins)
    masked = masked.unsqueeze(-1) if axis == -2 else masked.unsqueeze(-2)
    return spectrograms.masked_fill(masked, value)


def random_mask(spectrograms: torch.Tensor, mask_param: int, axis: int, generator: torch.Generator | None = None, value: float = 0.0) -> torch.Tensor:
    """One mask per example, drawn as ``torchaudio.functional.mask_along_axis_iid`` draws it: width
    ``floor(v)``, ``v ~ U(0, mask_param)``, start ``floor(u)``, ``u ~ U(0, bins - v)``."""
    batch, bins, device = spectrograms.shape[0], spectrograms.shape[axis], spectrograms.device
    v = torch.rand(batch, device=device, generator=generator) * mask_param
    u = torch.rand(batch, device=device, generator=generator) * (bins - v)
    return mask_along_axis(spectrograms, u.long(), v.long(), axis, value)


class SpecAugment(nn.Module):
    """SpecAugment's masks (Park et al., 2019) on ``(batch, n_mels, frames)``: ``freq_masks`` bands of
    up to ``freq_mask_param`` Mel bins and ``time_masks`` stretches of up to ``time_mask_param``
    frames, set to ``value`` (0 = the mean of normalised features); training mode only."""

    def __init__(
        self, freq_mask_param: int = 7, time_mask_param: int = 10, freq_masks: int = 1, time_masks: int = 1,
        value: float = 0.0, generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.freq_mask_param, self.time_mask_param = freq_mask_param, time_mask_param
        self.freq_masks, self.time_masks = freq_masks, time_masks
        self.value, self.generator = value, generator

    def extra_repr(self) -> str:
        return (f"freq_mask_param={self.freq_mask_param}, time_mask_param={self.time_mask_param}, "
                f"freq_masks={self.freq_masks}, time_masks={self.time_masks}, value={self.value}")

    def forward(self, spectrograms: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return spectrograms
        for _ in range(self.freq_masks):
            spectrograms = random_mask(spectrograms, self.freq_mask_param, -2, self.generator, self.value)
        for _ in range(self.time_masks):
            spectrograms = random_mask(spectrograms, self.time_mask_param, -1, self.generator, self.value)
        return spectrograms

