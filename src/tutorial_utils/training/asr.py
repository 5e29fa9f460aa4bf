"""Training and evaluating a CTC speech recogniser: batching by length, the CTC loss step for the
book's training loop, WER.

Datasets yield ``(waveform (samples,), labels (n,))``; :func:`collate` pads them into
``(waveforms (batch, samples), lengths (batch,), targets (batch, labels), target_lengths (batch,))``.
The loss is PyTorch's ``ctc_loss`` (the same as :func:`tutorial_utils.ctc.ctc_loss`, only faster).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from itertools import accumulate
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio
from torch.utils.data import DataLoader, Dataset, Sampler

from .. import config, ctc
from ..wer import wer as word_error_rate
from ..augment import AddNoise, load_noise_recordings
from ..data import synthetic
from ..data.connected_digits import SAMPLE_RATE, connected_digit_splits
from ..data.fsdd import FSDD_VERSION
from ..data.text import DIGITS, Vocabulary
from ..models.asr import DIGIT_MODEL, RecognizerConfig, SpeechRecognizer
from .checkpoint import save_recogniser
from .loop import LossStep, fit, one_cycle


def collate(batch: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """Zero-pad waveforms and labels of a list of ``(waveform, labels)`` pairs."""
    waveforms, labels = zip(*batch)
    lengths = torch.tensor([len(w) for w in waveforms])
    target_lengths = torch.tensor([len(y) for y in labels])
    padded = torch.zeros(len(batch), int(lengths.max()))
    targets = torch.zeros(len(batch), max(int(target_lengths.max()), 1), dtype=torch.long)
    for i, (w, y) in enumerate(zip(waveforms, labels)):
        padded[i, : len(w)] = w
        targets[i, : len(y)] = y
    return padded, lengths, targets, target_lengths


def length_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator | None = None) -> list[list[int]]:
    """Batches of similar lengths (less padding): shuffle, sort within windows of 50 batches by
    length, cut into batches, shuffle the batches. Without ``generator``: sorted, not shuffled."""
    order = torch.randperm(len(lengths), generator=generator).tolist() if generator is not None else list(range(len(lengths)))
    window = 50 * batch_size
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


def _sample_lengths(dataset: Dataset) -> list[int]:
    """Each utterance's length in samples (from the dataset's ``sample_lengths`` if it keeps them)."""
    return getattr(dataset, "sample_lengths", None) or [len(dataset[i][0]) for i in range(len(dataset))]


class LengthBatchSampler(Sampler[list[int]]):
    """:func:`length_batches` of a dataset's ``lengths`` as a DataLoader's batch sampler, drawn
    anew from ``generator`` every epoch (sorted, the same every time, without one)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, generator: torch.Generator | None = None) -> None:
        self.lengths, self.batch_size, self.generator = list(lengths), batch_size, generator

    def __iter__(self):
        return iter(length_batches(self.lengths, self.batch_size, self.generator))

    def __len__(self) -> int:
        return len(length_batches(self.lengths, self.batch_size))


def length_loader(dataset: Dataset, batch_size: int, generator: torch.Generator | None = None,
                  workers: int = 0) -> DataLoader:
    """Batches of :func:`collate`-d utterances of similar lengths (see :class:`LengthBatchSampler`)."""
    sampler = LengthBatchSampler(_sample_lengths(dataset), batch_size, generator)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers)


class SpeedPerturbation:
    """Play each waveform ``(samples,)`` a random factor faster or slower, uniform in ``factors``
    (Ko et al., 2015): resampling by ``1 / factor`` shifts tempo, pitch and formants together,
    as if another, larger or smaller, voice spoke. Use as a dataset ``transform`` in training."""

    def __init__(self, factors: tuple[float, float] = (0.85, 1.15), sample_rate: int = 8000, seed: int = 0) -> None:
        self.factors, self.sample_rate = factors, sample_rate
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, waveform: torch.Tensor) -> torch.Tensor:
        low, high = self.factors
        factor = low + (high - low) * torch.rand(1, generator=self.generator).item()
        step = self.sample_rate // 80  # rates on a 1/80 grid keep the resampling filter short
        target = max(step, round(self.sample_rate / factor / step) * step)
        if target == self.sample_rate:
            return waveform
        return torchaudio.functional.resample(waveform, self.sample_rate, target)


@dataclass
class Evaluation:
    """References and hypotheses (as text), the corpus WER over them, the mean CTC loss per label,
    and each utterance's log-probabilities ``(frames, classes)`` and reference labels, in order."""

    references: list[str]
    hypotheses: list[str]
    wer: float
    loss: float
    log_probs: list[torch.Tensor]
    labels: list[list[int]]


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    dataset: Dataset,
    vocabulary: Vocabulary,
    batch_size: int = 32,
    decode: Callable[[torch.Tensor], list[int]] | None = None,
    device: torch.device | str = "cpu",
) -> Evaluation:
    """Decode every utterance in dataset order (greedy unless ``decode`` maps ``(frames, classes)``
    log-probs to labels) and score it; also the mean CTC loss per label. Utterances are batched by
    length: an utterance's outputs can differ slightly from those of the same utterance alone,
    because convolutions near its end see the batch's padding."""
    model.eval().to(device)
    refs, hyps, loss_sum, label_count = [], [], 0.0, 0
    outputs: dict[int, tuple[torch.Tensor, list[int]]] = {}
    loader = length_loader(dataset, batch_size)
    for indices, (waveforms, lengths, targets, target_lengths) in zip(loader.batch_sampler, loader):
        log_probs, frames = model(waveforms.to(device), lengths.to(device))
        log_probs, frames = log_probs.cpu(), frames.cpu()
        loss = F.ctc_loss(log_probs.transpose(0, 1), targets, frames, target_lengths, reduction="sum", zero_infinity=True)
        loss_sum, label_count = loss_sum + loss.item(), label_count + int(target_lengths.sum())
        for index, lp, n, y, m in zip(indices, log_probs, frames, targets, target_lengths):
            outputs[index] = (lp[:n], y[:m].tolist())
    ordered = [outputs[i] for i in range(len(dataset))]
    for lp, labels in ordered:
        refs.append(vocabulary.decode(labels))
        hyps.append(vocabulary.decode(ctc.greedy_decode(lp) if decode is None else decode(lp)))
    return Evaluation(
        refs, hyps, word_error_rate(refs, hyps), loss_sum / max(label_count, 1),
        [lp for lp, _ in ordered], [labels for _, labels in ordered],
    )


@dataclass
class History:
    """Per epoch: mean training loss, validation loss and greedy WER, and since the start: wall-clock
    seconds and this process's CPU seconds (on a shared machine the better measure of the work)."""

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    validation_wer: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)


def ctc_step(waveform_augment: torch.nn.Module | None = None) -> LossStep:
    """The :data:`~tutorial_utils.training.loop.LossStep` of CTC training: batches of
    :func:`collate`, ``waveform_augment`` (if any) on the padded waveforms, the model's
    log-probabilities and PyTorch's ``ctc_loss`` (mean over the batch, per target label)."""

    def step(forward: torch.nn.Module, batch, device: torch.device, autocast):
        waveforms, lengths, targets, target_lengths = batch
        waveforms = waveforms.to(device)
        if waveform_augment is not None:
            waveforms = waveform_augment(waveforms)
        with autocast():
            log_probs, frames = forward(waveforms, lengths.to(device))
        loss = F.ctc_loss(log_probs.float().transpose(0, 1), targets.to(device), frames, target_lengths.to(device),
                          zero_infinity=True)
        return loss, len(lengths), None

    return step


def train_ctc(
    model: torch.nn.Module,
    train_set: Dataset,
    validation_set: Dataset | None,
    vocabulary: Vocabulary,
    *,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    weight_decay: float = 1e-3,
    seed: int = 0,
    device: torch.device | str = "cpu",
    waveform_augment: torch.nn.Module | None = None,
    workers: int = 0,
    progress: bool = True,
    loss_step: LossStep | None = None,
    validate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    **fit_options,
) -> History:
    """Train ``model`` (waveforms, lengths -> log-probs, frames) with CTC by the book's loop
    (:func:`~tutorial_utils.training.loop.fit` with :func:`ctc_step`): AdamW, a one-cycle schedule
    peaking at ``learning_rate``, gradients clipped to norm 5, float32; greedy WER on
    ``validation_set`` after every epoch. ``waveform_augment`` (optional, e.g.
    :class:`tutorial_utils.augment.AddNoise`) maps each padded batch of waveforms
    ``(batch, samples)`` before the model, in training only. ``workers``: data loading processes.
    ``loss_step`` and ``validate`` (a model -> validation values such as ``{"loss": ..., "wer": ...}``)
    replace CTC's, for a recogniser trained with another loss (:func:`tutorial_utils.training.las.train_las`).
    ``fit_options`` (e.g. ``checkpoint_path``, ``resume``) go to ``fit``."""
    if waveform_augment is not None:
        waveform_augment.to(device).train()
    loader = length_loader(train_set, batch_size, torch.Generator().manual_seed(seed), workers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)

    def validate_ctc(m: torch.nn.Module) -> dict[str, float]:
        result = evaluate(m, validation_set, vocabulary, batch_size, device=device)
        return {"loss": result.loss, "wer": result.wer}

    validate = validate or validate_ctc
    history = fit(
        model, loader, epochs=epochs, optimizer=optimizer, scheduler=one_cycle(learning_rate),
        loss_step=loss_step or ctc_step(waveform_augment),
        validate=validate if validation_set is not None else None, clip_grad_norm=5.0, amp=False, seed=seed,
        device=device, progress=progress, **fit_options,
    )
    return History(
        train_loss=history["train_loss"], validation_loss=history.get("val_loss", []),
        validation_wer=history.get("val_wer", []), seconds=list(accumulate(history["epoch_seconds"])),
        cpu_seconds=list(accumulate(history["epoch_cpu_seconds"])),
    )


def train_connected_digits(
    test_speakers: Sequence[str] | None = None,
    *,
    epochs: int,
    counts: dict[str, int] | None = None,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    beam_width: int = 8,
    seed: int = 0,
    augment: bool = True,
    save: str | Path | None = None,
    cache: str | None = None,
    device: torch.device | str = "cpu",
    model_config: RecognizerConfig = DIGIT_MODEL,
    progress: bool = True,
    speakers: Sequence[str] | None = None,
    synthetic_voices: int = 0,
    synthetic_engine: str = "espeak-ng",
    average_last: int = 0,
) -> tuple[torch.nn.Module, History, dict]:
    """Train a :class:`~tutorial_utils.models.asr.SpeechRecognizer` on connected FSDD digits; return
    the model, its :class:`History` and a JSON-ready summary: test WER with greedy and beam
    decoding, timings, sizes.

    ``test_speakers=None``: speaker-dependent split, else those speakers are held out.
    ``augment``: speed perturbation, additive noise (coloured, and background recordings if the
    data directory has them) and SpecAugment; ``False`` for none.
    ``model_config``: the recogniser (default: :data:`~tutorial_utils.models.asr.DIGIT_MODEL`).
    ``cache``: where the rendered utterances go (default: :func:`~tutorial_utils.data.connected_digits.cache_dir`).
    ``speakers``: the FSDD speakers to use (default: every speaker present).
    ``synthetic_voices``: add that many voices of ``synthetic_engine`` (espeak-ng or flite) to the
    training set only (:func:`~tutorial_utils.data.synthetic.ensure_synthetic_digits`; 0: none).
    ``average_last``: average the weights of the last that many epochs, run at a tenth of
    ``learning_rate`` (stochastic weight averaging, :mod:`~tutorial_utils.training.averaging`; 0: off).
    """
    began = time.perf_counter()
    extra = (synthetic.ensure_synthetic_digits(synthetic_voices, progress=progress, engine=synthetic_engine)
             if synthetic_voices else ())
    splits = connected_digit_splits(test_speakers, counts=counts, seed=seed, cache=Path(cache) if cache else None,
                                    speakers=speakers, extra_voices=extra)
    options = {}
    noise = None
    if augment:
        splits["train"].transform = SpeedPerturbation(seed=seed)
        noise = AddNoise(snr_db=(10.0, 40.0), p=0.5, recordings=load_noise_recordings(SAMPLE_RATE))
    else:
        options["augment"] = None
    torch.manual_seed(seed)
    model = SpeechRecognizer(len(DIGITS), model_config, **options)
    history = train_ctc(
        model, splits["train"], splits["validation"], DIGITS, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, device=device, waveform_augment=noise, progress=progress,
        average_last=average_last, average_lr=learning_rate / 10,
    )
    greedy = evaluate(model, splits["test"], DIGITS, device=device)
    beam = [DIGITS.decode(ctc.beam_decode(lp, beam_width=beam_width)) for lp in greedy.log_probs]
    if save:
        save_recogniser(save, model.cpu(), vocabulary=list(DIGITS.symbols), word_level=DIGITS.word_level)
    return model, history, {
        "task": "asr",
        "dataset": "connected-fsdd",
        "split": f"speaker-independent:{','.join(test_speakers)}" if test_speakers else "speaker-dependent",
        "fsdd_version": FSDD_VERSION,
        "fsdd_speakers": sorted({u.speaker for split in splits.values() for u in split.utterances} - {r.speaker for r in extra}),
        "synthetic_voices": synthetic_voices,
        **({"synthetic_engine": synthetic_engine} if synthetic_engine != "espeak-ng" else {}),
        "profile": config.profile(),
        "device": config.device_name(torch.device(device)),
        "model": model_config.encoder + ("" if model_config.residual else "-plain"),
        "normalize": model_config.normalize,
        "vtlp": list(model_config.vtlp),
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": epochs,
        **({"average_last": average_last} if average_last else {}),
        "learning_rate": learning_rate,
        "train_utterances": len(splits["train"]),
        "test_utterances": len(splits["test"]),
        "test_words": sum(len(r.split()) for r in greedy.references),
        "validation_wer": round(history.validation_wer[-1], 4),
        "test_wer_greedy": round(greedy.wer, 4),
        "test_wer_beam": round(word_error_rate(greedy.references, beam), 4),
        "beam_width": beam_width,
        "augment": augment,
        "seed": seed,
        "train_seconds": round(history.seconds[-1], 1),
        "train_cpu_seconds": round(history.cpu_seconds[-1], 1),
        "threads": torch.get_num_threads(),
        "wall_seconds": round(time.perf_counter() - began, 1),
        "history": {"train_loss": [round(x, 4) for x in history.train_loss],
                    "validation_loss": [round(x, 4) for x in history.validation_loss],
                    "validation_wer": [round(x, 4) for x in history.validation_wer]},
    }
