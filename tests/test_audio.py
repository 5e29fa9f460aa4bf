"""Audio loading (soundfile, resampling, downmixing, clear errors) and fix_length."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from tutorial_utils import config
from tutorial_utils.data import AudioFileError, fix_length, load_audio

INT16_STEP = 1 / 32768  # quantisation step of 16-bit PCM


def sine(frequency: float, seconds: float, rate: int) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)


def test_reads_int16_wav_and_flac_as_float32(tmp_path):
    expected = sine(440, 0.1, 8000)
    for name in ("tone.wav", "tone.flac"):
        soundfile.write(tmp_path / name, expected, 8000, subtype="PCM_16")
        waveform, rate = load_audio(tmp_path / name, sample_rate=8000)
        assert rate == 8000 and waveform.dtype == torch.float32 and waveform.shape == (800,)
        assert np.abs(waveform.numpy() - expected).max() <= INT16_STEP


def test_missing_file_names_it_and_the_fix(tmp_path):
    with pytest.raises(AudioFileError, match=r"nothere\.wav not found.*ensure_fsdd\(\)"):
        load_audio(tmp_path / "nothere.wav")
    assert issubclass(AudioFileError, ValueError)


@pytest.mark.parametrize("content", [b"", b"RIFF" + bytes(range(256)) * 4, np.random.default_rng(0).bytes(3000)])
def test_corrupt_file_is_not_a_readable_wav(tmp_path, content):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=r"broken\.wav is not a readable WAV/FLAC file"):
        load_audio(path)


def test_wrong_rate_names_both_rates_and_resample(tmp_path):
    soundfile.write(tmp_path / "wide.wav", sine(440, 0.1, 16000), 16000)
    with pytest.raises(AudioFileError, match=r"wide\.wav is sampled at 16000 Hz, not 8000 Hz.*resample=True"):
        load_audio(tmp_path / "wide.wav", sample_rate=8000)


def test_resample_matches_torchaudio_and_keeps_the_pitch(tmp_path):
    soundfile.write(tmp_path / "wide.wav", sine(440, 0.5, 16000), 16000, subtype="FLOAT")
    waveform, rate = load_audio(tmp_path / "wide.wav", sample_rate=8000, resample=True)
    original, _ = load_audio(tmp_path / "wide.wav")
    assert rate == 8000 and waveform.shape == (4000,) and waveform.dtype == torch.float32
    torch.testing.assert_close(waveform, torchaudio.functional.resample(original, 16000, 8000), rtol=0, atol=1e-6)
    peak_hz = torch.fft.rfft(waveform).abs().argmax().item() * 8000 / 4000
    assert peak_hz == 440


def test_downmix_averages_channels_and_mono_false_keeps_them(tmp_path):
    left, right = sine(440, 0.1, 8000), 0.25 * np.ones(800)
    soundfile.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    mono, _ = load_audio(tmp_path / "stereo.wav")
    both, _ = load_audio(tmp_path / "stereo.wav", mono=False)
    assert mono.shape == (800,) and both.shape == (2, 800)
    np.testing.assert_allclose(mono.numpy(), (left + right) / 2, atol=1e-7)
    np.testing.assert_allclose(both[1].numpy(), right, atol=1e-7)


def test_fix_length_pads_and_crops_left_and_center():
    x = torch.arange(1.0, 6.0)  # [1, 2, 3, 4, 5]
    assert fix_length(x, 7).tolist() == [1, 2, 3, 4, 5, 0, 0]
    assert fix_length(x, 3).tolist() == [1, 2, 3]
    assert fix_length(x, 5).tolist() == x.tolist()
    assert fix_length(x, 8, align="center").tolist() == [0, 1, 2, 3, 4, 5, 0, 0]
    assert fix_length(x, 2, align="center").tolist() == [2, 3]
    batch = torch.ones(2, 3, 10)
    assert fix_length(batch, 16).shape == (2, 3, 16) and fix_length(batch, 4, align="center").shape == (2, 3, 4)
    with pytest.raises(ValueError, match="align"):
        fix_length(x, 3, align="right")
    with pytest.raises(ValueError, match="positive"):
        fix_length(x, 0)


def test_reads_a_real_fsdd_recording():
    recordings = config.data_dir() / "fsdd" / "recordings"
    if not (recordings / "7_jackson_32.wav").is_file():
        pytest.skip("FSDD is not in the data directory")
    waveform, rate = load_audio(recordings / "7_jackson_32.wav", sample_rate=8000)
    assert rate == 8000 and waveform.ndim == 1 and 0.1 * 8000 < len(waveform) < 2.5 * 8000
    assert 0 < waveform.abs().max() <= 1
