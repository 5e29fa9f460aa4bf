"""Speech features from scratch: frames, windows, power spectrogram, Mel filterbank, log-Mel, MFCC.

Everything is plain torch: batched over any leading dimensions, on any device, differentiable.
Waveforms are ``(..., time)``; spectrogram-like features are ``(..., freq, frames)``.

The defaults follow torchaudio (periodic Hann window, ``center=True`` with reflection padding,
power 2, HTK Mel scale without area normalisation, orthonormal DCT-II, MFCC of decibels with
``top_db=80``), so that ``torchaudio.transforms`` with the same arguments gives the same numbers.
librosa agrees when told ``pad_mode="reflect"`` (its default pads with zeros) and, for the Mel
filterbank, ``htk=True, norm=None`` (its default is Slaney's scale with area normalisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

PAD_MODES = ("reflect", "constant", "replicate", "circular")
MEL_SCALES = ("htk", "slaney")

# Slaney's Mel scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL  # 15
_SLANEY_LOG_STEP = math.log(6.4) / 27.0


def frame(signal: torch.Tensor, frame_length: int, hop_length: int) -> torch.Tensor:
    """Cut ``(..., time)`` into overlapping frames ``(..., n_frames, frame_length)``, no padding.

    Frame ``t`` holds samples ``t * hop_length`` to ``t * hop_length + frame_length - 1``;
    ``n_frames = 1 + (time - frame_length) // hop_length``. The result is a view of ``signal``.
    """
    if frame_length < 1 or hop_length < 1:
        raise ValueError(f"frame_length and hop_length must be positive, got {frame_length} and {hop_length}.")
    if signal.dim() == 0 or signal.shape[-1] < frame_length:
        length = signal.shape[-1] if signal.dim() else 0
        raise ValueError(
            f"The signal has {length} samples, fewer than one frame of {frame_length}; "
            "pad it (e.g. center=True) or use a shorter frame."
        )
    return signal.unfold(-1, frame_length, hop_length)


def hann_window(
    length: int, periodic: bool = True, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """The Hann window ``w[n] = 1/2 - 1/2 cos(2 pi n / N)``, ``(length,)``.

    ``periodic=True`` (the STFT convention, as ``torch.hann_window``) uses ``N = length``;
    ``periodic=False`` gives the symmetric window (``numpy.hanning``), ``N = length - 1``.
    """
    if length < 0:
        raise ValueError(f"The window length must be non-negative, got {length}.")
    dtype = dtype or torch.get_default_dtype()
    if length == 1:
        return torch.ones(1, dtype=dtype, device=device)
    period = length if periodic else length - 1
    n = torch.arange(length, dtype=torch.float64, device=device)
    return (0.5 - 0.5 * torch.cos(2 * math.pi * n / period)).to(dtype)


def _padded_window(n_fft: int, win_length: int | None, dtype: torch.dtype, device: torch.device | str | None):
    """A periodic Hann window of ``win_length`` centred in ``n_fft`` zeros, as ``torch.stft`` does."""
    win_length = n_fft if win_length is None else win_length
    if not 1 <= win_length <= n_fft:
        raise ValueError(f"win_length must be between 1 and n_fft={n_fft}, got {win_length}.")
    window = hann_window(win_length, dtype=dtype, device=device)
    left = (n_fft - win_length) // 2
    return torch.nn.functional.pad(window, (left, n_fft - win_length - left))


def _check_waveform(waveform: torch.Tensor) -> None:
    if not waveform.is_floating_point():
        raise TypeError(f"The waveform must be a floating-point tensor, got {waveform.dtype}.")
    if waveform.dim() == 0:
        raise ValueError("The waveform must have a time dimension, (..., time).")


def _stft_power(
    waveform: torch.Tensor,
    window: torch.Tensor,
    hop_length: int,
    center: bool,
    pad_mode: str,
    power: float,
) -> torch.Tensor:
    """``(..., time) -> (..., n_fft // 2 + 1, frames)`` with a given ``(n_fft,)`` window."""
    n_fft = window.shape[-1]
    _check_waveform(waveform)
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {', '.join(PAD_MODES)}, got {pad_mode!r}.")
    if power <= 0:
        raise ValueError(f"power must be positive (1 for magnitude, 2 for power), got {power}.")
    if center:
        half, length = n_fft // 2, waveform.shape[-1]
        if pad_mode in ("reflect", "circular") and length <= half:
            raise ValueError(
                f"center=True with pad_mode={pad_mode!r} pads n_fft // 2 = {half} samples taken from the signal "
                f"itself, so it needs more than {half} samples; got {length}. "
                "Use pad_mode='constant' or a smaller n_fft."
            )
        if length == 0:
            raise ValueError("The waveform is empty.")
        flat = waveform.reshape(-1, 1, length)
        waveform = torch.nn.functional.pad(flat, (half, half), mode=pad_mode).reshape(*waveform.shape[:-1], -1)
    elif waveform.shape[-1] < n_fft:
        raise ValueError(
            f"center=False needs at least n_fft = {n_fft} samples for one frame, got {waveform.shape[-1]}. "
            "Use center=True or a smaller n_fft."
        )
    spectrum = torch.fft.rfft(frame(waveform, n_fft, hop_length) * window.to(waveform.dtype))
    squared = spectrum.real.square() + spectrum.imag.square()  # smooth everywhere, unlike abs()
    result = squared if power == 2.0 else squared.pow(power / 2)
    return result.transpose(-1, -2)


def power_spectrogram(
    waveform: torch.Tensor,
    n_fft: int = 400,
    hop_length: int = 160,
    win_length: int | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    power: float = 2.0,
    window: torch.Tensor | None = None,
) -> torch.Tensor:
    """``|STFT|**power`` of ``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)``.

    Periodic Hann window of ``win_length`` (default ``n_fft``) zero-padded to ``n_fft`` at its centre.
    ``center=True`` pads ``n_fft // 2`` samples on each side (``pad_mode``: reflect, constant,
    replicate or circular), so that frame ``t`` is centred on sample ``t * hop_length`` and there are
    ``1 + time // hop_length`` frames; ``center=False`` gives ``1 + (time - n_fft) // hop_length``.
    Equal to ``torchaudio.transforms.Spectrogram`` and ``torch.stft`` with the same arguments.
    ``window``: the ``(n_fft,)`` window, precomputed (as a module keeps it), instead of the Hann one.
    """
    _check_waveform(waveform)
    if window is None:
        window = _padded_window(n_fft, win_length, waveform.dtype, waveform.device)
    return _stft_power(waveform, window, hop_length, center, pad_mode, power)


def _check_scale(scale: str) -> None:
    if scale not in MEL_SCALES:
        raise ValueError(f"scale must be 'htk' or 'slaney', got {scale!r}.")


def _as_float_tensor(x: torch.Tensor | float) -> torch.Tensor:
    """Tensors keep their floating dtype (integers become float64); Python numbers become float64."""
    if not isinstance(x, torch.Tensor):
        return torch.as_tensor(x, dtype=torch.float64)
    return x if x.is_floating_point() else x.to(torch.float64)


def hz_to_mel(freq: torch.Tensor | float, scale: str = "htk") -> torch.Tensor:
    """Hertz to mel, elementwise (same shape; Python numbers give a float64 tensor).

    ``"htk"``: ``2595 log10(1 + f / 700)``. ``"slaney"``: ``3 f / 200`` below 1 kHz,
    ``15 + 27 ln(f / 1000) / ln 6.4`` above (librosa's default, ``htk=False``).
    """
    _check_scale(scale)
    freq = _as_float_tensor(freq)
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + freq / 700.0)
    linear = freq / _SLANEY_HZ_PER_MEL
    # clamp so that the branch torch.where discards has finite values and gradients
    logarithmic = _SLANEY_BREAK_MEL + torch.log(freq.clamp(min=_SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP
    return torch.where(freq >= _SLANEY_BREAK_HZ, logarithmic, linear)


def mel_to_hz(mel: torch.Tensor | float, scale: str = "htk") -> torch.Tensor:
    """Mel to hertz, elementwise: the inverse of :func:`hz_to_mel`."""
    _check_scale(scale)
    mel = _as_float_tensor(mel)
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    linear = mel * _SLANEY_HZ_PER_MEL
    logarithmic = _SLANEY_BREAK_HZ * torch.exp(_SLANEY_LOG_STEP * (mel.clamp(min=_SLANEY_BREAK_MEL) - _SLANEY_BREAK_MEL))
    return torch.where(mel >= _SLANEY_BREAK_MEL, logarithmic, linear)


def mel_filterbank(
    n_freqs: int,
    sample_rate: int,
    n_mels: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: str = "htk",
    norm: str | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Triangular Mel filters, ``(n_freqs, n_mels)``: ``mel_power = fbank.T @ power_spectrogram``.

    ``n_mels + 2`` edges equally spaced on the ``scale`` between ``f_min`` and ``f_max`` (default
    ``sample_rate / 2``); filter ``m`` rises from edge ``m`` to 1 at edge ``m + 1`` and falls to 0 at
    edge ``m + 2``. The ``n_freqs`` bins are spread evenly over 0 to ``sample_rate / 2``.
    (torchaudio spreads them to ``sample_rate // 2``: the same for even rates.)
    ``norm="slaney"`` scales each triangle to unit area (``2 / width in Hz``); ``None`` keeps peak 1.
    Computed in float64, returned in ``dtype`` (default: torch's default dtype).
    Equal to ``torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate,
    norm, mel_scale=scale)`` and to ``librosa.filters.mel(sr=sample_rate, n_fft=2 * (n_freqs - 1),
    n_mels=n_mels, fmin=f_min, fmax=f_max, htk=scale == "htk", norm=norm).T``.
    """
    if norm not in (None, "slaney"):
        raise ValueError(f"norm must be None or 'slaney', got {norm!r}.")
    edges = mel_edges(n_mels, sample_rate, f_min, f_max, scale, device)
    fbank = triangular_filterbank(bin_frequencies(n_freqs, sample_rate, device), edges)
    if norm == "slaney":
        fbank = fbank * (2.0 / (edges[2:] - edges[:-2]))
    return fbank.to(dtype or torch.get_default_dtype())


def bin_frequencies(n_freqs: int, sample_rate: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The frequencies (Hz, float64) of ``n_freqs`` STFT bins spread evenly over 0 to ``sample_rate / 2``."""
    return torch.linspace(0, sample_rate / 2, n_freqs, dtype=torch.float64, device=device)


def mel_edges(n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None, scale: str = "htk",
              device: torch.device | str | None = None) -> torch.Tensor:
    """The ``n_mels + 2`` edges (Hz, float64) of :func:`mel_filterbank`'s triangles: equally spaced
    on the Mel ``scale`` from ``f_min`` to ``f_max`` (default ``sample_rate / 2``)."""
    _check_scale(scale)
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max:
        raise ValueError(f"Need 0 <= f_min < f_max, got f_min={f_min}, f_max={f_max}.")
    mels = torch.linspace(hz_to_mel(f_min, scale).item(), hz_to_mel(f_max, scale).item(), n_mels + 2,
                          dtype=torch.float64, device=device)
    return mel_to_hz(mels, scale)


def triangular_filterbank(freqs: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Triangles with peak 1, filter ``m`` rising from ``edges[m]`` to ``edges[m + 1]`` and falling to
    ``edges[m + 2]``, evaluated at ``freqs`` ``(..., n_freqs)`` -> ``(..., n_freqs, len(edges) - 2)``."""
    freqs = freqs.unsqueeze(-1)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    return torch.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)).clamp(min=0)


def mel_spectrogram(
    waveform: torch.Tensor,
    sample_rate: int,
    n_fft: int = 400,
    hop_length: int = 160,
    n_mels: int = 40,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: str = "htk",
    norm: str | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    window: torch.Tensor | None = None,
    fbank: torch.Tensor | None = None,
    spectrum: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Mel power spectrogram ``(..., time) -> (..., n_mels, frames)``.

    :func:`power_spectrogram` followed by :func:`mel_filterbank`; equal to
    ``torchaudio.transforms.MelSpectrogram`` with the same arguments (``mel_scale=scale``).
    ``window`` and ``fbank`` ``(n_fft // 2 + 1, n_mels)``: precomputed, as a module keeps them; a
    batch of filterbanks ``(batch, n_fft // 2 + 1, n_mels)`` gives each waveform its own (as
    vocal tract length perturbation does, :class:`tutorial_utils.augment.RandomVTLP`). ``spectrum``:
    a function applied to the power spectrogram before the filterbank (for example
    :class:`tutorial_utils.augment.RandomPitch`).
    """
    if fbank is None:
        fbank = mel_filterbank(n_fft // 2 + 1, sample_rate, n_mels, f_min, f_max, scale, norm,
                               dtype=waveform.dtype, device=waveform.device)
    spec = power_spectrogram(waveform, n_fft, hop_length, center=center, pad_mode=pad_mode, window=window)
    if spectrum is not None:
        spec = spectrum(spec)
    return fbank.to(spec.dtype).transpose(-2, -1) @ spec


def power_to_db(power: torch.Tensor, amin: float = 1e-10, top_db: float | None = None) -> torch.Tensor:
    """Decibels ``10 log10(max(power, amin))`` of ``(..., freq, frames)``, same shape (reference 1).

    With ``top_db``, values are raised to at least ``top_db`` below the maximum **of each
    ``(freq, frames)`` matrix**, so every example (and channel) in a batch gets its own floor.
    librosa's ``power_to_db`` uses the maximum of the whole array it is given (the same for one
    example); torchaudio's ``AmplitudeToDB`` uses the maximum over the last *three* dimensions, so a
    ``(batch, freq, frames)`` input would be clipped against the loudest example of the batch.
    """
    db = 10.0 * torch.log10(power.clamp(min=amin))
    if top_db is None:
        return db
    if top_db < 0:
        raise ValueError(f"top_db must be non-negative, got {top_db}.")
    peak = db.amax(dim=(-2, -1), keepdim=True)
    return torch.maximum(db, peak - top_db)


def log_mel_spectrogram(
    waveform: torch.Tensor,
    sample_rate: int,
    n_fft: int = 400,
    hop_length: int = 160,
    n_mels: int = 40,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: str = "htk",
    norm: str | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    eps: float = 1e-6,
    window: torch.Tensor | None = None,
    fbank: torch.Tensor | None = None,
) -> torch.Tensor:
    """Natural log of the Mel power, ``log(mel + eps)``: ``(..., time) -> (..., n_mels, frames)``.

    This is what the book's models consume (``torchaudio.transforms.MFCC(log_mels=True)`` uses the
    same ``log(mel + 1e-6)``). For decibels, use ``power_to_db(mel_spectrogram(...), top_db=...)``;
    natural log and dB differ by the factor ``10 / ln 10`` (and the floor), which per-utterance
    :func:`normalize` removes.
    """
    mel = mel_spectrogram(waveform, sample_rate, n_fft, hop_length, n_mels, f_min, f_max, scale, norm,
                          center, pad_mode, window, fbank)
    return torch.log(mel + eps)


def dct_matrix(
    n_mfcc: int, n_mels: int, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Orthonormal DCT-II basis, ``(n_mels, n_mfcc)``: ``mfcc = dct.T @ log_mel``.

    Column ``k`` is ``a_k cos(pi k (m + 1/2) / n_mels)``, ``a_0 = sqrt(1 / n_mels)``,
    ``a_k = sqrt(2 / n_mels)``; equal to ``torchaudio.functional.create_dct(n_mfcc, n_mels, "ortho")``.
    """
    if not 1 <= n_mfcc <= n_mels:
        raise ValueError(f"Need 1 <= n_mfcc <= n_mels, got n_mfcc={n_mfcc}, n_mels={n_mels}.")
    m = torch.arange(n_mels, dtype=torch.float64, device=device).unsqueeze(1)
    k = torch.arange(n_mfcc, dtype=torch.float64, device=device)
    basis = torch.cos(math.pi * k * (m + 0.5) / n_mels) * math.sqrt(2.0 / n_mels)
    basis[:, 0] /= math.sqrt(2.0)
    return basis.to(dtype or torch.get_default_dtype())


def mfcc(
    waveform: torch.Tensor,
    sample_rate: int,
    n_mfcc: int = 13,
    n_fft: int = 400,
    hop_length: int = 160,
    n_mels: int = 40,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: str = "htk",
    norm: str | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    top_db: float | None = 80.0,
    window: torch.Tensor | None = None,
    fbank: torch.Tensor | None = None,
    dct: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mel-frequency cepstral coefficients ``(..., time) -> (..., n_mfcc, frames)``.

    The orthonormal DCT-II of the Mel power in decibels (``power_to_db(mel, top_db=top_db)``, clipped
    per example). Equal to ``torchaudio.transforms.MFCC(sample_rate, n_mfcc, melkwargs=...)`` and to
    ``librosa.feature.mfcc(..., htk=scale == "htk", mel_norm=norm, pad_mode=pad_mode)``.
    """
    mel = mel_spectrogram(waveform, sample_rate, n_fft, hop_length, n_mels, f_min, f_max, scale, norm,
                          center, pad_mode, window, fbank)
    if dct is None:
        dct = dct_matrix(n_mfcc, n_mels, mel.dtype, mel.device)
    return dct.to(mel.dtype).T @ power_to_db(mel, top_db=top_db)


def deltas(features: torch.Tensor, width: int = 5) -> torch.Tensor:
    """Regression slope over ``width`` frames, ``(..., n_feat, frames)`` -> same shape.

    ``d_t = sum_{n=1}^{N} n (c_{t+n} - c_{t-n}) / (2 sum_{n=1}^{N} n^2)`` with ``N = width // 2``;
    the first and last frames are repeated at the edges. Equal to
    ``torchaudio.functional.compute_deltas(features, win_length=width)``.
    """
    if width < 3 or width % 2 == 0:
        raise ValueError(f"width must be an odd number >= 3, got {width}.")
    half, frames = width // 2, features.shape[-1]
    t = torch.arange(frames, device=features.device)
    slope = sum(
        n * (features[..., (t + n).clamp(max=frames - 1)] - features[..., (t - n).clamp(min=0)])
        for n in range(1, half + 1)
    )
    return slope / (2 * sum(n * n for n in range(1, half + 1)))


def pcen(energy: torch.Tensor, smoothing: float = 0.025, gain: float = 0.98, bias: float = 2.0, power: float = 0.5,
         eps: float = 1e-6) -> torch.Tensor:
    """Per-channel energy normalisation (Wang et al. 2017) of Mel energies ``(..., n_mels, frames)``,
    same shape: a running mean ``M[t] = (1 - s) M[t - 1] + s E[t]`` per band (``M[-1] = E[0]``; ``s =
    smoothing``, 0.025 is a time constant of about 0.4 s at a 10 ms hop), then automatic gain control
    and root compression, ``(E / (eps + M)^gain + bias)^power - bias^power``. Equal to
    ``librosa.pcen(E, b=s, gain=gain, bias=bias, power=power, eps=eps, zi=(1 - s) * E[..., :1])``."""
    running, smoothed = energy[..., 0], []
    for t in range(energy.shape[-1]):
        running = (1 - smoothing) * running + smoothing * energy[..., t]
        smoothed.append(running)
    smoothed = torch.stack(smoothed, dim=-1)
    return (energy / (eps + smoothed) ** gain + bias) ** power - bias**power


def unit_rms(waveforms: torch.Tensor, lengths: torch.Tensor | None = None, floor: float = 1e-8) -> torch.Tensor:
    """Scale each waveform ``(batch, samples)`` to a root mean square of 1, the mean taken over its
    first ``lengths[i]`` samples (default: all; zero padding after them stays zero)."""
    energy = waveforms.pow(2).sum(-1, keepdim=True)
    count = waveforms.shape[-1] if lengths is None else lengths.unsqueeze(-1).clamp(min=1)
    return waveforms / (energy / count).sqrt().clamp(min=floor)


def normalize(features: torch.Tensor, dim: int = -1, eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance mean and variance normalisation (CMVN) along ``dim`` (default: frames).

    ``(x - mean) / sqrt(var + eps)`` with the population variance (divide by the number of frames);
    same shape as ``features``, e.g. ``(batch, n_mels, frames)``.
    """
    mean = features.mean(dim, keepdim=True)
    var = features.var(dim, correction=0, keepdim=True)
    return (features - mean) / torch.sqrt(var + eps)


class LogMelSpectrogram(nn.Module):
    """:func:`log_mel_spectrogram` as a module: ``(..., time) -> (..., n_mels, frames)``.

    The window and the filterbank are (non-persistent) buffers, so ``.to(device)`` moves them and
    they stay out of ``state_dict``. With ``normalize=True`` the output is :func:`normalize`-d per
    utterance over frames.
    """

    def __init__(
        self,
        sample_rate: int,
        n_fft: int = 400,
        hop_length: int = 160,
        n_mels: int = 40,
        f_min: float = 0.0,
        f_max: float | None = None,
        normalize: bool = False,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.sample_rate, self.n_fft, self.hop_length, self.n_mels = sample_rate, n_fft, hop_length, n_mels
        self.normalize, self.eps = normalize, eps
        self.register_buffer("window", hann_window(n_fft), persistent=False)
        self.register_buffer("fbank", mel_filterbank(n_fft // 2 + 1, sample_rate, n_mels, f_min, f_max),
                             persistent=False)

    def mel_power(self, waveform: torch.Tensor, fbank: torch.Tensor | None = None,
                  spectrum: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """The Mel power before the log, ``(..., time) -> (..., n_mels, frames)``; ``fbank``:
        filterbanks to use instead of the module's, e.g. one per waveform ``(batch, n_fft // 2 + 1,
        n_mels)``; ``spectrum``: applied to the power spectrogram first (see :func:`mel_spectrogram`)."""
        return mel_spectrogram(waveform, self.sample_rate, self.n_fft, self.hop_length, self.n_mels,
                               window=self.window, fbank=self.fbank if fbank is None else fbank, spectrum=spectrum)

    def forward(self, waveform: torch.Tensor, fbank: torch.Tensor | None = None,
                spectrum: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """``fbank``, ``spectrum``: as for :meth:`mel_power`."""
        log_mel = torch.log(self.mel_power(waveform, fbank, spectrum) + self.eps)
        return normalize(log_mel) if self.normalize else log_mel

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, n_fft={self.n_fft}, hop_length={self.hop_length}, "
                f"n_mels={self.n_mels}, normalize={self.normalize}")


class MFCC(nn.Module):
    """:func:`mfcc` as a module: ``(..., time) -> (..., n_mfcc, frames)``.

    Window, filterbank and DCT matrix are (non-persistent) buffers. With ``normalize=True`` the
    output is :func:`normalize`-d per utterance over frames.
    """

    def __init__(
        self,
        sample_rate: int,
        n_mfcc: int = 13,
        n_fft: int = 400,
        hop_length: int = 160,
        n_mels: int = 40,
        f_min: float = 0.0,
        f_max: float | None = None,
        top_db: float | None = 80.0,
        normalize: bool = False,
    ) -> None:
        super().__init__()
        self.sample_rate, self.n_mfcc, self.n_fft, self.hop_length = sample_rate, n_mfcc, n_fft, hop_length
        self.n_mels, self.top_db, self.normalize = n_mels, top_db, normalize
        self.register_buffer("window", hann_window(n_fft), persistent=False)
        self.register_buffer("fbank", mel_filterbank(n_fft // 2 + 1, sample_rate, n_mels, f_min, f_max),
                             persistent=False)
        self.register_buffer("dct", dct_matrix(n_mfcc, n_mels), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        coefficients = mfcc(waveform, self.sample_rate, self.n_mfcc, self.n_fft, self.hop_length, self.n_mels,
                            top_db=self.top_db, window=self.window, fbank=self.fbank, dct=self.dct)
        return normalize(coefficients) if self.normalize else coefficients

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, n_mfcc={self.n_mfcc}, n_fft={self.n_fft}, "
                f"hop_length={self.hop_length}, n_mels={self.n_mels}, top_db={self.top_db}, "
                f"normalize={self.normalize}")
