"""Chapter 10's compression package: int8 from scratch against ONNX Runtime's integer kernel, the
exported and the quantised spotter against PyTorch on real clips, pruning against
torch.nn.utils.prune, distillation's loss against its formula, and the measurements."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch.nn.utils import prune

from tutorial_utils.compression import (
    ExportableFrontEnd, WaveformSpotter, dequantize, distillation_loss, distillation_step, export_onnx, int8_conv2d,
    latency, macs, magnitude_mask, onnx_session, parameter_count, prune_channels, prune_magnitude, qparams, quantize,
    quantize_onnx, sparsity,
)
from tutorial_utils.compression.export import spotter_for_export
from tutorial_utils.front_end import FrontEnd, FrontEndConfig
from tutorial_utils.models import kws_model
from tutorial_utils.training.loop import fit

from test_cli_errors import HAS_FSDD

needs_fsdd = pytest.mark.skipif(not HAS_FSDD, reason="FSDD is not in the data directory (set BOOK_DATA_DIR)")


@pytest.fixture(scope="module")
def shipped():
    from tutorial_utils.book.trained import load_shipped_spotter

    model, front_end, record = load_shipped_spotter("res8-fsdd")
    return model, front_end, record


@pytest.fixture(scope="module")
def clips(shipped):
    from tutorial_utils.data import fsdd_tensors

    if not HAS_FSDD:
        pytest.skip("FSDD is not in the data directory (set BOOK_DATA_DIR)")
    return fsdd_tensors(speakers=shipped[2]["fsdd_speakers"], limit=60)


# --- int8 arithmetic ----------------------------------------------------------------------------

def test_qparams_map_the_range_onto_int8_with_zero_exact():
    scale, zero_point = qparams(-1.0, 3.0)
    assert quantize(torch.tensor(-1.0), scale, zero_point) == -128
    assert quantize(torch.tensor(3.0), scale, zero_point) == 127
    assert dequantize(quantize(torch.tensor(0.0), scale, zero_point), scale, zero_point) == 0.0
    # a range without 0 is widened to include it
    scale, zero_point = qparams(2.0, 4.0)
    assert zero_point == -128 and torch.isclose(scale, torch.tensor(4.0 / 255))


def test_round_trip_error_is_at_most_half_a_step():
    x = torch.randn(1000) * 3
    scale, zero_point = qparams(x.min(), x.max())
    error = (dequantize(quantize(x, scale, zero_point), scale, zero_point) - x).abs().max()
    assert error <= scale / 2 + 1e-6


def test_symmetric_per_channel_qparams():
    w = torch.randn(4, 3, 3, 3)
    scale, zero_point = qparams(w.amin(dim=(1, 2, 3)), w.amax(dim=(1, 2, 3)), symmetric=True)
    assert scale.shape == (4,) and (zero_point == 0).all()
    q = quantize(w, scale.reshape(4, 1, 1, 1), 0)
    assert q.int().abs().amax(dim=(1, 2, 3)).tolist() == [127] * 4 and q.min() >= -127


def _qlinearconv(x_q, x_scale, x_zp, w_q, w_scale, y_scale, y_zp, padding) -> np.ndarray:
    """ONNX Runtime's QLinearConv on the same integers and scales."""
    c_out = w_q.shape[0]
    inits = [numpy_helper.from_array(np.array(v, dtype=t), n) for n, v, t in [
        ("x_scale", x_scale, np.float32), ("x_zp", x_zp, np.int8), ("w", w_q.numpy(), np.int8),
        ("w_scale", w_scale.numpy(), np.float32), ("w_zp", np.zeros(c_out), np.int8),
        ("y_scale", y_scale, np.float32), ("y_zp", y_zp, np.int8)]]
    node = helper.make_node("QLinearConv", ["x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp"], ["y"],
                            pads=[padding] * 4)
    graph = helper.make_graph([node], "conv", [helper.make_tensor_value_info("x", TensorProto.INT8, list(x_q.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.INT8, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x_q.numpy()})[0]


def test_int8_convolution_from_scratch_equals_onnx_runtime():
    torch.manual_seed(0)
    x, w = torch.randn(2, 8, 9, 11), torch.randn(6, 8, 3, 3) * 0.2
    x_scale, x_zp = qparams(x.min(), x.max())
    w_scale, _ = qparams(w.amin(dim=(1, 2, 3)), w.amax(dim=(1, 2, 3)), symmetric=True)
    y = F.conv2d(x, w, padding=1)
    y_scale, y_zp = qparams(y.min(), y.max())
    x_q, w_q = quantize(x, x_scale, x_zp), quantize(w, w_scale.reshape(-1, 1, 1, 1), 0)
    ours = int8_conv2d(x_q, float(x_scale), int(x_zp), w_q, w_scale, float(y_scale), int(y_zp), padding=1)
    theirs = _qlinearconv(x_q, float(x_scale), int(x_zp), w_q, w_scale, float(y_scale), int(y_zp), padding=1)
    assert ours.dtype == torch.int8 and ours.shape == y.shape
    assert (ours.numpy().astype(int) - theirs.astype(int)).__abs__().max() <= 1  # a tie may round either way
    assert (ours.numpy() == theirs).mean() > 0.99
    # and it approximates the float convolution to a few output steps
    assert (dequantize(ours, y_scale, y_zp) - y).abs().max() < 4 * y_scale


# --- export ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("normalize", ["utterance", "band", None])
def test_exportable_front_end_equals_the_front_end(normalize):
    front_end = FrontEnd(FrontEndConfig(normalize=normalize)).eval()
    waveforms = torch.randn(3, 8000) * torch.tensor([[0.01], [0.3], [1.0]])
    with torch.no_grad():
        torch.testing.assert_close(ExportableFrontEnd(front_end)(waveforms), front_end(waveforms), atol=2e-5, rtol=1e-5)


def test_pcen_front_end_is_refused():
    with pytest.raises(ValueError, match="PCEN"):
        ExportableFrontEnd(FrontEnd(FrontEndConfig(normalize="pcen")))


@needs_fsdd
def test_exported_spotter_equals_pytorch_on_real_clips(shipped, clips, tmp_path):
    model, front_end, _ = shipped
    spotter = spotter_for_export(model, front_end)
    path = export_onnx(spotter, tmp_path / "spotter.onnx")
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["waveform"] and [o.name for o in graph.output] == ["probabilities"]
    session = onnx_session(path)
    waveforms = clips["test"][0]
    got = np.concatenate([session.run(None, {"waveform": w[None].numpy()})[0] for w in waveforms])
    with torch.no_grad():
        expected = spotter(waveforms).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


@needs_fsdd
def test_int8_spotter_is_small_and_agrees_with_float_on_real_clips(shipped, clips, tmp_path):
    model, front_end, _ = shipped
    spotter = spotter_for_export(model, front_end)
    float_path = export_onnx(spotter, tmp_path / "float.onnx")
    int8_path = quantize_onnx(float_path, tmp_path / "int8.onnx", clips["train"][0])
    assert not list(tmp_path.glob("*prepared*")), "the intermediate file is removed"
    assert int8_path.stat().st_size < 0.35 * float_path.stat().st_size
    ops = {n.op_type for n in onnx.load(str(int8_path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    float_session, int8_session = onnx_session(float_path), onnx_session(int8_path)
    waveforms, digits = clips["test"]
    p_float = np.concatenate([float_session.run(None, {"waveform": w[None].numpy()})[0] for w in waveforms])
    p_int8 = np.concatenate([int8_session.run(None, {"waveform": w[None].numpy()})[0] for w in waveforms])
    assert (p_int8.argmax(1) == p_float.argmax(1)).mean() >= 0.95
    assert np.abs(p_int8 - p_float).mean() < 0.02
    assert (p_int8.argmax(1) == digits.numpy()).mean() >= (p_float.argmax(1) == digits.numpy()).mean() - 0.05


def test_quantize_onnx_needs_calibration_waveforms(tmp_path):
    with pytest.raises(ValueError, match="calibration"):
        quantize_onnx(tmp_path / "x.onnx", tmp_path / "y.onnx", torch.zeros(8000))


# --- pruning --------------------------------------------------------------------------------------

def test_magnitude_mask_equals_torch_prune():
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(4, 6, 3)
    ours = magnitude_mask(conv.weight.detach(), 0.3)
    prune.l1_unstructured(conv, "weight", amount=0.3)
    assert torch.equal(ours, conv.weight_mask.bool())
    assert magnitude_mask(torch.randn(10), 0.0).all()
    with pytest.raises(ValueError):
        magnitude_mask(torch.randn(10), 1.0)


def test_prune_magnitude_reaches_the_sparsity_and_leaves_the_original():
    model = kws_model("res8-narrow", 10)
    pruned = prune_magnitude(model, 0.6)
    assert sparsity(pruned) == pytest.approx(0.6, abs=1e-3)
    assert sparsity(model) == 0.0
    assert not any("mask" in name for name, _ in pruned.named_buffers())  # permanent: an ordinary model


def test_channel_pruning_equals_zeroing_those_inputs_of_the_second_convolution():
    torch.manual_seed(2)
    model = kws_model("res8-narrow", 10)
    for block in model.blocks:  # non-trivial batch-norm statistics
        block.bn1.running_mean.uniform_(-0.5, 0.5)
        block.bn1.running_var.uniform_(0.5, 2.0)
    model.eval()
    x = torch.randn(2, 40, 101)
    with torch.no_grad():
        torch.testing.assert_close(prune_channels(model, 1.0)(x), model(x))
        small = prune_channels(model, 0.5)
        masked = copy.deepcopy(model)
        for block, kept in zip(masked.blocks, small.blocks):
            norms = block.conv1.weight.abs().sum(dim=(1, 2, 3))
            removed = norms.argsort(descending=True)[kept.conv1.out_channels:]
            block.conv2.weight[:, removed] = 0
        torch.testing.assert_close(small(x), masked(x), atol=1e-5, rtol=1e-5)
    assert small.blocks[0].conv1.out_channels == round(0.5 * 19) and small.blocks[0].conv2.out_channels == 19
    assert parameter_count(small) < parameter_count(model)


# --- distillation ---------------------------------------------------------------------------------

def test_distillation_loss_equals_the_formula():
    torch.manual_seed(3)
    student, teacher, labels = torch.randn(5, 10, dtype=torch.float64), torch.randn(5, 10, dtype=torch.float64), torch.randint(0, 10, (5,))
    T, alpha = 3.0, 0.7
    p_teacher, p_student = torch.softmax(teacher / T, -1), torch.softmax(student / T, -1)
    kl = (p_teacher * (p_teacher.log() - p_student.log())).sum(-1).mean()
    cross_entropy = -torch.log_softmax(student, -1)[torch.arange(5), labels].mean()
    expected = alpha * T**2 * kl + (1 - alpha) * cross_entropy
    torch.testing.assert_close(distillation_loss(student, teacher, labels, T, alpha), expected)
    # a student that copies the teacher has no soft loss
    assert distillation_loss(teacher, teacher, labels, T, alpha=1.0).abs() < 1e-12
    student.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: distillation_loss(s, teacher, labels, T, alpha), (student,))
    with pytest.raises(ValueError):
        distillation_loss(student, teacher, labels, temperature=0.0)


def test_distillation_trains_the_student_and_leaves_the_teacher():
    torch.manual_seed(4)
    front_end = FrontEnd(FrontEndConfig())
    teacher, student = kws_model("res8-narrow", 10), kws_model("res8-narrow", 10)
    before = copy.deepcopy(teacher.state_dict())
    data = torch.utils.data.TensorDataset(torch.randn(16, 8000) * 0.1, torch.randint(0, 10, (16,)))
    history = fit(student, torch.utils.data.DataLoader(data, batch_size=8), epochs=1, lr=1e-3,
                  loss_step=distillation_step(teacher, front_end), progress=False)
    assert np.isfinite(history["train_loss"][-1])
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert not teacher.training


# --- measurements ---------------------------------------------------------------------------------

def test_macs_of_res8_equal_a_count_by_hand():
    model, features = kws_model("res8", 10), torch.zeros(1, 40, 101)
    first = 1 * 45 * 9 * 40 * 101  # conv0 over the whole map
    blocks = 6 * 45 * 45 * 9 * (40 // 3) * (101 // 4)  # six 3x3 convolutions after (3, 4) pooling
    assert macs(model, features) == first + blocks + 45 * 10



def lstm_by_matrix_products(lstm: torch.nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """``lstm(x)[0]`` for batch-first ``x``, written with one matrix product per gate input and frame."""
    for layer in range(lstm.num_layers):
        outputs = []
        for direction in range(2 if lstm.bidirectional else 1):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh = getattr(lstm, "weight_ih" + suffix), getattr(lstm, "weight_hh" + suffix)
            bias = getattr(lstm, "bias_ih" + suffix) + getattr(lstm, "bias_hh" + suffix)
            h = c = x.new_zeros(x.shape[0], lstm.hidden_size)
            frames = []
            for t in (reversed if direction else iter)(range(x.shape[1])):
                i, f, g, o = (x[:, t] @ w_ih.T + h @ w_hh.T + bias).chunk(4, dim=-1)
                c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                h = o.sigmoid() * c.tanh()
                frames.append(h)
            outputs.append(torch.stack(frames[::-1] if direction else frames, dim=1))
        x = torch.cat(outputs, dim=-1)
    return x


def test_macs_of_an_lstm_equal_pytorchs_count_of_the_same_lstm_as_matrix_products():
    from torch.utils.flop_counter import FlopCounterMode

    lstm, x = torch.nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True).eval(), torch.randn(3, 7, 6)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        by_hand = lstm_by_matrix_products(lstm, x)
    with torch.no_grad():
        torch.testing.assert_close(by_hand, lstm(x)[0])  # the same computation
    assert macs(lstm, x) == counter.get_total_flops() // 2 == 3 * 7 * 2 * 4 * 5 * ((6 + 5) + (10 + 5))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor([7, 4, 2]), batch_first=True)
    assert macs(lstm, packed) == (7 + 4 + 2) * 2 * 4 * 5 * ((6 + 5) + (10 + 5))  # padding costs nothing


def test_macs_of_self_attention_count_projections_scores_and_weighted_sums():
    from tutorial_utils.models.attention import MultiHeadSelfAttention

    frames, dim = 9, 8
    attention = MultiHeadSelfAttention(dim, heads=2).eval()
    projections = 4 * frames * dim * dim  # query, key, value and output
    attended = 2 * frames * frames * dim  # Q K^T and the weighted sum of the values, all heads together
    assert macs(attention, torch.randn(1, frames, dim)) == projections + attended

def test_latency_reports_the_median_and_restores_threads():
    threads = torch.get_num_threads()
    calls = []
    result = latency(lambda: calls.append(1), runs=20, warmup=5, threads=1)
    assert len(calls) == 25 and result.runs == 20
    assert 0 <= result.q1_ms <= result.median_ms <= result.q3_ms
    assert torch.get_num_threads() == threads
    with pytest.raises(ValueError):
        latency(lambda: None, runs=0)


def test_waveform_spotter_returns_probabilities():
    spotter = WaveformSpotter(FrontEnd(FrontEndConfig()).eval(), kws_model("res8-narrow", 10).eval())
    with torch.no_grad():
        p = spotter(torch.randn(2, 8000))
    assert p.shape == (2, 10) and torch.allclose(p.sum(1), torch.ones(2))


# --- the commands -----------------------------------------------------------------------------------

@needs_fsdd
@pytest.mark.parametrize("int8", [False, True])
def test_export_command_on_a_tiny_model(tmp_path, capsys, int8):
    import json

    from tutorial_utils.cli import export
    from tutorial_utils.training.checkpoint import save_spotter

    checkpoint = tmp_path / "tiny.pt"
    save_spotter(checkpoint, kws_model("res8-narrow", 10), "res8-narrow", True, list("0123456789"), FrontEndConfig(), 8000)
    out = tmp_path / "out" / "tiny.onnx"
    assert export.main(["--checkpoint", str(checkpoint), "--onnx", str(out), "--calibration-clips", "12",
                        *(["--int8"] if int8 else [])]) == 0
    record = json.loads(capsys.readouterr().out)
    assert out.is_file() and record["onnx"] == str(out) and record["int8"] is int8
    assert record["max_abs_difference"] <= export.TOLERANCE and record["checked_clips"] == 12
    if int8:
        assert record["kilobytes"] < record["float_kilobytes"] and 0 <= record["int8_agreement"] <= 1


def _one_line_error(capsys, main, argv) -> str:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    message = capsys.readouterr().err.strip()
    assert exit.value.code == 2 and "Traceback" not in message and message.count("error:") == 1, message
    return message.splitlines()[-1]


def test_export_command_bad_input(tmp_path, capsys):
    from tutorial_utils.cli import export
    from tutorial_utils.training.checkpoint import save_spotter

    message = _one_line_error(capsys, export.main, ["--checkpoint", str(tmp_path / "none.pt"), "--onnx", str(tmp_path / "x.onnx")])
    assert "none.pt: no such file" in message and "--save" in message
    pcen = tmp_path / "pcen.pt"
    save_spotter(pcen, kws_model("res8-narrow", 10), "res8-narrow", True, list("0123456789"), FrontEndConfig(normalize="pcen"), 8000)
    message = _one_line_error(capsys, export.main, ["--checkpoint", str(pcen), "--onnx", str(tmp_path)])
    assert "is a folder" in message
    if HAS_FSDD:
        message = _one_line_error(capsys, export.main, ["--checkpoint", str(pcen), "--onnx", str(tmp_path / "p.onnx")])
        assert "PCEN" in message and "--normalize utterance" in message


def test_teacher_option_bad_input(tmp_path, capsys, monkeypatch):
    from tutorial_utils import config
    from tutorial_utils.cli import train

    monkeypatch.setenv(config.PROFILE_VARIABLE, "ci")
    message = _one_line_error(capsys, train.main, ["--teacher", "res8-fsdd"])
    assert "--mixup 0" in message
    message = _one_line_error(capsys, train.main, ["--teacher", str(tmp_path / "none.pt"), "--mixup", "0"])
    assert "none.pt: no such file" in message
    message = _one_line_error(capsys, train.main, ["--teacher", "res8-fsdd", "--mixup", "0", "--normalize", "band"])
    assert "--normalize utterance" in message
