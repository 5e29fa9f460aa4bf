"""Using a trained model on one recording: the spotter's label, the recogniser's transcript.

A saved model carries its clip policy (see :mod:`tutorial_utils.training.checkpoint`);
:func:`classify` applies it, so a spotter sees its input exactly as in training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import ctc
from ..data.audio import fit_clip
from ..data.text import Vocabulary
from ..models.asr import SpeechRecognizer

#: Recordings shorter than this are refused: the shortest spoken digit of FSDD lasts 0.14 s, and a
#: model asked about less than a word still answers, with a label that means nothing.
MIN_SECONDS = 0.1


def check_duration(waveform: torch.Tensor, sample_rate: int, name: str) -> None:
    """Raise ``ValueError`` if ``waveform`` ``(samples,)`` is shorter than :data:`MIN_SECONDS`."""
    seconds = waveform.shape[-1] / sample_rate
    if seconds < MIN_SECONDS:
        raise ValueError(f"{name} lasts {seconds:.3f} s, shorter than the {MIN_SECONDS} s a spoken word needs")


@torch.no_grad()
def classify(model: nn.Module, front_end: nn.Module, waveform: torch.Tensor, labels: Sequence[str],
             clip: dict) -> tuple[str, float]:
    """The most probable label of one waveform ``(samples,)`` and its probability. ``clip``: the
    saved ``{"length", "policy"}`` the model was trained with."""
    device = next(model.parameters()).device
    x = fit_clip(waveform, clip["length"], clip["policy"]).to(device)
    probabilities = model.eval()(front_end.eval()(x.unsqueeze(0))).softmax(dim=-1)[0]
    best = int(probabilities.argmax())
    return labels[best], float(probabilities[best])


@torch.no_grad()
def transcribe(model: SpeechRecognizer, waveform: torch.Tensor, vocabulary: Vocabulary, beam_width: int = 1) -> str:
    """The text of one waveform ``(samples,)`` at ``model.sample_rate``: greedy decoding, or prefix
    beam search when ``beam_width > 1``."""
    log_probs, _ = model.eval()(waveform.unsqueeze(0))
    if beam_width > 1:
        labels = ctc.prefix_beam_search(log_probs[0], beam_width=beam_width)[0].labels
    else:
        labels = ctc.greedy_decode(log_probs[0])
    return vocabulary.decode(list(labels))
