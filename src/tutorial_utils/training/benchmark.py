"""Measuring training throughput honestly, and two input pipelines for the same keyword spotter.

* :func:`measure_throughput` times a training step over batches: warm-up steps are excluded (the
  first steps build kernels, caches and worker processes) and on a GPU the clock is read only
  after ``torch.cuda.synchronize()`` (kernels run asynchronously: without it you time the
  *launch*, not the work).
* The **naive** pipeline (:class:`WavFeatureDataset`): every access reads a WAV file with
  ``soundfile`` and computes its log-Mel spectrogram on the CPU, one clip at a time, in the
  ``DataLoader``; the model gets ready-made features ``(batch, n_mels, frames)``.
* The **optimised** pipeline (:func:`device_batches`): the waveforms are decoded once into one
  tensor ``(clips, samples)`` kept on the device; each batch is sliced out there and the
  :class:`~tutorial_utils.keyword_spotting.FrontEnd` computes its features on the device, with
  mixed precision where the device supports it (optionally ``channels_last`` and ``torch.compile``).

``python -m tutorial_utils.benchmark`` trains res8 with each pipeline (same model, same initial
weights, same machine, one run) and prints one JSON line per configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data import load_clips
from ..front_end import FrontEnd, FrontEndConfig
from .amp import autocast_dtype, backward_and_step
from .loop import make_loader, prepare

Batch = tuple[torch.Tensor, torch.Tensor]

@dataclass(frozen=True)
class PipelineConfig:
    """One input pipeline and training set-up: ``pipeline`` ``"naive"`` (WAV decoding and features
    per clip in the DataLoader, ``workers`` processes) or ``"optimised"`` (cached waveforms,
    batched features on the device); mixed precision ``amp`` (``"auto"``: bf16/fp16 on CUDA,
    float32 elsewhere), ``torch.compile`` and ``channels_last``."""

    pipeline: str
    workers: int = 0
    amp: bool | str = False
    compile: bool = False
    channels_last: bool = False


#: The configurations the command line knows, by name.
CONFIGS: dict[str, PipelineConfig] = {
    "naive": PipelineConfig("naive"),
    "naive-workers": PipelineConfig("naive", workers=2),
    "optimised": PipelineConfig("optimised", amp="auto"),
    "optimised-compile": PipelineConfig("optimised", amp="auto", compile=True, channels_last=True),
}


def synchronize(device: torch.device | str | None) -> None:
    """Wait until ``device`` has finished the work queued on it (a no-op on the CPU)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass
class Throughput:
    """What :func:`measure_throughput` measured, over the timed steps only (warm-up excluded):
    ``data_seconds`` waiting for the next batch, ``compute_seconds`` in the step (synchronised)."""

    samples_per_second: float
    seconds: float
    samples: int
    steps: int
    data_seconds: float
    compute_seconds: float
    warmup_seconds: float


def _batch_size(batch) -> int:
    return len(batch[0]) if isinstance(batch, (tuple, list)) else len(batch)


def measure_throughput(
    step: Callable[[Batch], object],
    batches: Iterable[Batch],
    *,
    warmup: int = 3,
    steps: int | None = None,
    device: torch.device | str | None = None,
) -> Throughput:
    """Run ``step(batch)`` over ``batches``: ``warmup`` untimed steps, then ``steps`` timed ones
    (default: until the batches run out). Before every reading of the clock the device is
    synchronised, so the time of a step is the time its work took, not the time to queue it."""
    iterator = iter(batches)
    began = time.perf_counter()
    for _ in range(warmup):
        step(next(iterator))
    synchronize(device)
    warmup_seconds = time.perf_counter() - began

    data = compute = 0.0
    samples = done = 0
    start = time.perf_counter()
    while steps is None or done < steps:
        fetch = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            break
        run = time.perf_counter()
        step(batch)
        synchronize(device)
        end = time.perf_counter()
        data, compute = data + run - fetch, compute + end - run
        samples, done = samples + _batch_size(batch), done + 1
    seconds = time.perf_counter() - start
    if done == 0:
        raise ValueError(f"no batches left to time after {warmup} warm-up steps")
    return Throughput(samples / seconds, seconds, samples, done, data, compute, warmup_seconds)


class WavFeatureDataset(Dataset):
    """The naive pipeline: item ``i`` reads ``paths[i]`` from disk (``soundfile``), fits it to
    ``length`` samples and computes its features with ``front_end`` on the CPU, every time it
    is accessed. Items: ``(features (n_mels, frames), label)``."""

    def __init__(self, paths: Sequence[str | Path], labels: Sequence[int], front_end: FrontEnd, length: int = 8000):
        self.paths, self.labels, self.length = list(paths), list(labels), length
        self.front_end = front_end.eval()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        clip = load_clips([self.paths[index]], self.front_end.config.sample_rate, self.length)
        with torch.no_grad():
            return self.front_end(clip)[0], self.labels[index]


def naive_loader(dataset: WavFeatureDataset, batch_size: int, workers: int = 0,
                 device: torch.device | str | None = None) -> DataLoader:
    """Shuffled full batches of ``dataset`` from ``workers`` processes (pinned memory for a GPU)."""
    return make_loader(dataset, batch_size, shuffle=True, device=device, workers=workers, drop_last=True)


def device_batches(waveforms: torch.Tensor, labels: torch.Tensor, batch_size: int,
                   device: torch.device | str | None = None, seed: int = 0) -> Iterator[Batch]:
    """The optimised pipeline's batches, forever: ``waveforms (clips, samples)`` and ``labels`` are
    moved to ``device`` once, then every epoch is a fresh random order of full batches sliced on the
    device. Nothing is read from disk and nothing is copied from the host after the first step."""
    device = torch.device(device) if device is not None else waveforms.device
    waveforms, labels = waveforms.to(device), labels.to(device)
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(labels), generator=generator).to(device)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            yield waveforms[index], labels[index]


def repeat_epochs(loader: Iterable[Batch]) -> Iterator[Batch]:
    """The batches of ``loader``, epoch after epoch, forever."""
    while True:
        yield from loader


def training_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device | str,
    features: nn.Module | None = None,
    amp: bool | str = "auto",
    channels_last: bool = False,
    compile: bool = False,
) -> Callable[[Batch], torch.Tensor]:
    """A function ``step((inputs, labels)) -> loss`` doing one optimisation step of ``model`` on
    ``device``: inputs are moved there, turned into features by ``features`` (no gradients, in
    float32), then forward and backward under autocast, set up as :func:`~tutorial_utils.training.loop.fit`
    does (:func:`~tutorial_utils.training.loop.prepare`; float16 uses a gradient scaler). The loss is returned without ``.item()``: reading it would
    synchronise the device on every step."""
    device = torch.device(device)
    model.train()
    forward, dtype, scaler = prepare(model, device, features, amp, compile, channels_last)

    def step(batch: Batch) -> torch.Tensor:
        inputs, labels = (t.to(device, non_blocking=True) for t in batch)
        if features is not None:
            with torch.no_grad():
                inputs = features(inputs)
        if channels_last:
            inputs = inputs.unsqueeze(1).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
            loss = F.cross_entropy(forward(inputs).float(), labels)
        backward_and_step(loss, optimizer, scaler)
        return loss.detach()

    return step


def benchmark(
    config: str,
    make_model: Callable[[], nn.Module],
    paths: Sequence[str | Path],
    labels: Sequence[int],
    *,
    batch_size: int,
    steps: int,
    warmup: int,
    device: torch.device | str,
    front_end_config: FrontEndConfig = FrontEndConfig(),
    length: int = 8000,
    workers: int | None = None,
) -> dict:
    """Train ``make_model()`` (the same initial weights every call if it seeds) with configuration
    ``config`` (a key of :data:`CONFIGS`) on the clips ``paths``; return a dict with
    ``samples_per_second``, the data/compute split per step and, for the optimised pipeline, the
    seconds spent decoding every clip once (``cache_seconds``). ``workers`` replaces the number
    of DataLoader workers of the configurations that use some."""
    options = asdict(CONFIGS[config])
    if workers is not None and options["pipeline"] == "naive" and options["workers"]:
        options["workers"] = workers
    device = torch.device(device)
    model = make_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    cache_seconds = None
    if options["pipeline"] == "naive":
        dataset = WavFeatureDataset(paths, labels, FrontEnd(front_end_config), length)
        batches = repeat_epochs(naive_loader(dataset, batch_size, options["workers"], device))
        features = None
    else:
        began = time.perf_counter()
        waveforms = load_clips(paths, front_end_config.sample_rate, length)
        cache_seconds = time.perf_counter() - began
        batches = device_batches(waveforms, torch.as_tensor(list(labels)), batch_size, device)
        features = FrontEnd(front_end_config).eval()
    step = training_step(model, optimizer, device=device, features=features, amp=options["amp"],
                         channels_last=options["channels_last"], compile=options["compile"])
    result = measure_throughput(step, batches, warmup=warmup, steps=steps, device=device)
    dtype = autocast_dtype(device, options["amp"])
    return {
        "config": config,
        "pipeline": options["pipeline"],
        "workers": options["workers"],
        "amp": str(dtype).removeprefix("torch.") if dtype else "off",
        "compile": options["compile"],
        "channels_last": options["channels_last"],
        "batch_size": batch_size,
        "steps": result.steps,
        "warmup_steps": warmup,
        "samples_per_second": round(result.samples_per_second, 1),
        "data_ms_per_step": round(1e3 * result.data_seconds / result.steps, 1),
        "compute_ms_per_step": round(1e3 * result.compute_seconds / result.steps, 1),
        "warmup_seconds": round(result.warmup_seconds, 2),
        "cache_seconds": round(cache_seconds, 2) if cache_seconds is not None else None,
    }
