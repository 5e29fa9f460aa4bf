"""Throughput measurement (warm-up excluded, phases split) and the two pipelines of chapter 6."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from tutorial_utils.cli import benchmark as benchmark_command
from tutorial_utils.training import benchmark
from tutorial_utils.data import list_fsdd
from tutorial_utils.data import load_clips
from tutorial_utils.front_end import FrontEnd, FrontEndConfig


def test_warmup_steps_are_excluded_and_phases_are_split(monkeypatch):
    """On a fake clock (no sleeping, so no dependence on the machine's load): warm-up steps take
    0.5 s, timed ones 0.125 s, and each batch takes 0.0625 s to fetch (exact binary fractions)."""
    now = [0.0]
    monkeypatch.setattr(benchmark, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    calls = []

    def step(batch):
        now[0] += 0.5 if len(calls) < 2 else 0.125
        calls.append(len(batch))

    def batches():
        while True:
            now[0] += 0.0625
            yield torch.zeros(4, 3)

    result = benchmark.measure_throughput(step, batches(), warmup=2, steps=10)
    assert result.steps == 10 and result.samples == 40 and len(calls) == 12
    assert result.warmup_seconds == 2 * (0.0625 + 0.5)
    assert result.data_seconds == 10 * 0.0625 and result.compute_seconds == 10 * 0.125
    assert result.seconds == 10 * (0.0625 + 0.125)
    assert result.samples_per_second == 40 / 1.875  # with the warm-up included: 48 / 3 s = 16/s


def test_measures_until_the_batches_run_out_and_needs_some():
    result = benchmark.measure_throughput(lambda b: None, [(torch.zeros(3), torch.zeros(3))] * 5, warmup=2)
    assert result.steps == 3 and result.samples == 9
    with pytest.raises(ValueError, match="no batches left"):
        benchmark.measure_throughput(lambda b: None, [torch.zeros(2)] * 2, warmup=2)


def test_device_batches_cover_every_clip_once_per_epoch():
    waveforms, labels = torch.arange(10.0)[:, None].repeat(1, 4), torch.arange(10)
    batches = benchmark.device_batches(waveforms, labels, batch_size=5)
    epoch = [next(batches) for _ in range(2)]
    seen = torch.cat([b[1] for b in epoch])
    assert sorted(seen.tolist()) == list(range(10))
    assert all(torch.equal(x[:, 0].long(), y) for x, y in epoch)


def test_naive_dataset_gives_the_features_the_optimised_pipeline_computes_on_the_device():
    recordings = list_fsdd()[:3]
    front_end = FrontEnd(FrontEndConfig()).eval()
    dataset = benchmark.WavFeatureDataset([r.path for r in recordings], [r.digit for r in recordings], front_end)
    naive = torch.stack([dataset[i][0] for i in range(3)])
    with torch.no_grad():
        batched = front_end(load_clips([r.path for r in recordings], 8000, 8000))
    assert naive.shape == (3, 40, 101)
    assert torch.allclose(naive, batched, atol=1e-4)
    assert [dataset[i][1] for i in range(3)] == [r.digit for r in recordings]


def test_training_step_lowers_the_loss_and_returns_it_without_syncing():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(40 * 101, 10))
    step = benchmark.training_step(model, torch.optim.SGD(model.parameters(), lr=0.05), device="cpu",
                                   features=FrontEnd(FrontEndConfig()).eval())
    batch = (torch.randn(8, 8000), torch.arange(8))
    losses = [step(batch) for _ in range(5)]
    assert isinstance(losses[0], torch.Tensor) and not losses[0].requires_grad
    assert losses[-1] < losses[0]


def test_cli_prints_one_json_line_per_configuration(monkeypatch, capsys):
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    records = benchmark_command.main(["--batch-size", "4", "--steps", "1", "--warmup", "1", "--limit", "8", "--model", "res8-narrow"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == records and [r["config"] for r in records] == ["naive", "optimised"]
    for record in records:
        assert {"command", "device", "profile", "config", "samples_per_second", "batch_size"} <= record.keys()
        assert record["profile"] == "ci" and record["samples_per_second"] > 0 and record["batch_size"] == 4
        assert record["command"].startswith("python -m tutorial_utils.benchmark")


def test_cli_rejects_an_unknown_configuration(monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    with pytest.raises(SystemExit):
        benchmark_command.main(["--configs", "naive,turbo"])
