"""Tang & Lin's keyword-spotting ResNets: published sizes, shapes, dilations, shortcuts."""

import pytest
import torch
from torch import nn

import torch.nn.functional as F

from tutorial_utils.models import KWS_MODELS, PUBLISHED_KWS, InstanceBatchNorm2d, kws_model, model_summary_table


@pytest.mark.parametrize("name", list(KWS_MODELS))
def test_parameter_counts_match_the_paper(name):
    """Tang & Lin (2018), Table 3, rounded to three significant figures: within 1 %."""
    ((_, params, mult_adds),) = model_summary_table([name], input_shape=(40, 101), num_classes=12)
    assert params == pytest.approx(PUBLISHED_KWS[name]["params"], rel=0.01)
    assert params == sum(p.numel() for p in kws_model(name, 12).parameters())
    assert mult_adds > params  # convolutions are reused at every time-frequency position


def test_exact_parameter_count_of_res15():
    # first conv 3*3*45, 12 residual convs and a final conv of 3*3*45*45 each, 45*12 output weights
    assert model_summary_table(["res15"])[0][1] == 405 + 13 * 3 * 3 * 45 * 45 + 45 * 12


@pytest.mark.parametrize("name", list(KWS_MODELS))
def test_shapes_and_the_plain_variant(name):
    residual, plain = kws_model(name, 10), kws_model(name, 10, residual=False)
    x = torch.randn(2, 24, 20)
    assert residual(x).shape == plain(x).shape == (2, 10)
    assert residual(x.unsqueeze(1)).shape == (2, 10)
    assert sum(p.numel() for p in residual.parameters()) == sum(p.numel() for p in plain.parameters())


def test_plain_and_residual_differ_only_by_the_shortcut():
    torch.manual_seed(0)
    residual = kws_model("res8", 10).eval()
    plain = kws_model("res8", 10, residual=False).eval()
    plain.load_state_dict(residual.state_dict())
    x = torch.randn(3, 40, 32)
    assert not torch.allclose(residual(x), plain(x))
    for block in plain.blocks:
        block.residual = True
    assert torch.allclose(residual(x), plain(x))


def dilations(model: nn.Module) -> list[int]:
    return [m.dilation[0] for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_res15_dilation_grows_exponentially():
    assert dilations(kws_model("res15", 12)) == [1, 1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8, 16]  # conv0 first
    assert set(dilations(kws_model("res26", 12))) == {1}


def test_pooling_after_the_first_layer():
    assert kws_model("res8", 12).pool.kernel_size == (3, 4)  # 3 frequency bins x 4 frames
    assert kws_model("res26", 12).pool.kernel_size == (2, 2)
    assert isinstance(kws_model("res15", 12).pool, nn.Identity)


def test_no_biases_and_no_affine_batch_norm():
    model = kws_model("res26", 12)
    assert all(not name.endswith("bias") for name, _ in model.named_parameters())
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 24 and not any(m.affine for m in norms)  # one after every convolution but the first


def test_gradients_reach_the_first_layer():
    model = kws_model("res8-narrow", 10)
    model(torch.randn(4, 40, 32)).sum().backward()
    assert model.conv0.weight.grad.abs().sum() > 0


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match="res8, res8-narrow"):
        kws_model("res9", 10)


def test_instance_batch_norm_is_instance_norm_on_half_the_channels_and_batch_norm_on_the_rest():
    torch.manual_seed(0)
    x = torch.randn(4, 7, 5, 6) * 3 + 1
    out = InstanceBatchNorm2d(7).train()(x)
    assert torch.allclose(out[:, :3], F.instance_norm(x[:, :3]), atol=1e-5)
    assert torch.allclose(out[:, 3:], F.batch_norm(x[:, 3:], None, None, training=True), atol=1e-5)


def test_the_instance_half_forgets_a_clips_own_level_and_the_batch_half_does_not():
    """Scaling and shifting one clip's maps (a louder voice, another timbre) leaves its instance-normalised
    half unchanged; the batch-normalised half sees the change."""
    torch.manual_seed(1)
    norm, x = InstanceBatchNorm2d(8).train(), torch.randn(4, 8, 5, 6)
    changed = x.clone()
    changed[0] = 2.5 * changed[0] + 4.0
    before, after = norm(x), norm(changed)
    assert torch.allclose(before[0, :4], after[0, :4], atol=1e-4)
    assert not torch.allclose(before[0, 4:], after[0, 4:], atol=1e-2)


def test_instance_norm_goes_into_the_first_blocks_only_and_keeps_the_parameters():
    model = kws_model("res8", 10, instance_norm=2)
    kinds = [(type(b.norm).__name__, type(b.bn1).__name__) for b in model.blocks]
    assert kinds == [("Identity", "InstanceBatchNorm2d"), ("InstanceBatchNorm2d", "InstanceBatchNorm2d"),
                     ("BatchNorm2d", "BatchNorm2d")]
    plain = kws_model("res8", 10)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in plain.parameters())
    assert model(torch.randn(3, 40, 101)).shape == (3, 10)


@pytest.mark.parametrize("name, blocks", [("res8", 4), ("res8", -1), ("bc-resnet-1", 1)])
def test_impossible_instance_norm_settings_are_refused(name, blocks):
    with pytest.raises(ValueError, match="instance_norm"):
        kws_model(name, 10, instance_norm=blocks)
