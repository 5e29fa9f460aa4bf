"""The residual conv recogniser's rivals (tutorial_utils.models: sequence, attention, conformer,
recurrent): attention from scratch equals PyTorch's, the Conformer layer equals torchaudio's, the
skip connections come off with ``residual=False``, every model fits one batch, and a saved rival
loads back."""

from __future__ import annotations

from dataclasses import asdict, replace

import pytest
import torch
import torch.nn.functional as F

from tutorial_utils.models import ASR_MODELS, DIGIT_MODEL, RecognizerConfig, SpeechRecognizer, acoustic_model
from tutorial_utils.models.attention import (
    MultiHeadSelfAttention,
    TransformerLayer,
    scaled_dot_product_attention,
    sinusoidal_positions,
)
from tutorial_utils.models.conformer import ConformerLayer
from tutorial_utils.models.sequence import Subsampling, padding_mask
from tutorial_utils.training.checkpoint import load_recogniser, save_recogniser

RIVALS = [name for name in ASR_MODELS if name != "conv"]


def _padding(lengths: list[int]) -> torch.Tensor:
    return padding_mask(torch.tensor(lengths), max(lengths))


@pytest.mark.parametrize("masked", [False, True])
def test_attention_equals_pytorch(masked):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8)
    mask = _padding([7, 4]) if masked else None
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else ~mask[:, None, None, :])
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    if masked:
        assert (weights[1, :, :, 4:] == 0).all()


def test_attention_gradient():
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(lambda *t: scaled_dot_product_attention(*t, padding_mask(torch.tensor([3]), 4))[0], (q, k, v))


def test_multi_head_attention_equals_pytorch():
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    ours = MultiHeadSelfAttention(16, 4).eval()
    ours.load_state_dict(theirs.state_dict())
    x, mask = torch.randn(2, 6, 16), _padding([6, 3])
    expected, _ = theirs(x, x, x, key_padding_mask=mask, need_weights=False)
    torch.testing.assert_close(ours(x, mask), expected)
    assert ours.last_weights.shape == (2, 4, 6, 6)


def test_multi_head_attention_needs_whole_heads():
    with pytest.raises(ValueError, match="multiple of heads"):
        MultiHeadSelfAttention(10, 4)


def test_sinusoidal_positions():
    table = sinusoidal_positions(50, 8)
    assert table.shape == (50, 8)
    torch.testing.assert_close(table[:, 0], torch.sin(torch.arange(50.0)))
    torch.testing.assert_close(table[:, 1], torch.cos(torch.arange(50.0)))
    torch.testing.assert_close(table[3, 6], torch.sin(torch.tensor(3 / 10000 ** (6 / 8))))


def test_conformer_layer_equals_torchaudio():
    from torchaudio.models.conformer import ConformerLayer as TorchaudioConformerLayer

    torch.manual_seed(0)
    theirs = TorchaudioConformerLayer(16, 32, 4, 7).eval()
    ours = ConformerLayer(16, 32, 4, 7).eval()
    ours.load_state_dict(theirs.state_dict())
    for module in (theirs, ours):  # batch norm statistics that are not the identity
        module.conv_module.sequential[3].running_mean.normal_()
        module.conv_module.sequential[3].running_var.uniform_(0.5, 2.0)
    ours.load_state_dict(theirs.state_dict())
    x, mask = torch.randn(2, 9, 16), _padding([9, 5])
    expected = theirs(x.transpose(0, 1), mask).transpose(0, 1)  # torchaudio's layer is (frames, batch, dim)
    torch.testing.assert_close(ours(x, mask), expected)


def test_conformer_rejects_an_even_kernel():
    with pytest.raises(ValueError, match="odd"):
        ConformerLayer(16, 32, 4, 6)


@pytest.mark.parametrize("layer", [
    lambda residual: TransformerLayer(8, 2, 16, dropout=0.0, residual=residual),
    lambda residual: ConformerLayer(8, 16, 2, 3, residual=residual),
])
def test_residual_false_removes_the_skip_connections(layer):
    """With every branch's last weights at zero, each branch adds nothing: the residual layer
    passes its input through, the plain one passes nothing through."""
    x = torch.randn(2, 5, 8)
    outputs = {}
    for residual in (True, False):
        block = layer(residual).eval()
        for name, parameter in block.named_parameters():
            if name.split(".")[0] in ("attention", "self_attn") and "out_proj" in name or name.endswith(
                    ("sequential.4.weight", "sequential.4.bias", "sequential.5.weight", "sequential.5.bias")):
                torch.nn.init.zeros_(parameter)
        outputs[residual] = block(x)
    if isinstance(block, TransformerLayer):
        torch.testing.assert_close(outputs[True], x)
        torch.testing.assert_close(outputs[False], torch.zeros_like(x))
    else:  # the Conformer's last LayerNorm normalises what passes
        torch.testing.assert_close(outputs[True], F.layer_norm(x, (8,)))
        torch.testing.assert_close(outputs[False], torch.zeros_like(x))


def test_plain_conv_has_no_shortcuts():
    plain = acoustic_model(40, 11, replace(DIGIT_MODEL, residual=False))
    assert all(block.shortcut is None for block in plain.blocks)
    residual = acoustic_model(40, 11, DIGIT_MODEL)
    assert sum(p.numel() for p in plain.parameters()) < sum(p.numel() for p in residual.parameters())


def test_subsampling_halves_the_frames():
    sub = Subsampling(40, 16)
    for frames in (1, 2, 7, 100, 101):
        assert sub(torch.randn(1, 40, frames)).shape == (1, (frames + 1) // 2, 16)


def test_rivals_are_about_the_conv_models_size():
    sizes = {name: sum(p.numel() for p in SpeechRecognizer(11, config).parameters()) for name, config in ASR_MODELS.items()}
    for name in RIVALS:
        assert abs(sizes[name] / sizes["conv"] - 1) <= 0.10, sizes


@pytest.mark.parametrize("name", RIVALS)
def test_rival_gives_log_probabilities_and_lengths(name):
    model = SpeechRecognizer(11, ASR_MODELS[name]).eval()
    log_probs, frames = model(torch.randn(2, 8000), torch.tensor([8000, 4000]))
    assert log_probs.shape == (2, 51, 11)
    assert frames.tolist() == [51, 26]
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 51))


@pytest.mark.parametrize("name", ["blstm", "transformer"])
def test_padding_does_not_change_an_utterance(name):
    """The LSTM packs padding away and attention masks it: an utterance's features come out the
    same alone and batched with a longer utterance's (padded with zeros, as the recogniser's
    normalisation leaves padding). Convolutions, the conv model's and the Conformer's, see the
    padding near the end; CTC ignores the frames past each utterance."""
    torch.manual_seed(0)
    model = acoustic_model(40, 11, replace(ASR_MODELS[name], channels=16, heads=2)).eval()
    short, long = torch.randn(1, 40, 51), torch.randn(1, 40, 101)
    alone = model(short, torch.tensor([51]))
    together = model(torch.cat([F.pad(short, (0, 50)), long]), torch.tensor([51, 101]))
    assert alone.shape == (1, 11, 26) and together.shape == (2, 11, 51)
    torch.testing.assert_close(together[:1, :, :26], alone)
    assert not torch.allclose(model(torch.cat([F.pad(short, (0, 50)), long]))[:1, :, :26], alone, atol=1e-3), \
        "without the lengths, the padding should change the output (else this test proves nothing)"


@pytest.mark.parametrize("name", ["conv", *RIVALS])
def test_every_model_fits_one_batch(name):
    """CTC on two fixed utterances: 40 steps of Adam halve the loss."""
    torch.manual_seed(0)
    model = SpeechRecognizer(11, replace(ASR_MODELS[name], augment=None, dropout=0.0))
    waveforms, lengths = torch.randn(2, 8000) * 0.1, torch.tensor([8000, 6000])
    targets, target_lengths = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]]), torch.tensor([4, 2])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def loss() -> torch.Tensor:
        log_probs, frames = model(waveforms, lengths)
        return F.ctc_loss(log_probs.transpose(0, 1), targets, frames, target_lengths, blank=0)

    first = loss().item()
    for _ in range(40):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
    assert loss().item() < first / 2


def test_unknown_or_impossible_models_are_refused():
    with pytest.raises(ValueError, match="unknown encoder"):
        acoustic_model(40, 11, replace(DIGIT_MODEL, encoder="gru"))
    with pytest.raises(ValueError, match="no skip connections"):
        acoustic_model(40, 11, replace(ASR_MODELS["blstm"], residual=False))
    with pytest.raises(ValueError, match="subsamples by 2"):
        acoustic_model(40, 11, replace(ASR_MODELS["transformer"], stride=3))


@pytest.mark.parametrize("name", RIVALS)
def test_a_saved_rival_loads_back(name, tmp_path):
    model = SpeechRecognizer(11, replace(ASR_MODELS[name], residual=name == "blstm")).eval()
    save_recogniser(tmp_path / "m.pt", model, vocabulary=[str(i) for i in range(11)], word_level=True)
    loaded, _ = load_recogniser(tmp_path / "m.pt")
    x = torch.randn(1, 8000)
    torch.testing.assert_close(loaded(x)[0], model(x)[0])
    assert loaded.config == model.config


def test_a_config_saved_before_the_rivals_loads_as_the_conv_model():
    old = {k: v for k, v in asdict(DIGIT_MODEL).items() if k not in ("encoder", "layers", "heads", "residual")}
    assert RecognizerConfig.from_dict(old) == DIGIT_MODEL
