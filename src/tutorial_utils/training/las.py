"""Training and evaluating Listen, Attend and Spell (:mod:`tutorial_utils.models.las`) with the
book's loop: the same batches, optimiser and schedule as CTC training
(:func:`~tutorial_utils.training.asr.train_ctc`), a cross-entropy loss on the speller's labels
with the true previous label fed in (teacher forcing), and greedy decoding for the WER.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..data.text import Vocabulary
from ..models.las import END, ListenAttendSpell
from ..wer import wer as word_error_rate
from .asr import History, length_loader, train_ctc
from .loop import LossStep

__all__ = ["end_terminated", "las_step", "transcribe_dataset", "train_las"]

IGNORE = -100  # cross_entropy's ignore_index: positions after each utterance's END


def end_terminated(targets: torch.Tensor, target_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded labels ``(batch, U)`` -> what the speller is fed and what it must say, both
    ``(batch, U + 1)``: each utterance's labels then ``END``; after it, ``END`` is fed and
    ``IGNORE`` expected."""
    batch, width = targets.shape[0], int(target_lengths.max()) + 1
    positions = torch.arange(width, device=targets.device).expand(batch, width)
    padded = torch.cat([targets, targets.new_full((batch, 1), END)], dim=1)[:, :width]
    labels = padded.masked_fill(positions >= target_lengths.unsqueeze(1), END)
    return labels, labels.masked_fill(positions > target_lengths.unsqueeze(1), IGNORE)


def las_step(waveform_augment: torch.nn.Module | None = None) -> LossStep:
    """The :data:`~tutorial_utils.training.loop.LossStep` of LAS: mean cross-entropy per label (``END`` included)."""

    def step(forward: torch.nn.Module, batch, device: torch.device, autocast):
        waveforms, lengths, targets, target_lengths = (t.to(device) for t in batch)
        if waveform_augment is not None:
            waveforms = waveform_augment(waveforms)
        fed, expected = end_terminated(targets, target_lengths)
        with autocast():
            logits, _ = forward(waveforms, lengths, fed)
        return F.cross_entropy(logits.float().flatten(0, 1), expected.flatten(), ignore_index=IGNORE), len(lengths), None

    return step


@torch.no_grad()
def transcribe_dataset(model: ListenAttendSpell, dataset: Dataset, vocabulary: Vocabulary, batch_size: int = 32,
                       device: torch.device | str = "cpu") -> tuple[list[str], list[str]]:
    """Greedy transcripts of every utterance, in dataset order: ``(references, hypotheses)``."""
    model.eval().to(device)
    transcripts: dict[int, tuple[str, str]] = {}
    loader = length_loader(dataset, batch_size)
    for indices, (waveforms, lengths, targets, target_lengths) in zip(loader.batch_sampler, loader):
        spelled, _ = model.transcribe(waveforms.to(device), lengths.to(device))  # the references are not consulted
        for index, labels, y, n in zip(indices, spelled, targets, target_lengths):
            transcripts[index] = (vocabulary.decode(y[:n].tolist()), vocabulary.decode(labels))
    references, hypotheses = zip(*(transcripts[i] for i in range(len(dataset))))
    return list(references), list(hypotheses)


def train_las(model: ListenAttendSpell, train_set: Dataset, validation_set: Dataset, vocabulary: Vocabulary, *,
              epochs: int, batch_size: int = 32, device: torch.device | str = "cpu",
              waveform_augment: torch.nn.Module | None = None, **options) -> History:
    """:func:`~tutorial_utils.training.asr.train_ctc`'s loop and settings with :func:`las_step`;
    the validation WER is greedy. ``options`` go to ``train_ctc`` (``learning_rate``, ``seed``, ...)."""

    def validate(m: torch.nn.Module) -> dict[str, float]:
        return {"wer": word_error_rate(*transcribe_dataset(m, validation_set, vocabulary, batch_size, device))}

    return train_ctc(model, train_set, validation_set, vocabulary, epochs=epochs, batch_size=batch_size, device=device,
                     waveform_augment=waveform_augment, loss_step=las_step(waveform_augment), validate=validate, **options)
