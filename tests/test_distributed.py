"""DDP with two CPU processes (gloo), launched by torchrun: the copies stay identical and equal a
single process stepping on the concatenated batches."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DistributedSampler

from tutorial_utils.training import distributed
from tutorial_utils.training.checkpoint import load_checkpoint

WORLD_SIZE, BATCH_SIZE, EPOCHS, LR = 2, 8, 2, 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SYNCS = ("ddp", "manual")


def torchrun(tmp_path, syncs=SYNCS) -> dict[str, tuple[dict, dict]]:
    """``torchrun -m tutorial_utils.distributed --synthetic --sync SYNC ...`` for each of ``syncs``,
    all in one launch of torchrun (tests/run_each.py): ``{sync: (rank 0's JSON line, saved weights)}``."""
    runs = [
        shlex.join(["--synthetic", "--device", "cpu", "--sync", sync, "--epochs", str(EPOCHS),
                    "--batch-size", str(BATCH_SIZE), "--lr", str(LR), "--save", str(tmp_path / f"{sync}.pt")])
        for sync in syncs
    ]
    command = [
        sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={WORLD_SIZE}",
        "--master_addr=127.0.0.1", f"--master_port={free_port()}",
        str(Path(__file__).with_name("run_each.py")), "tutorial_utils.distributed", *runs,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BOOK_PROFILE": "ci"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["sync"] for line in lines] == list(syncs), f"only rank 0 prints, once per run: {result.stdout}"
    return {line["sync"]: (line, load_checkpoint(tmp_path / f"{line['sync']}.pt", "weights")["state_dict"])
            for line in lines}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, tuple[dict, dict]]:
    return torchrun(tmp_path_factory.mktemp("ddp"))


def single_process_reference() -> dict:
    """Plain SGD on one process, each step on the union of the ranks' batches of that step."""
    dataset = distributed.synthetic_problem()
    model = distributed.synthetic_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    samplers = [DistributedSampler(dataset, WORLD_SIZE, rank, shuffle=True, seed=0, drop_last=True)
                for rank in range(WORLD_SIZE)]
    for epoch in range(EPOCHS):
        shards = []
        for sampler in samplers:
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
        for start in range(0, len(shards[0]) - BATCH_SIZE + 1, BATCH_SIZE):
            index = [i for shard in shards for i in shard[start : start + BATCH_SIZE]]
            inputs, labels = dataset[index]
            optimizer.zero_grad()
            F.cross_entropy(model(inputs), labels).backward()
            optimizer.step()
    return model.state_dict()


@pytest.fixture(scope="module")
def reference() -> dict:
    return single_process_reference()


@pytest.mark.parametrize("sync", SYNCS)
def test_two_processes_equal_one_process_on_the_concatenated_batch(trained, reference, sync):
    record, state = trained[sync]
    assert record["world_size"] == 2 and record["backend"] == "gloo"
    assert record["effective_batch_size"] == WORLD_SIZE * BATCH_SIZE
    assert record["steps_per_process"] == EPOCHS * (64 // WORLD_SIZE // BATCH_SIZE)
    assert record["max_parameter_difference_between_ranks"] == 0.0
    initial = distributed.synthetic_model().state_dict()
    for name, value in state.items():
        assert not torch.allclose(value, initial[name]), f"{name} did not train"
        # float32 sums in another order (all-reduce vs one batch): agree to rounding
        assert torch.allclose(value, reference[name], atol=1e-6), f"{name}: max diff {(value - reference[name]).abs().max()}"


def test_the_reference_differs_from_training_on_one_shard_only(reference):
    """The check above can fail: rank 0's shard alone (no averaging) gives other weights."""
    dataset = distributed.synthetic_problem()
    model = distributed.synthetic_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    sampler = DistributedSampler(dataset, WORLD_SIZE, 0, shuffle=True, seed=0, drop_last=True)
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        shard = list(sampler)
        for start in range(0, len(shard) - BATCH_SIZE + 1, BATCH_SIZE):
            inputs, labels = dataset[shard[start : start + BATCH_SIZE]]
            optimizer.zero_grad()
            F.cross_entropy(model(inputs), labels).backward()
            optimizer.step()
    assert not all(torch.allclose(v, reference[k], atol=1e-4) for k, v in model.state_dict().items())


def test_unknown_sync_is_an_error():
    with pytest.raises(ValueError, match="sync"):
        distributed.train_data_parallel(
            distributed.synthetic_model(), distributed.synthetic_problem(), rank=0, world_size=1,
            device=torch.device("cpu"), epochs=1, batch_size=4, make_optimizer=torch.optim.SGD, sync="allgather",
        )
