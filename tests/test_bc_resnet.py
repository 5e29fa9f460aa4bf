"""BC-ResNet (Kim et al. 2021): published sizes, sub-spectral normalisation, the broadcast, shortcuts."""

import pytest
import torch
import torch.nn.functional as F

from tutorial_utils.models import BC_RESNET_MODELS, PUBLISHED_BC_RESNET, SPOTTER_MODELS, BcResBlock, SubSpectralNorm, kws_model


@pytest.mark.parametrize("name", list(BC_RESNET_MODELS))
def test_parameter_counts_match_the_paper(name):
    """Table 1 prints the two smallest exactly and the others in thousands (rounded)."""
    params = sum(p.numel() for p in kws_model(name, 12).parameters())
    exact = PUBLISHED_BC_RESNET[name] < 10_000
    assert params == PUBLISHED_BC_RESNET[name] if exact else params == pytest.approx(PUBLISHED_BC_RESNET[name], rel=2e-3)


@pytest.mark.parametrize("name", ["bc-resnet-0.625", "bc-resnet-3"])
def test_shapes_embedding_and_gradients(name):
    model = kws_model(name, 10)
    x = torch.randn(3, 40, 101, requires_grad=True)
    assert model(x).shape == (3, 10) and model(x.detach().unsqueeze(1)).shape == (3, 10)
    assert model.embed(x).shape == (3, int(32 * BC_RESNET_MODELS[name]))
    model(x).sum().backward()
    assert x.grad.abs().sum() > 0 and model.head[0].weight.grad.abs().sum() > 0


def test_sub_spectral_norm_is_batch_norm_per_sub_band():
    torch.manual_seed(0)
    norm = SubSpectralNorm(3, sub_bands=5)
    with torch.no_grad():
        norm.norm.weight.uniform_(0.5, 2)
        norm.norm.bias.uniform_(-1, 1)
    x = torch.randn(4, 3, 20, 7) * 3 + 1
    out = norm(x)
    for channel in range(3):
        for band in range(5):
            piece = x[:, channel, 4 * band: 4 * band + 4]  # 20 bins / 5 sub-bands
            k = channel * 5 + band
            expected = F.batch_norm(piece.unsqueeze(1), None, None, norm.norm.weight[k: k + 1], norm.norm.bias[k: k + 1],
                                    training=True).squeeze(1)
            assert torch.allclose(out[:, channel, 4 * band: 4 * band + 4], expected, atol=1e-5)


def test_forty_mel_bands_are_needed_and_the_error_says_so():
    with pytest.raises(ValueError, match="divisible.*40"):
        kws_model("bc-resnet-1", 10)(torch.randn(2, 32, 50))


def test_the_one_dimensional_part_reads_the_frequency_mean_and_is_broadcast_back():
    torch.manual_seed(0)
    block = BcResBlock(4, 4).eval()
    seen = {}
    block.f2.register_forward_hook(lambda module, inputs, output: seen.update(two_d=output))
    block.f1.register_forward_hook(lambda module, inputs, output: seen.update(f1_in=inputs[0], one_d=output))
    x = torch.randn(2, 4, 10, 6)
    out = block(x)
    assert seen["f1_in"].shape == seen["one_d"].shape == (2, 4, 1, 6)  # time only: no frequency axis
    assert torch.allclose(seen["f1_in"], seen["two_d"].mean(dim=2, keepdim=True))
    assert torch.allclose(out, torch.relu(x + seen["two_d"] + seen["one_d"].expand(-1, -1, 10, -1)), atol=1e-6)


def test_transitions_halve_frequency_and_have_no_identity_shortcut():
    transition = BcResBlock(8, 12, frequency_stride=2)
    assert transition(torch.randn(2, 8, 20, 9)).shape == (2, 12, 10, 9) and not transition.residual
    assert BcResBlock(8, 8).residual and not BcResBlock(8, 8, residual=False).residual


def test_plain_and_residual_differ_only_by_the_identity():
    torch.manual_seed(0)
    residual, plain = kws_model("bc-resnet-1", 10).eval(), kws_model("bc-resnet-1", 10, residual=False).eval()
    plain.load_state_dict(residual.state_dict())
    x = torch.randn(2, 40, 30)
    assert not torch.allclose(residual(x), plain(x))
    for block in plain.blocks:
        block.residual = not block.transition
    assert torch.allclose(residual(x), plain(x))


def test_every_spotter_is_one_name_away():
    assert {"res8", "bc-resnet-1"} <= set(SPOTTER_MODELS)
    with pytest.raises(ValueError, match="bc-resnet-1"):
        kws_model("bc-resnet-4", 10)
