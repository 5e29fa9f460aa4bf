"""Augmentation: time shift, coloured and recorded noise at a chosen SNR, SpecAugment masks."""

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from tutorial_utils import augment


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- time shift


def test_time_shift_moves_samples_and_keeps_the_length():
    x = torch.arange(1.0, 11.0).repeat(3, 1)  # (3, 10)
    shifted = augment.time_shift(x, torch.tensor([3, -2, 0]))
    assert shifted.shape == x.shape
    assert shifted[0].tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]
    assert shifted[1].tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 0, 0]
    assert torch.equal(shifted[2], x[2])


def test_random_time_shift_is_seeded_bounded_and_off_in_eval_mode():
    x = torch.randn(16, 100)
    a = augment.RandomTimeShift(5, generator=gen(1))(x)
    b = augment.RandomTimeShift(5, generator=gen(1))(x)
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    # every row is the input shifted by at most 5 samples: its middle part appears in the output
    for row, out in zip(x, a):
        assert any(torch.equal(out[10:90], row[10 - s : 90 - s]) for s in range(-5, 6))
    assert torch.equal(augment.RandomTimeShift(5).eval()(x), x)


# --- noise


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
def test_colored_noise_has_unit_power_and_the_right_spectral_slope(color):
    exponent = augment.NOISE_EXPONENTS[color]
    noise = augment.colored_noise(64, 4096, exponent, generator=gen())
    assert torch.allclose(augment.signal_power(noise), torch.ones(64), atol=1e-5)
    assert noise.mean(dim=1).abs().max() < 1e-5
    psd = torch.fft.rfft(noise).abs().pow(2).mean(dim=0)[1:].numpy()
    frequencies = np.arange(1, len(psd) + 1)
    slope = np.polyfit(np.log(frequencies), np.log(psd), 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.05)


def test_mixing_hits_the_requested_snr_within_a_tenth_of_a_decibel():
    signal = torch.randn(5, 8000, generator=gen(1)) * torch.linspace(0.01, 1, 5).view(-1, 1)
    noise = augment.colored_noise(5, 8000, 1.0, generator=gen(2)) * 3
    requested = torch.tensor([-5.0, 0.0, 5.0, 17.5, 30.0])
    mixed = augment.mix_at_snr(signal, noise, requested)
    measured = augment.snr_db(signal, mixed - signal)
    assert torch.allclose(measured, requested, atol=0.1)


def test_add_noise_draws_snrs_in_range_and_spares_a_fraction():
    x = torch.randn(200, 800, generator=gen(3))
    module = augment.AddNoise(snr_db=(5, 30), p=0.5, generator=gen(4))
    y = module(x)
    changed = (y != x).any(dim=1)
    assert 60 < changed.sum() < 140
    measured = augment.snr_db(x[changed], (y - x)[changed])
    assert measured.min() > 5 - 0.1 and measured.max() < 30 + 0.1
    assert torch.equal(module.eval()(x), x)


def write_noise(folder, seconds: float = 2.0, rate: int = 16000):
    folder.mkdir(parents=True)
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(folder / "hum.wav", 0.3 * np.sin(2 * np.pi * 50 * t), rate)


@pytest.mark.parametrize("layout", ["speech_commands_noise", "SpeechCommands/speech_commands_v0.02/_background_noise_"])
def test_noise_recordings_are_found_and_resampled(tmp_path, layout):
    write_noise(tmp_path / layout)
    assert [p.name for p in augment.find_noise_recordings(tmp_path)] == ["hum.wav"]
    (recording,) = augment.load_noise_recordings(8000, tmp_path)
    assert recording.shape == (16000,)  # 2 s at 8 kHz
    assert augment.load_noise_recordings(8000, tmp_path / "empty") == []


def test_recorded_noise_is_mixed_at_the_requested_snr(tmp_path):
    write_noise(tmp_path / "speech_commands_noise")
    recordings = augment.load_noise_recordings(8000, tmp_path)
    module = augment.AddNoise(snr_db=(10, 10), p=1.0, colors=(), recordings=recordings, generator=gen(5))
    x = torch.randn(8, 4000, generator=gen(6))
    noise = module(x) - x
    assert torch.allclose(augment.snr_db(x, noise), torch.full((8,), 10.0), atol=0.1)
    # the noise is a stretch of the 50 Hz hum: almost all its energy at 50 Hz (bin 25 of 4000 at 8 kHz)
    spectrum = torch.fft.rfft(noise).abs().pow(2)
    assert (spectrum[:, 25] / spectrum.sum(dim=1)).min() > 0.9


def test_add_noise_rejects_recordings_shorter_than_the_clips():
    module = augment.AddNoise(colors=(), recordings=[torch.randn(100)], p=1.0)
    with pytest.raises(ValueError, match="at least 800 samples"):
        module(torch.randn(2, 800))


def test_add_noise_rejects_unknown_colours():
    with pytest.raises(ValueError, match="purple"):
        augment.AddNoise(colors=("purple",))


# --- SpecAugment


def test_masks_zero_exactly_the_chosen_bins():
    spec = torch.ones(3, 40, 50)
    widths, starts = torch.tensor([0, 5, 7]), torch.tensor([3, 10, 33])
    masked = augment.mask_along_axis(spec, starts, widths, axis=-2)
    rows = (masked == 0).all(dim=2)  # (batch, n_mels): fully masked Mel bins
    assert rows.sum(dim=1).tolist() == [0, 5, 7]
    assert rows[1, 10:15].all() and rows[2, 33:40].all()
    masked = augment.mask_along_axis(spec, starts, widths, axis=-1)
    assert (masked == 0).all(dim=1).sum(dim=1).tolist() == [0, 5, 7]


@pytest.mark.parametrize("axis", [-2, -1])
def test_random_masks_match_torchaudio(axis):
    spec = torch.randn(8, 40, 101)
    torch.manual_seed(7)
    expected = torchaudio.functional.mask_along_axis_iid(spec, 10, 0.0, spec.dim() + axis)
    assert torch.equal(augment.random_mask(spec, 10, axis, generator=gen(7)), expected)


def test_spec_augment_masks_in_training_only():
    spec = torch.randn(16, 40, 101)
    module = augment.SpecAugment(freq_mask_param=8, time_mask_param=12, generator=gen(8))
    out = module(spec)
    freq_masked = (out == 0).all(dim=2).sum(dim=1)
    time_masked = (out == 0).all(dim=1).sum(dim=1)
    assert freq_masked.max() < 8 and time_masked.max() < 12 and freq_masked.sum() > 0
    assert torch.equal(module.eval()(spec), spec)


# --- speed


def dominant_frequency(x: torch.Tensor, rate: int) -> float:
    spectrum = torch.fft.rfft(x * torch.hann_window(len(x))).abs()
    return float(spectrum.argmax()) * rate / len(x)


@pytest.mark.parametrize("factor", [0.8, 1.0, 1.25])
def test_change_speed_scales_pitch_and_duration(factor):
    rate = 8000
    t = torch.arange(8000) / rate
    tone = torch.sin(2 * torch.pi * 400 * t) * ((t > 0.3) & (t < 0.7))  # 0.4 s burst in the middle
    out = augment.change_speed(tone.unsqueeze(0), torch.tensor([factor]))[0]
    assert out.shape == tone.shape
    assert dominant_frequency(out, rate) == pytest.approx(400 * factor, abs=3)
    active = (out.abs() > 0.05).nonzero()
    duration = (active.max() - active.min()).item() / rate
    assert duration == pytest.approx(0.4 / factor, abs=0.005)


def test_random_speed_is_seeded_and_off_in_eval_mode():
    x = torch.randn(4, 1000)
    a = augment.RandomSpeed((0.9, 1.1), generator=gen(9))(x)
    assert torch.equal(a, augment.RandomSpeed((0.9, 1.1), generator=gen(9))(x)) and not torch.equal(a, x)
    assert torch.equal(augment.RandomSpeed().eval()(x), x)
    assert torch.allclose(augment.change_speed(x, torch.ones(4)), x)


# --- vocal tract length perturbation


def test_vtlp_warp_scales_low_frequencies_and_keeps_the_band():
    from tutorial_utils import features

    freqs = features.bin_frequencies(129, 8000)
    warps = torch.tensor([0.8, 0.9, 1.0, 1.1, 1.2])
    warped = augment.vtlp_warp(freqs, warps, nyquist=4000.0)
    assert warped.shape == (5, 129)
    torch.testing.assert_close(warped[2], freqs)  # warp 1: the identity
    torch.testing.assert_close(warped[:, 0], torch.zeros(5, dtype=torch.float64))
    torch.testing.assert_close(warped[:, -1], torch.full((5,), 4000.0, dtype=torch.float64))
    assert (warped.diff(dim=1) > 0).all()  # increasing: no two frequencies swap places
    low = freqs < 2000  # below every knee (0.6 * 4000 * min(w, 1) / w >= 2000 for w <= 1.2)
    torch.testing.assert_close(warped[:, low], warps[:, None].double() * freqs[low])
    # Continuous at the knee: the largest jump between neighbouring bins stays a bin's worth.
    assert warped.diff(dim=1).max() < 1.3 * (freqs[1] - freqs[0])


def test_vtlp_filterbank_at_warp_one_is_the_mel_filterbank():
    from tutorial_utils import features

    banks = augment.vtlp_filterbanks(torch.tensor([1.0, 1.0]), 8000, 256, 40)
    assert banks.shape == (2, 129, 40)
    torch.testing.assert_close(banks[0], features.mel_filterbank(129, 8000, 40, dtype=torch.float64))


def test_vtlp_moves_a_tone_to_the_band_of_the_warped_frequency():
    from tutorial_utils import features

    t = torch.arange(8000) / 8000

    def loudest_band(frequency: float, fbank: torch.Tensor) -> int:
        mel = features.mel_spectrogram(torch.sin(2 * torch.pi * frequency * t), 8000, 256, 80, 40, fbank=fbank.float())
        return int(mel.mean(dim=-1).argmax())

    plain = features.mel_filterbank(129, 8000, 40)
    warped = augment.vtlp_filterbanks(torch.tensor([1.1]), 8000, 256, 40)[0]
    assert loudest_band(1000.0, warped) == loudest_band(1100.0, plain) != loudest_band(1000.0, plain)


def test_mel_spectrogram_with_one_filterbank_per_waveform():
    from tutorial_utils import features

    waveforms = torch.randn(3, 800, generator=gen(4))
    banks = augment.vtlp_filterbanks(torch.tensor([0.9, 1.0, 1.1]), 8000, 256, 40).float()
    batched = features.mel_spectrogram(waveforms, 8000, 256, 80, 40, fbank=banks)
    for waveform, bank, mel in zip(waveforms, banks, batched):
        torch.testing.assert_close(features.mel_spectrogram(waveform, 8000, 256, 80, 40, fbank=bank), mel)


def test_random_vtlp_is_seeded_in_range_and_off_in_eval_mode_or_at_one():
    vtlp = augment.RandomVTLP((0.9, 1.1), 8000, 256, 40, generator=gen(5))
    first = vtlp(4)
    assert first.shape == (4, 129, 40)
    again = augment.RandomVTLP((0.9, 1.1), 8000, 256, 40, generator=gen(5))(4)
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first[0], first[1])
    vtlp.eval()
    assert vtlp(4) is None
    assert augment.RandomVTLP((1.0, 1.0), 8000, 256, 40)(4) is None


def test_front_end_with_vtlp_trains_warped_and_evaluates_plain():
    from tutorial_utils.front_end import AugmentConfig, FrontEnd, FrontEndConfig

    waveforms = torch.randn(2, 8000, generator=gen(6))
    only_vtlp = AugmentConfig(speed=(1.0, 1.0), time_shift=0.0, noise_p=0.0, noise_recordings=False,
                              vtlp=(0.9, 1.1), freq_mask=0, time_mask=0)
    front_end, plain = FrontEnd(FrontEndConfig(), only_vtlp), FrontEnd(FrontEndConfig())
    assert not torch.allclose(front_end(waveforms), plain(waveforms))
    front_end.eval()
    torch.testing.assert_close(front_end(waveforms), plain(waveforms))


def test_front_end_with_pcen_in_place_of_the_log():
    from tutorial_utils import features
    from tutorial_utils.front_end import FrontEnd, FrontEndConfig

    waveforms = torch.randn(2, 8000, generator=gen(7))
    front_end = FrontEnd(FrontEndConfig(normalize="pcen"))
    scaled = waveforms / waveforms.pow(2).mean(dim=-1, keepdim=True).sqrt()
    expected = features.pcen(features.mel_spectrogram(scaled, 8000, 256, 80, 40, window=front_end.log_mel.window))
    torch.testing.assert_close(front_end(waveforms), expected)
    torch.testing.assert_close(front_end(10 * waveforms), expected)  # unit RMS first: loudness does not matter


# --- pitch, formants kept


def vowel(f0: float, seconds: float = 0.5) -> torch.Tensor:
    """Harmonics of ``f0`` under two formants (700 and 1800 Hz), at 8 kHz: a crude steady vowel."""
    t = torch.arange(round(8000 * seconds), dtype=torch.float64) / 8000
    harmonics = torch.arange(1, int(3900 / f0) + 1, dtype=torch.float64)
    envelope = torch.exp(-((harmonics * f0 - 700) / 400) ** 2) + 0.5 * torch.exp(-((harmonics * f0 - 1800) / 500) ** 2)
    return (envelope.unsqueeze(1) * torch.sin(2 * torch.pi * f0 * harmonics.unsqueeze(1) * t)).sum(0)


def pitch_period(power: torch.Tensor) -> int:
    """The quefrency (samples) of the strongest cepstral peak between 3 and 12.5 ms, averaged over frames."""
    cepstrum = torch.fft.irfft(torch.log(power + 1e-10), n=256, dim=-2).mean(-1)
    return int(cepstrum[..., 24:100].argmax()) + 24


def test_spectral_envelope_keeps_low_quefrencies_and_removes_high_ones():
    k = torch.arange(129, dtype=torch.float64)
    smooth = 2.0 + torch.cos(torch.pi * k * 3 / 128) - 0.5 * torch.cos(torch.pi * k * 10 / 128)
    ripple = 0.7 * torch.cos(torch.pi * k * 40 / 128)  # a "pitch" of 40 samples (200 Hz at 8 kHz)
    log_power = (smooth + ripple).view(1, 129, 1).expand(2, 129, 3)
    torch.testing.assert_close(augment.spectral_envelope(log_power, cutoff=20), smooth.view(1, 129, 1).expand(2, 129, 3))


def test_shift_pitch_by_one_returns_the_power():
    from tutorial_utils import features

    power = features.power_spectrogram(torch.randn(3, 4000, generator=gen(8)), 256, 80)
    torch.testing.assert_close(augment.shift_pitch(power, torch.ones(3)), power, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_shift_pitch_moves_the_harmonics_and_keeps_the_formants(factor):
    from tutorial_utils import features

    f0 = 150.0
    power = features.power_spectrogram(vowel(f0).unsqueeze(0), 256, 80)  # (1, 129, frames)
    shifted = augment.shift_pitch(power, torch.tensor([factor]))
    assert pitch_period(power) == pytest.approx(8000 / f0, abs=1)
    assert pitch_period(shifted) == pytest.approx(8000 / (f0 * factor), abs=1)
    envelope = lambda p: augment.spectral_envelope(torch.log(p + 1e-10), 20).mean(-1)
    moved = (envelope(shifted) - envelope(power))[..., 10:110].abs().max()  # 300-3400 Hz, the formants' range
    assert moved < 0.1 * (envelope(power).max() - envelope(power).min())
    resampled = features.power_spectrogram(augment.change_speed(vowel(f0).unsqueeze(0), torch.tensor([factor])), 256, 80)
    assert (envelope(resampled) - envelope(power))[..., 10:110].abs().max() > 3 * moved  # speed moves the formants too


def test_random_pitch_is_seeded_and_off_in_eval_mode_or_at_zero():
    from tutorial_utils import features

    power = features.power_spectrogram(torch.randn(4, 4000, generator=gen(9)), 256, 80)
    first = augment.RandomPitch(4.0, generator=gen(10))(power)
    torch.testing.assert_close(first, augment.RandomPitch(4.0, generator=gen(10))(power))
    assert not torch.allclose(first, power)
    pitch = augment.RandomPitch(4.0).eval()
    assert pitch(power) is power
    assert augment.RandomPitch(0.0)(power) is power


def test_front_end_with_pitch_trains_shifted_and_evaluates_plain():
    from tutorial_utils.front_end import AugmentConfig, FrontEnd, FrontEndConfig

    waveforms = torch.randn(2, 8000, generator=gen(11))
    only_pitch = AugmentConfig(speed=(1.0, 1.0), time_shift=0.0, noise_p=0.0, noise_recordings=False,
                               pitch_semitones=4.0, freq_mask=0, time_mask=0)
    front_end, plain = FrontEnd(FrontEndConfig(), only_pitch), FrontEnd(FrontEndConfig())
    assert not torch.allclose(front_end(waveforms), plain(waveforms))
    front_end.eval()
    torch.testing.assert_close(front_end(waveforms), plain(waveforms))
