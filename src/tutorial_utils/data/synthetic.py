"""Synthetic spoken digits: many voices from the espeak-ng text-to-speech program, as extra
training speakers for a spotter trained on FSDD's few real voices.

Each voice is an English accent, a voice variant (espeak-ng's male, female and Klatt-synthesiser
variants), a pitch and a speaking rate, drawn from a seeded generator; each of its takes of a
digit varies the pitch and rate a little more. The clips are written like FSDD's, as
``{digit}_{voice}_{take}.wav`` at 8 kHz with the silence around the word trimmed, into a folder
named by the settings, and reused when they are there. espeak-ng is an ordinary program
(Debian/Ubuntu and Colab: ``apt-get install espeak-ng``); nothing is downloaded.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile
import torch
import torchaudio
from tqdm import tqdm

from .. import config
from .audio import load_audio
from .fsdd import SAMPLE_RATE, FsddRecording

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3", "klatt4")
PROGRAM = "espeak-ng"
INSTALL_HINT = "install it (Debian, Ubuntu and Colab: apt-get install espeak-ng)"


class SynthesisError(RuntimeError):
    """espeak-ng is missing or failed."""


@dataclass(frozen=True)
class SyntheticVoice:
    """One synthetic speaker: espeak-ng's ``accent+variant`` at ``pitch`` (0-99) and ``rate`` (words a minute)."""

    name: str
    accent: str
    variant: str
    pitch: int
    rate: int


def synthetic_voices(n_voices: int, seed: int = 0) -> list[SyntheticVoice]:
    """``n_voices`` voices named ``tts000``, ``tts001``, ...: accent, variant, pitch uniform in 20-80
    and rate uniform in 120-200 words a minute, drawn from ``random.Random(seed)``."""
    draw = random.Random(seed)
    return [SyntheticVoice(f"tts{i:03d}", draw.choice(ACCENTS), draw.choice(VARIANTS), draw.randint(20, 80),
                           draw.randint(120, 200)) for i in range(n_voices)]


def check_program() -> str:
    """The path of espeak-ng, or a :class:`SynthesisError` that says how to install it."""
    path = shutil.which(PROGRAM)
    if path is None:
        raise SynthesisError(f"synthetic voices need the {PROGRAM} program, which is not on PATH: {INSTALL_HINT}")
    return path


def trim_silence(waveform: torch.Tensor, threshold: float = 0.02) -> torch.Tensor:
    """``waveform`` ``(time,)`` without the samples before the first and after the last one whose
    magnitude reaches ``threshold`` times the peak (all of it if none does)."""
    loud = (waveform.abs() >= threshold * waveform.abs().max()).nonzero()
    return waveform[loud[0, 0]: loud[-1, 0] + 1] if len(loud) else waveform


def synthesize(word: str, voice: SyntheticVoice, path: Path, pitch: int, rate: int, program: str) -> None:
    """Speak ``word`` in ``voice`` at ``pitch`` and ``rate`` into ``path``: 8 kHz, mono, float, trimmed."""
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "raw.wav"
        command = [program, "-v", f"{voice.accent}+{voice.variant}", "-p", str(pitch), "-s", str(rate), "-w", str(raw), word]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not raw.is_file():
            raise SynthesisError(f"{' '.join(command)} failed: {done.stderr.strip() or 'no output file'}")
        waveform, rate_in = load_audio(raw)
    waveform = torchaudio.functional.resample(waveform, rate_in, SAMPLE_RATE)
    waveform = trim_silence(waveform)
    partial = path.with_name(path.name + ".partial")
    soundfile.write(partial, (0.5 * waveform / waveform.abs().max().clamp(min=1e-8)).numpy(), SAMPLE_RATE,
                    subtype="FLOAT", format="WAV")
    partial.replace(path)  # whole files only: a stopped run leaves no half-written clip behind


def ensure_synthetic_digits(n_voices: int, takes: int = 3, seed: int = 0, root: str | Path | None = None,
                            progress: bool = True) -> list[FsddRecording]:
    """Every digit spoken ``takes`` times by each of :func:`synthetic_voices` ``(n_voices, seed)``, as
    FSDD-style recordings (speakers ``tts000``, ...), written once into ``espeak-digits-seed{seed}/``
    under ``root`` (default: the user's cache of derived files) and reused. Take ``k`` shifts the
    voice's pitch by ``3 (k - 1)`` and its rate by ``8 (k - 1)``, so that the takes differ a little,
    as a person's do, and a file is the same whatever ``takes`` made it."""
    if n_voices < 1 or takes < 1:
        raise ValueError(f"need at least one voice and one take, got {n_voices} voices and {takes} takes")
    folder = Path(root if root is not None else config.cache_dir()) / f"espeak-digits-seed{seed}"
    voices = synthetic_voices(n_voices, seed)
    wanted = [(voice, digit, take) for voice in voices for digit in range(10) for take in range(takes)]
    missing = [item for item in wanted if not (folder / f"{item[1]}_{item[0].name}_{item[2]}.wav").is_file()]
    if missing:
        program = check_program()
        folder.mkdir(parents=True, exist_ok=True)
        for voice, digit, take in tqdm(missing, desc=f"{PROGRAM}: synthetic digits", disable=not progress):
            offset = take - 1
            synthesize(DIGIT_WORDS[digit], voice, folder / f"{digit}_{voice.name}_{take}.wav",
                       pitch=min(99, max(0, voice.pitch + 3 * offset)), rate=max(80, voice.rate + 8 * offset),
                       program=program)
    return [FsddRecording(folder / f"{digit}_{voice.name}_{take}.wav", digit, voice.name, take)
            for voice, digit, take in wanted]
