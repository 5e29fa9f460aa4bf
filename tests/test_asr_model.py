"""The residual 1-D convolutional CTC model and its front end."""

from __future__ import annotations

import pytest
import torch
import torchinfo

from tutorial_utils.training.checkpoint import load_recogniser, save_recogniser
from tutorial_utils.models.asr import (
    ConvCTC,
    ResidualBlock1d,
    SeparableConv1d,
    RecognizerConfig,
    SpeechRecognizer,
    _masked_normalize,
)


def test_separable_conv_has_depthwise_plus_pointwise_weights():
    conv = SeparableConv1d(16, 32, kernel_size=9)
    assert sum(p.numel() for p in conv.parameters()) == 16 * 9 + 16 * 32
    assert conv(torch.randn(2, 16, 50)).shape == (2, 32, 50)


def test_residual_block_shortcut_carries_the_input():
    block = ResidualBlock1d(8, 8, kernel_size=5, repeats=2, dropout=0.0).eval()
    for p in block.branch.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(1, 8, 20)
    torch.testing.assert_close(block(x), torch.relu(block.shortcut(x)))


@pytest.mark.parametrize("frames", [1, 2, 7, 100, 101])
def test_output_frames_match_the_network(frames):
    model = ConvCTC(n_mels=20, classes=11, channels=16, kernels=(5, 7)).eval()
    out = model(torch.randn(3, 20, frames))
    assert out.shape == (3, 11, int(model.output_frames(torch.tensor(frames))))


def test_recognizer_gives_log_probabilities_and_lengths():
    model = SpeechRecognizer(11, channels=16, kernels=(5,)).eval()
    waveforms = torch.randn(2, 8000)
    log_probs, frames = model(waveforms, torch.tensor([8000, 4000]))
    assert log_probs.shape == (2, 51, 11)
    assert frames.tolist() == [51, 26]
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 51))


def test_parameter_count_via_torchinfo():
    model = SpeechRecognizer(11)
    stats = torchinfo.summary(model, input_data=[torch.randn(1, 8000)], verbose=0)
    assert stats.total_params == sum(p.numel() for p in model.parameters())


def test_augmentation_only_in_training_mode():
    model = SpeechRecognizer(11, channels=16, kernels=(5,), augment=dict(freq_masks=2, freq_mask_param=20), dropout=0.0)
    x = torch.randn(1, 4000)
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])


@pytest.mark.parametrize("per_band", [True, False])
def test_normalisation_sees_only_each_utterances_own_frames(per_band):
    bands = torch.arange(6.0).view(1, 6, 1)  # each band its own level, as in speech
    features = torch.randn(2, 6, 30, generator=torch.Generator().manual_seed(0)) + bands
    frames = torch.tensor([30, 17])
    out = _masked_normalize(features, frames, per_band)
    for i, n in enumerate(frames.tolist()):
        alone = features[i, :, :n]
        dims = -1 if per_band else (-2, -1)
        mean, var = alone.mean(dims, keepdim=True), alone.var(dims, keepdim=True, unbiased=False)
        torch.testing.assert_close(out[i, :, :n], (alone - mean) / (var + 1e-5).sqrt())
        assert not out[i, :, n:].any()
    # per band, every band has mean 0; over the utterance, only the whole spectrogram has
    valid = out[1, :, :17]
    assert valid.mean(-1).abs().max() < 1e-5 if per_band else valid.mean(-1).abs().max() > 0.1
    torch.testing.assert_close(valid.mean(), torch.tensor(0.0), atol=1e-5, rtol=0)


def test_utterance_normalisation_ignores_loudness():
    model = SpeechRecognizer(11, channels=16, kernels=(5,), normalize="utterance").eval()
    speech = torch.cat([torch.randn(1, 3000), 1e-4 * torch.randn(1, 1000), torch.zeros(1, 1000)], dim=-1)
    lengths = torch.tensor([4000])  # a near-silent end, then padding, as in a batch
    # unit RMS first: the log's floor sits equally far below the quiet and the loud take
    torch.testing.assert_close(model(1e-3 * speech, lengths)[0], model(speech, lengths)[0], atol=1e-4, rtol=0)


def test_vtlp_warps_the_filterbank_in_training_only():
    model = SpeechRecognizer(11, channels=16, kernels=(5,), vtlp=(0.9, 1.1), dropout=0.0)
    plain = SpeechRecognizer(11, channels=16, kernels=(5,), dropout=0.0)
    plain.load_state_dict(model.state_dict())  # VTLP adds no weights
    x = torch.randn(2, 4000)
    model.eval(), plain.eval()
    torch.testing.assert_close(model(x)[0], plain(x)[0])
    model.train()
    torch.manual_seed(0)
    warped = model.vtlp(2)
    assert warped.shape == (2, 129, 40) and not torch.allclose(warped[0], warped[1])
    assert plain.vtlp is None  # the default recogniser's modules are unchanged


def test_unknown_normalisation_is_refused():
    with pytest.raises(ValueError, match="normalize must be one of"):
        RecognizerConfig(normalize="mel")


def test_save_and_load_round_trip(tmp_path):
    model = SpeechRecognizer(11, channels=16, kernels=(5, 7), augment=dict(freq_masks=1, time_mask_param=5),
                             normalize="utterance", vtlp=(0.9, 1.1)).eval()
    save_recogniser(tmp_path / "m.pt", model, vocabulary=["-", "a"], word_level=True)
    loaded, checkpoint = load_recogniser(tmp_path / "m.pt")
    x = torch.randn(1, 3000)
    torch.testing.assert_close(loaded(x)[0], model(x)[0])
    assert checkpoint["vocabulary"] == ["-", "a"] and not loaded.training
    assert loaded.config.normalize == "utterance" and loaded.config.vtlp == (0.9, 1.1)
