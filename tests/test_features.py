"""tutorial_utils.features against torchaudio and librosa, on real FSDD speech and on noise.

Settings: 8 kHz, n_fft=256, hop_length=80, 40 Mel bands, 13 MFCCs unless a test says otherwise.
References are computed in the dtype under test (torchaudio modules moved with ``.to(dtype)``,
librosa given a float32 or float64 array). Residual differences and their causes:

* float32: FFT and matmul rounding, about 1e-7 of the spectrogram's peak (in any library).
* torchaudio builds its Mel filterbank in float32 even when the module is moved to float64: its
  band edges are off by ~1e-7 relative, filter weights by up to ~6e-6 (HTK, peak 1).
* librosa pads with zeros by default (``pad_mode="constant"``); torchaudio and we reflect. Only the
  frames that reach into the padding differ; ``pad_mode`` selects either convention.
* librosa's ``filters.mel`` returns float32 unless given ``dtype=np.float64``; with it, and a float64
  signal, librosa and we agree to ~1e-13.
* ``top_db`` clipping: we (and librosa, for one example) clip each ``(freq, frames)`` matrix against
  its own maximum; torchaudio clips a ``(batch, freq, frames)`` input against the batch maximum.
* librosa's ``delta`` fits lines at the edges (``mode="interp"``) where torchaudio and we repeat the
  edge frames; see ``test_deltas_librosa_interp_differs_only_in_the_edge_frames``.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft
import scipy.stats
import soundfile
import torch
import torchaudio

from tutorial_utils import config, features

SAMPLE_RATE, N_FFT, HOP, N_MELS, N_MFCC = 8000, 256, 80, 40, 13
#: one recording per speaker that the tests may use (never tuned to one of them)
RECORDINGS = ("6_george_0.wav", "3_jackson_12.wav", "9_nicolas_25.wav", "0_theo_40.wav", "5_yweweler_7.wav")

# Tolerances. "Peak-relative": max |ours - reference| <= RTOL * max |reference|.
FLOAT32_PEAK_RTOL = 1e-6  # float32 FFT/matmul rounding (measured: <= 3e-7)
FLOAT64_PEAK_RTOL = 1e-12  # float64 against a float64 reference (measured: ~5e-16)
TORCHAUDIO_FBANK_RTOL = 2e-5  # torchaudio's float32-built Mel filterbank (measured: <= 6e-6)
LOG_ATOL = 1e-3  # absolute, for dB, natural-log values and MFCCs (measured: <= 2e-4; MFCCs reach ~300)
FLOAT64_LOG_ATOL = 1e-9  # the same in float64 against librosa in float64 (measured: ~2e-13)

DTYPES = [torch.float32, torch.float64]


def assert_close_to_peak(actual, expected, rtol: float) -> None:
    actual, expected = torch.as_tensor(actual).double(), torch.as_tensor(expected).double()
    assert actual.shape == expected.shape
    error, peak = (actual - expected).abs().max().item(), expected.abs().max().item()
    assert error <= rtol * peak, f"max abs error {error:.3g} > {rtol:g} x peak {peak:.3g}"


def assert_close_abs(actual, expected, atol: float) -> None:
    actual, expected = torch.as_tensor(actual).double(), torch.as_tensor(expected).double()
    assert actual.shape == expected.shape
    error = (actual - expected).abs().max().item()
    assert error <= atol, f"max abs error {error:.3g} > {atol:g}"


def peak_rtol(dtype: torch.dtype) -> float:
    return FLOAT32_PEAK_RTOL if dtype == torch.float32 else FLOAT64_PEAK_RTOL


@pytest.fixture(scope="module")
def recordings() -> list[np.ndarray]:
    folder = config.data_dir() / "fsdd" / "recordings"
    if not all((folder / name).is_file() for name in RECORDINGS):
        pytest.skip("FSDD is not in the data directory (set BOOK_DATA_DIR)")
    waveforms = []
    for name in RECORDINGS:
        samples, rate = soundfile.read(folder / name, dtype="float64")
        assert rate == SAMPLE_RATE
        waveforms.append(samples)
    return waveforms


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return 0.1 * np.random.default_rng(0).standard_normal(4000)


@pytest.fixture(params=["speech", "noise"])
def signals(request, recordings, noise) -> list[np.ndarray]:
    """The FSDD recordings, or one white-noise signal."""
    return recordings if request.param == "speech" else [noise]


# -- framing and window ----------------------------------------------------------------------------


def test_frame_matches_librosa_and_is_batched():
    signal = torch.randn(2, 3, 1000, dtype=torch.float64)
    frames = features.frame(signal, 256, 80)
    assert frames.shape == (2, 3, 1 + (1000 - 256) // 80, 256)
    expected = librosa.util.frame(signal.numpy(), frame_length=256, hop_length=80, axis=-1)  # (..., len, n)
    assert np.array_equal(frames.numpy(), np.swapaxes(expected, -1, -2))
    assert features.frame(signal, 256, 80)[1, 2, 4, 0] == signal[1, 2, 4 * 80]


def test_frame_rejects_signals_shorter_than_a_frame():
    with pytest.raises(ValueError, match="100 samples, fewer than one frame of 256"):
        features.frame(torch.zeros(100), 256, 80)
    with pytest.raises(ValueError, match="positive"):
        features.frame(torch.zeros(1000), 256, 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("length", [1, 2, 7, 200, 256])
def test_hann_window_equals_torch(length, periodic, dtype):
    window = features.hann_window(length, periodic=periodic, dtype=dtype)
    assert window.dtype == dtype
    assert_close_abs(window, torch.hann_window(length, periodic=periodic, dtype=dtype), peak_rtol(dtype))


def test_hann_window_periodic_is_librosas_and_symmetric_is_numpys():
    assert_close_abs(features.hann_window(200, dtype=torch.float64), librosa.filters.get_window("hann", 200), 1e-15)
    assert_close_abs(features.hann_window(200, periodic=False, dtype=torch.float64), np.hanning(200), 1e-15)


# -- power spectrogram -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_power_spectrogram_equals_torchaudio_torch_stft_and_librosa(signals, dtype):
    transform = torchaudio.transforms.Spectrogram(n_fft=N_FFT, hop_length=HOP, wkwargs={"dtype": dtype})
    for samples in signals:
        waveform = torch.from_numpy(samples).to(dtype)
        ours = features.power_spectrogram(waveform, N_FFT, HOP)
        assert ours.shape == (N_FFT // 2 + 1, 1 + len(samples) // HOP) and ours.dtype == dtype
        stft = torch.stft(waveform, N_FFT, HOP, window=torch.hann_window(N_FFT, dtype=dtype), center=True,
                          pad_mode="reflect", return_complex=True)
        rosa = np.abs(librosa.stft(waveform.numpy(), n_fft=N_FFT, hop_length=HOP, pad_mode="reflect")) ** 2
        for reference in (transform(waveform), stft.abs() ** 2, rosa):
            assert_close_to_peak(ours, reference, peak_rtol(dtype))


@pytest.mark.parametrize(
    "options",
    [
        dict(win_length=200),  # Hann window of 200 zero-padded to 256 at its centre
        dict(center=False),
        dict(pad_mode="constant"),
        dict(power=1.0),
    ],
)
def test_power_spectrogram_options_equal_torchaudio_and_librosa(recordings, options):
    options, waveform = dict(options), torch.from_numpy(recordings[0])
    ours = features.power_spectrogram(waveform, N_FFT, HOP, **options)
    assert_close_to_peak(ours, torchaudio.transforms.Spectrogram(
        n_fft=N_FFT, hop_length=HOP, wkwargs={"dtype": torch.float64}, **options)(waveform), FLOAT64_PEAK_RTOL)
    power = options.pop("power", 2.0)
    rosa = np.abs(librosa.stft(recordings[0], n_fft=N_FFT, hop_length=HOP, **{"pad_mode": "reflect", **options}))
    assert_close_to_peak(ours, rosa**power, FLOAT64_PEAK_RTOL)


def test_librosa_default_zero_padding_changes_only_the_edge_frames(recordings):
    """librosa.stft pads with zeros by default; we reflect. Frames whose window reaches into the
    padding (the first and last ceil((n_fft / 2) / hop) = 2) differ, all others are identical."""
    waveform = torch.from_numpy(recordings[0])
    ours = features.power_spectrogram(waveform, N_FFT, HOP)
    rosa_default = np.abs(librosa.stft(recordings[0], n_fft=N_FFT, hop_length=HOP)) ** 2
    edge = -(-(N_FFT // 2) // HOP)
    assert_close_to_peak(ours[:, edge:-edge], rosa_default[:, edge:-edge], FLOAT64_PEAK_RTOL)
    edge_error = np.abs(ours.numpy() - rosa_default)[:, [0, -1]].max()
    assert edge_error > 1e-6 * rosa_default.max()
    assert_close_to_peak(features.power_spectrogram(waveform, N_FFT, HOP, pad_mode="constant"), rosa_default,
                         FLOAT64_PEAK_RTOL)


def test_power_spectrogram_is_batched_over_leading_dims(recordings):
    waveforms = torch.stack([torch.from_numpy(r[:3000]) for r in recordings[:4]]).reshape(2, 2, 3000)
    batched = features.power_spectrogram(waveforms, N_FFT, HOP)
    assert batched.shape == (2, 2, N_FFT // 2 + 1, 1 + 3000 // HOP)
    assert torch.allclose(batched[1, 0], features.power_spectrogram(waveforms[1, 0], N_FFT, HOP), rtol=1e-12, atol=0)


def test_short_signals_raise_clear_errors():
    half = N_FFT // 2
    with pytest.raises(ValueError, match=r"center=True with pad_mode='reflect'.*more than 128 samples; got 128"):
        features.power_spectrogram(torch.zeros(half), N_FFT, HOP)
    with pytest.raises(ValueError, match=r"center=False needs at least n_fft = 256 samples.*got 255"):
        features.power_spectrogram(torch.zeros(N_FFT - 1), N_FFT, HOP, center=False)
    # shorter than n_fft but longer than n_fft // 2: reflection works, as in torchaudio
    short = torch.randn(half + 1, dtype=torch.float64)
    assert_close_to_peak(features.power_spectrogram(short, N_FFT, HOP), torchaudio.transforms.Spectrogram(
        n_fft=N_FFT, hop_length=HOP, wkwargs={"dtype": torch.float64})(short), FLOAT64_PEAK_RTOL)
    assert features.power_spectrogram(torch.ones(3), N_FFT, HOP, pad_mode="constant").shape == (N_FFT // 2 + 1, 1)


def test_bad_arguments_raise():
    waveform = torch.zeros(1000)
    for kwargs, message in [
        (dict(pad_mode="edge"), "pad_mode must be one of"),
        (dict(win_length=300), "win_length must be between 1 and n_fft=256"),
        (dict(power=0.0), "power must be positive"),
    ]:
        with pytest.raises(ValueError, match=message):
            features.power_spectrogram(waveform, N_FFT, HOP, **kwargs)
    with pytest.raises(TypeError, match="floating-point"):
        features.power_spectrogram(torch.zeros(1000, dtype=torch.int16), N_FFT, HOP)


# -- Mel scale and filterbank ----------------------------------------------------------------------


@pytest.mark.parametrize("scale", features.MEL_SCALES)
def test_hz_to_mel_and_back_equal_librosa(scale):
    hz = torch.linspace(0, 8000, 801, dtype=torch.float64)
    mel = features.hz_to_mel(hz, scale)
    assert_close_abs(mel, librosa.hz_to_mel(hz.numpy(), htk=scale == "htk"), 1e-10)
    assert_close_abs(features.mel_to_hz(mel, scale), hz, 1e-9)
    assert_close_abs(features.mel_to_hz(mel, scale), librosa.mel_to_hz(mel.numpy(), htk=scale == "htk"), 1e-9)
    assert features.hz_to_mel(4000.0, scale).dtype == torch.float64  # Python numbers: float64
    assert features.hz_to_mel(hz.float(), scale).dtype == torch.float32


@pytest.mark.parametrize("scale", features.MEL_SCALES)
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize(
    "n_freqs, sample_rate, n_mels, f_min, f_max",
    [(129, 8000, 40, 0.0, None), (201, 16000, 64, 20.0, 7600.0), (101, 8000, 23, 300.0, 3400.0)],
)
def test_mel_filterbank_equals_librosa_and_torchaudio(n_freqs, sample_rate, n_mels, f_min, f_max, scale, norm):
    ours = features.mel_filterbank(n_freqs, sample_rate, n_mels, f_min, f_max, scale, norm, dtype=torch.float64)
    assert ours.shape == (n_freqs, n_mels)
    rosa = librosa.filters.mel(sr=sample_rate, n_fft=2 * (n_freqs - 1), n_mels=n_mels, fmin=f_min, fmax=f_max,
                               htk=scale == "htk", norm=norm, dtype=np.float64)
    assert_close_to_peak(ours, rosa.T, FLOAT64_PEAK_RTOL)
    audio = torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max or sample_rate / 2, n_mels, sample_rate,
                                                  norm, scale)
    assert_close_to_peak(ours, audio, TORCHAUDIO_FBANK_RTOL)
    assert features.mel_filterbank(n_freqs, sample_rate, n_mels).dtype == torch.get_default_dtype()


def test_mel_filterbank_rejects_unknown_options():
    with pytest.raises(ValueError, match="scale must be 'htk' or 'slaney'"):
        features.mel_filterbank(129, 8000, 40, scale="mel")
    with pytest.raises(ValueError, match="norm must be None or 'slaney'"):
        features.mel_filterbank(129, 8000, 40, norm=1.0)
    with pytest.raises(ValueError, match="f_min < f_max"):
        features.mel_filterbank(129, 8000, 40, f_min=5000.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mel_spectrogram_equals_torchaudio_and_librosa(signals, dtype):
    transform = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
                                                     wkwargs={"dtype": dtype}).to(dtype)
    for samples in signals:
        waveform = torch.from_numpy(samples).to(dtype)
        ours = features.mel_spectrogram(waveform, SAMPLE_RATE, N_FFT, HOP, N_MELS)
        assert ours.shape == (N_MELS, 1 + len(samples) // HOP) and ours.dtype == dtype
        assert_close_to_peak(ours, transform(waveform), TORCHAUDIO_FBANK_RTOL)
        rosa = librosa.feature.melspectrogram(y=waveform.numpy(), sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP,
                                              n_mels=N_MELS, htk=True, norm=None, pad_mode="reflect",
                                              dtype=waveform.numpy().dtype)
        assert_close_to_peak(ours, rosa, peak_rtol(dtype))


# -- decibels, log-Mel, MFCC -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("top_db", [None, 80.0, 40.0])
def test_power_to_db_equals_torchaudio_and_librosa(recordings, dtype, top_db):
    mel = features.mel_spectrogram(torch.from_numpy(recordings[1]).to(dtype), SAMPLE_RATE, N_FFT, HOP, N_MELS)
    ours = features.power_to_db(mel, top_db=top_db)
    assert_close_abs(ours, torchaudio.transforms.AmplitudeToDB("power", top_db=top_db)(mel), LOG_ATOL)
    assert_close_abs(ours, librosa.power_to_db(mel.numpy(), top_db=top_db), LOG_ATOL)
    if top_db is not None:
        assert ours.min() >= ours.max() - top_db - 1e-4


def test_top_db_is_per_example_unlike_torchaudio_on_3d_input(recordings):
    """A loud and a quiet (x 1e-3, i.e. -60 dB) recording in one batch: each is clipped at 80 dB below
    its own maximum. torchaudio does the same for (batch, channel, freq, frames), but for
    (batch, freq, frames) it uses the loudest example's maximum, which here clips most of the quiet one."""
    length = min(len(r) for r in recordings[:2])
    batch = torch.stack([torch.from_numpy(recordings[0][:length]), 1e-3 * torch.from_numpy(recordings[1][:length])])
    mel = features.mel_spectrogram(batch, SAMPLE_RATE, N_FFT, HOP, N_MELS)
    ours = features.power_to_db(mel, top_db=80.0)
    for example in range(2):
        assert torch.equal(ours[example], features.power_to_db(mel[example], top_db=80.0))
    to_db = torchaudio.transforms.AmplitudeToDB("power", top_db=80.0)
    assert_close_abs(ours, to_db(mel.unsqueeze(1)).squeeze(1), LOG_ATOL)
    assert (ours[1] - to_db(mel)[1]).abs().max() > 10.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_mel_spectrogram_is_natural_log_of_mel_power(signals, dtype):
    transform = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
                                                     wkwargs={"dtype": dtype}).to(dtype)
    for samples in signals:
        waveform = torch.from_numpy(samples).to(dtype)
        ours = features.log_mel_spectrogram(waveform, SAMPLE_RATE, N_FFT, HOP, N_MELS)
        assert_close_abs(ours, torch.log(transform(waveform) + 1e-6), LOG_ATOL)
        mel = features.mel_spectrogram(waveform, SAMPLE_RATE, N_FFT, HOP, N_MELS)
        assert_close_abs(ours, torch.log(mel + 1e-6), 0.0)
        # natural log and decibels differ by the factor 10 / ln 10 (away from the floors)
        assert_close_abs(features.power_to_db(mel + 1e-6), ours * 10 / np.log(10), LOG_ATOL)


def test_dct_matrix_is_orthonormal_and_equals_torchaudio():
    dct = features.dct_matrix(N_MFCC, N_MELS, dtype=torch.float64)
    assert dct.shape == (N_MELS, N_MFCC)
    assert_close_abs(dct.T @ dct, torch.eye(N_MFCC, dtype=torch.float64), 1e-12)
    # torchaudio evaluates the cosines in float32 (arguments up to ~38 rad): errors up to ~1e-6
    assert_close_abs(dct, torchaudio.functional.create_dct(N_MFCC, N_MELS, norm="ortho"), 2e-6)
    assert_close_abs(features.dct_matrix(N_MELS, N_MELS, dtype=torch.float64),
                     scipy.fft.dct(np.eye(N_MELS), type=2, norm="ortho", axis=0).T, 1e-12)
    with pytest.raises(ValueError, match="n_mfcc <= n_mels"):
        features.dct_matrix(41, 40)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mfcc_equals_torchaudio_and_librosa(signals, dtype):
    transform = torchaudio.transforms.MFCC(SAMPLE_RATE, N_MFCC, melkwargs=dict(
        n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, wkwargs={"dtype": dtype})).to(dtype)
    for samples in signals:
        waveform = torch.from_numpy(samples).to(dtype)
        ours = features.mfcc(waveform, SAMPLE_RATE, N_MFCC, N_FFT, HOP, N_MELS)
        assert ours.shape == (N_MFCC, 1 + len(samples) // HOP) and ours.dtype == dtype
        assert_close_abs(ours, transform(waveform), LOG_ATOL)
        numpy_dtype = waveform.numpy().dtype
        rosa = librosa.feature.mfcc(y=waveform.numpy(), sr=SAMPLE_RATE, n_mfcc=N_MFCC, n_fft=N_FFT, hop_length=HOP,
                                    n_mels=N_MELS, htk=True, mel_norm=None, pad_mode="reflect", dtype=numpy_dtype)
        assert_close_abs(ours, rosa, LOG_ATOL if dtype == torch.float32 else FLOAT64_LOG_ATOL)


def test_mfcc_with_librosas_defaults(recordings):
    """librosa.feature.mfcc's defaults: Slaney scale, area-normalised filters, zero padding, top_db=80."""
    waveform = torch.from_numpy(recordings[2])
    ours = features.mfcc(waveform, SAMPLE_RATE, N_MFCC, N_FFT, HOP, N_MELS, scale="slaney", norm="slaney",
                         pad_mode="constant")
    rosa = librosa.feature.mfcc(y=recordings[2], sr=SAMPLE_RATE, n_mfcc=N_MFCC, n_fft=N_FFT, hop_length=HOP,
                                n_mels=N_MELS, dtype=np.float64)
    assert_close_abs(ours, rosa, FLOAT64_LOG_ATOL)


# -- deltas and normalisation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_mfcc(recordings) -> torch.Tensor:
    return features.mfcc(torch.from_numpy(recordings[0]).float(), SAMPLE_RATE, N_MFCC, N_FFT, HOP, N_MELS)


@pytest.mark.parametrize("width", [3, 5, 9])
def test_deltas_equal_torchaudio_and_librosa_nearest(example_mfcc, width):
    ours = features.deltas(example_mfcc, width)
    assert_close_to_peak(ours, torchaudio.functional.compute_deltas(example_mfcc, win_length=width), FLOAT32_PEAK_RTOL)
    rosa = librosa.feature.delta(example_mfcc.numpy(), width=width, mode="nearest")
    assert_close_to_peak(ours, rosa, FLOAT32_PEAK_RTOL)


def test_deltas_librosa_interp_differs_only_in_the_edge_frames(example_mfcc):
    """librosa.feature.delta's default mode="interp" (scipy's savgol_filter) fits a line to the first
    (last) `width` frames and uses its slope for the first (last) width // 2 frames, where we (and
    torchaudio) repeat the edge frame. Interior frames agree to float32 rounding; on this recording
    the edge frames differ by up to about 10% of the largest delta."""
    width, half = 5, 2
    ours = features.deltas(example_mfcc, width)
    rosa = torch.from_numpy(librosa.feature.delta(example_mfcc.numpy(), width=width))
    assert_close_to_peak(ours[:, half:-half], rosa[:, half:-half], FLOAT32_PEAK_RTOL)
    edge_error = (ours - rosa)[:, [0, 1, -2, -1]].abs().max()
    assert 0.01 * ours.abs().max() < edge_error < 0.5 * ours.abs().max()
    offsets = torch.arange(-half, half + 1, dtype=torch.float32)
    first_slope = example_mfcc[:, :width] @ offsets / offsets.square().sum()
    last_slope = example_mfcc[:, -width:] @ offsets / offsets.square().sum()
    for frame_index, slope in [(0, first_slope), (1, first_slope), (-2, last_slope), (-1, last_slope)]:
        assert_close_to_peak(rosa[:, frame_index], slope, 1e-5)


def test_deltas_are_batched_and_check_width(example_mfcc):
    batch = torch.stack([example_mfcc, 2 * example_mfcc]).unsqueeze(1)  # (2, 1, n_mfcc, frames)
    assert_close_abs(features.deltas(batch)[1, 0], 2 * features.deltas(example_mfcc), 1e-4)
    for width in (1, 4):
        with pytest.raises(ValueError, match="odd number >= 3"):
            features.deltas(example_mfcc, width)


def test_normalize_is_cmvn(example_mfcc):
    ours = features.normalize(example_mfcc)
    assert_close_abs(ours.mean(-1), torch.zeros(N_MFCC), 1e-5)
    assert_close_abs(ours.var(-1, correction=0), torch.ones(N_MFCC), 1e-5)
    assert_close_abs(ours, scipy.stats.zscore(example_mfcc.numpy(), axis=-1), 1e-5)
    cmvn = torchaudio.functional.sliding_window_cmn(example_mfcc.T, cmn_window=600, center=True, norm_vars=True).T
    assert_close_abs(ours, cmvn, 1e-5)
    assert_close_abs(features.normalize(example_mfcc.T, dim=0), ours.T, 0.0)
    assert torch.equal(features.normalize(torch.full((3, 10), 7.0)), torch.zeros(3, 10))  # eps: no NaN


# -- modules, gradients, devices -------------------------------------------------------------------


def test_log_mel_module_equals_function_and_is_batched(recordings):
    waveforms = torch.stack([torch.from_numpy(r[:3000]).float() for r in recordings[:4]]).reshape(2, 2, 3000)
    module = features.LogMelSpectrogram(SAMPLE_RATE, N_FFT, HOP, N_MELS)
    out = module(waveforms)
    assert out.shape == (2, 2, N_MELS, 1 + 3000 // HOP)
    assert_close_abs(out, features.log_mel_spectrogram(waveforms, SAMPLE_RATE, N_FFT, HOP, N_MELS), 1e-5)
    normalized = features.LogMelSpectrogram(SAMPLE_RATE, N_FFT, HOP, N_MELS, normalize=True)(waveforms)
    assert_close_abs(normalized, features.normalize(out), 1e-5)
    assert {name for name, _ in module.named_buffers()} == {"window", "fbank"}
    assert module.state_dict() == {}  # derived from the arguments, not saved
    assert "n_mels=40" in repr(module)


def test_mfcc_module_equals_function_and_follows_dtype(recordings):
    waveform = torch.from_numpy(recordings[3])
    module = features.MFCC(SAMPLE_RATE, N_MFCC, N_FFT, HOP, N_MELS).to(torch.float64)
    assert module.dct.dtype == torch.float64
    # the buffers were rounded to float32 before .to(float64), hence float32-level agreement
    assert_close_abs(module(waveform), features.mfcc(waveform, SAMPLE_RATE, N_MFCC, N_FFT, HOP, N_MELS), LOG_ATOL)
    assert features.MFCC(SAMPLE_RATE, n_mfcc=5, normalize=True)(waveform.float()).shape == (5, 1 + len(waveform) // 160)


def test_gradcheck_in_float64():
    # small sizes and fast_mode (random projections of the Jacobian) keep this well under a second
    waveform = torch.randn(2, 64, dtype=torch.float64, requires_grad=True)
    settings = dict(sample_rate=SAMPLE_RATE, n_fft=16, hop_length=8, n_mels=4)
    functions = [
        lambda x: features.power_spectrogram(x, n_fft=16, hop_length=8),
        lambda x: features.power_spectrogram(x, n_fft=16, hop_length=8, win_length=10, power=1.0),
        lambda x: features.mel_spectrogram(x, **settings),
        lambda x: features.log_mel_spectrogram(x, **settings),
        lambda x: features.mfcc(x, n_mfcc=3, **settings),
        lambda x: features.normalize(features.deltas(features.mfcc(x, n_mfcc=3, **settings))),
        features.LogMelSpectrogram(SAMPLE_RATE, 16, 8, 4, normalize=True).double(),
    ]
    for function in functions:
        assert torch.autograd.gradcheck(function, (waveform,), fast_mode=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_modules_and_functions_run_on_cuda(recordings):
    waveform = torch.from_numpy(recordings[4]).float()
    module = features.LogMelSpectrogram(SAMPLE_RATE, N_FFT, HOP, N_MELS)
    on_gpu = module.to("cuda")(waveform.cuda())
    assert on_gpu.device.type == "cuda"
    assert_close_abs(on_gpu.cpu(), module.cpu()(waveform), LOG_ATOL)
    mfcc = features.mfcc(waveform.cuda(), SAMPLE_RATE, N_MFCC, N_FFT, HOP, N_MELS)
    assert_close_abs(mfcc.cpu(), features.mfcc(waveform, SAMPLE_RATE, N_MFCC, N_FFT, HOP, N_MELS), LOG_ATOL)


def test_pcen_equals_librosa_with_the_running_mean_started_at_the_first_frame():
    librosa = pytest.importorskip("librosa")
    energy = torch.rand(2, 40, 101, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 50
    for smoothing, gain, bias, power in [(0.025, 0.98, 2.0, 0.5), (0.1, 0.8, 10.0, 0.25)]:
        ours = features.pcen(energy, smoothing, gain, bias, power)
        for example in range(2):
            e = energy[example].numpy()
            reference = librosa.pcen(e, b=smoothing, gain=gain, bias=bias, power=power, eps=1e-6,
                                     zi=(1 - smoothing) * e[:, :1])
            torch.testing.assert_close(ours[example], torch.from_numpy(reference))


def test_pcen_of_a_steady_band_is_its_steady_state_and_an_onset_stands_out():
    energy = torch.full((1, 50), 4.0)
    energy[0, 30:] = 400.0  # a hundredfold louder from frame 30
    out = features.pcen(energy)
    steady = (4.0 / (1e-6 + 4.0) ** 0.98 + 2) ** 0.5 - 2**0.5
    torch.testing.assert_close(out[0, :30], torch.full((30,), steady))
    assert out[0, 30] > 10 * steady and out[0, 49] < out[0, 30]  # the gain control adapts to the new level


def test_unit_rms_counts_only_each_waveforms_own_samples():
    speech = torch.randn(1, 300, generator=torch.Generator().manual_seed(0)) * 7
    padded = torch.cat([speech, torch.zeros(1, 100)], dim=-1)
    torch.testing.assert_close(features.unit_rms(speech).pow(2).mean(), torch.tensor(1.0))
    torch.testing.assert_close(features.unit_rms(padded, torch.tensor([300]))[:, :300], features.unit_rms(speech))
    assert not features.unit_rms(torch.zeros(1, 10)).any()  # silence stays silence, no division by zero
