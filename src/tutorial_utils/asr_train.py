"""Training and evaluating a CTC speech recogniser: batching by length, the loop, WER.

Datasets yield ``(waveform (samples,), labels (n,))``; :func:`collate` pads them into
``(waveforms (batch, samples), lengths (batch,), targets (batch, labels), target_lengths (batch,))``.
The loss is PyTorch's ``ctc_loss`` (the same as :func:`tutorial_utils.ctc.ctc_loss`, only faster).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio
from torch.utils.data import DataLoader, Dataset

from . import ctc, metrics
from .vocabulary import Vocabulary


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


def _loader(dataset: Dataset, batch_size: int, generator: torch.Generator | None, workers: int = 0) -> DataLoader:
    batches = length_batches(_sample_lengths(dataset), batch_size, generator)
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate, num_workers=workers)


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
    batches = length_batches(_sample_lengths(dataset), batch_size)
    loader = DataLoader(dataset, batch_sampler=batches, collate_fn=collate)
    for indices, (waveforms, lengths, targets, target_lengths) in zip(batches, loader):
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
        refs, hyps, metrics.wer(refs, hyps), loss_sum / max(label_count, 1),
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
    log: Callable[[str], None] | None = print,
) -> History:
    """Train ``model`` (waveforms, lengths -> log-probs, frames) with CTC, AdamW and a one-cycle
    learning-rate schedule; evaluate greedy WER on ``validation_set`` after every epoch.
    ``waveform_augment`` (optional, e.g. :class:`tutorial_utils.augment.AddNoise`) maps each padded
    batch of waveforms ``(batch, samples)`` before the model, in training only. ``workers``: data
    loading processes (0: in this process; more for large corpora on a GPU)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device)
    if waveform_augment is not None:
        waveform_augment.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    steps = epochs * len(_loader(train_set, batch_size, None))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.2)
    history, start, cpu_start = History(), time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for waveforms, lengths, targets, target_lengths in _loader(train_set, batch_size, generator, workers):
            waveforms = waveforms.to(device)
            if waveform_augment is not None:
                waveforms = waveform_augment(waveforms)
            log_probs, frames = model(waveforms, lengths.to(device))
            loss = F.ctc_loss(
                log_probs.transpose(0, 1), targets.to(device), frames, target_lengths.to(device), zero_infinity=True
            )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            total, count = total + loss.item() * len(lengths), count + len(lengths)
        history.train_loss.append(total / count)
        if validation_set is not None:
            result = evaluate(model, validation_set, vocabulary, batch_size, device=device)
            history.validation_loss.append(result.loss)
            history.validation_wer.append(result.wer)
        history.seconds.append(time.perf_counter() - start)
        history.cpu_seconds.append(time.process_time() - cpu_start)
        if log is not None:
            line = f"epoch {epoch + 1}/{epochs} | train loss {history.train_loss[-1]:.3f}"
            if validation_set is not None:
                line += f" | validation loss {history.validation_loss[-1]:.3f} WER {history.validation_wer[-1]:.2%}"
            log(f"{line} | {history.seconds[-1]:.0f} s")
    return history


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
    save: str | None = None,
    cache: str | None = None,
    device: torch.device | str = "cpu",
    model_options: dict | None = None,
    log: Callable[[str], None] | None = print,
) -> tuple[torch.nn.Module, History, dict]:
    """Train a :class:`~tutorial_utils.models.asr.SpeechRecognizer` on connected FSDD digits; return
    the model, its :class:`History` and a JSON-ready summary: test WER with greedy and beam
    decoding, timings, sizes.

    ``test_speakers=None``: speaker-dependent split, else those speakers are held out.
    ``augment``: speed perturbation, additive noise (coloured, and background recordings if the
    data directory has them) and SpecAugment; ``False`` for none.
    ``model_options``: keyword arguments of the recogniser (default: :data:`DIGIT_MODEL`).
    ``cache``: where the rendered utterances go (default: :func:`~tutorial_utils.data.connected_digits.cache_dir`).
    """
    from . import config
    from .augment import AddNoise, load_noise_recordings
    from .data.connected_digits import SAMPLE_RATE, connected_digit_splits
    from .models.asr import SpeechRecognizer, save_recognizer
    from .vocabulary import DIGITS

    began = time.perf_counter()
    splits = connected_digit_splits(test_speakers, counts=counts, seed=seed, cache=Path(cache) if cache else None)
    options = dict(model_options or DIGIT_MODEL)
    noise = None
    if augment:
        splits["train"].transform = SpeedPerturbation(seed=seed)
        noise = AddNoise(snr_db=(10.0, 40.0), p=0.5, recordings=load_noise_recordings(SAMPLE_RATE))
    else:
        options["augment"] = None
    torch.manual_seed(seed)
    model = SpeechRecognizer(len(DIGITS), **options)
    history = train_ctc(
        model, splits["train"], splits["validation"], DIGITS, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, device=device, waveform_augment=noise, log=log,
    )
    greedy = evaluate(model, splits["test"], DIGITS, device=device)
    beam = [DIGITS.decode(ctc.beam_decode(lp, beam_width=beam_width)) for lp in greedy.log_probs]
    if save:
        save_recognizer(model.cpu(), save, vocabulary=list(DIGITS.symbols), word_level=DIGITS.word_level)
    return model, history, {
        "task": "asr",
        "dataset": "connected-fsdd",
        "split": f"speaker-independent:{','.join(test_speakers)}" if test_speakers else "speaker-dependent",
        "profile": config.profile(),
        "device": config.device_name(torch.device(device)),
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": epochs,
        "train_utterances": len(splits["train"]),
        "test_utterances": len(splits["test"]),
        "test_words": sum(len(r.split()) for r in greedy.references),
        "validation_wer": round(history.validation_wer[-1], 4),
        "test_wer_greedy": round(greedy.wer, 4),
        "test_wer_beam": round(metrics.wer(greedy.references, beam), 4),
        "beam_width": beam_width,
        "augment": augment,
        "seed": seed,
        "train_seconds": round(history.seconds[-1], 1),
        "train_cpu_seconds": round(history.cpu_seconds[-1], 1),
        "threads": torch.get_num_threads(),
        "wall_seconds": round(time.perf_counter() - began, 1),
    }


#: The recogniser trained on connected digits: 40 log-Mel bands at 8 kHz, 5 residual blocks.
DIGIT_MODEL = dict(
    sample_rate=8000, n_fft=256, hop_length=80, n_mels=40, channels=128, kernels=(13, 15, 17, 21, 25), repeats=2,
    dropout=0.1, augment=dict(freq_masks=2, freq_mask_param=7, time_masks=2, time_mask_param=10),
)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """``python -m tutorial_utils.asr_train``: train a CTC recogniser on connected FSDD digits and
    print one JSON line of results per run (with ``--leave-one-out``: per held-out speaker, then the mean)."""
    import argparse
    import json
    import shlex

    from . import config
    from .data import list_fsdd

    parser = argparse.ArgumentParser(prog="python -m tutorial_utils.asr_train", description=main.__doc__)
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--test-speakers", help="comma-separated: speaker-independent split (default: speaker-dependent)")
    split.add_argument("--leave-one-out", action="store_true", help="hold out each speaker in turn; report the mean WER")
    parser.add_argument("--epochs", type=int, default=config.by_profile(ci=1, cpu=16, gpu=30))
    parser.add_argument("--utterances", type=int, default=config.by_profile(ci=20, cpu=600, gpu=600),
                        help="training utterances per speaker")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--beam", type=int, default=8, help="beam width of the prefix beam search")
    parser.add_argument("--no-augment", action="store_true", help="no speed perturbation, noise or SpecAugment")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the fastest available)")
    parser.add_argument("--save", help="write the trained model here (for python -m tutorial_utils.transcribe)")
    parser.add_argument("--cache-dir", help="where the rendered utterances are cached (default: under the data directory)")
    args = parser.parse_args(argv)
    if args.save and args.leave_one_out:
        parser.error("--save saves one model; it cannot be combined with --leave-one-out")
    device = torch.device(args.device) if args.device else config.device()
    counts = {"train": args.utterances, **config.by_profile(ci={"validation": 5, "test": 5}, cpu={}, gpu={})}
    if args.leave_one_out:
        folds = [[s] for s in sorted({r.speaker for r in list_fsdd()})]
    else:
        folds = [args.test_speakers.split(",") if args.test_speakers else None]
    command = shlex.join(["python", "-m", "tutorial_utils.asr_train", *(sys.argv[1:] if argv is None else argv)])
    results = []
    for fold in folds:
        _, _, result = train_connected_digits(
            fold, epochs=args.epochs, counts=counts, batch_size=args.batch_size, learning_rate=args.lr,
            beam_width=args.beam, seed=args.seed, augment=not args.no_augment, save=args.save, cache=args.cache_dir,
            device=device, log=lambda line: print(line, file=sys.stderr),
        )
        result = {"command": command, **result}
        print(json.dumps(result), flush=True)
        results.append(result)
    if len(folds) > 1:
        mean = {key: round(sum(r[key] for r in results) / len(results), 4) for key in ("test_wer_greedy", "test_wer_beam")}
        summary = {"command": command, "task": "asr", "split": "leave-one-speaker-out", "folds": len(results),
                   "profile": results[0]["profile"], "device": results[0]["device"]}
        summary.update({f"mean_{key}": value for key, value in mean.items()})
        print(json.dumps(summary), flush=True)
        results.append(summary)
    return results


if __name__ == "__main__":
    main()
