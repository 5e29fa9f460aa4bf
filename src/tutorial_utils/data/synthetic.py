"""Synthetic spoken digits: many voices from a text-to-speech program, as extra training speakers
for a spotter trained on FSDD's few real voices.

Two programs, both ordinary packages (Debian/Ubuntu and Colab: ``apt-get install espeak-ng flite``;
nothing is downloaded):

* **espeak-ng**, a formant synthesiser: each voice is an English accent and a voice variant
  (its male, female and Klatt-synthesiser variants) at a pitch and a speaking rate;
* **flite**, CMU's small synthesiser: each voice is one of its four built-in voices, each made from
  the recordings of one person (kal16, a diphone voice; awb, rms and slt, statistical parametric
  ones), asked for a mean pitch in Hz (rms keeps its own) and a speed.

A voice is drawn from a seeded generator; each of its takes of a digit varies the pitch and rate a
little more. The clips are written like FSDD's, as ``{digit}_{voice}_{take}.wav`` at 8 kHz with the
silence around the word trimmed, into a folder named by the program and the seed, and reused when
they are there.
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
from .fsdd import DIGIT_WORDS, SAMPLE_RATE, FsddRecording

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3", "klatt4")
FLITE_VOICES = ("kal16", "awb", "rms", "slt")


class SynthesisError(RuntimeError):
    """The text-to-speech program is missing or failed."""


@dataclass(frozen=True)
class Engine:
    """A text-to-speech program: its command line (a template), the parts its voices are drawn from
    (joined by ``+``), the ranges and limits of a voice's ``pitch`` and ``rate``, how far each take
    moves them, and the prefix of its speakers' names."""

    program: str
    arguments: tuple[str, ...]
    voice_parts: tuple[tuple[str, ...], ...]
    pitch: tuple[int, int]
    rate: tuple[int, int]
    limits: tuple[tuple[int, int], tuple[int, int]]
    take_step: tuple[int, int]
    prefix: str

    def command(self, voice: str, word: str, pitch: int, rate: int, out: Path) -> list[str]:
        """The command line that speaks ``word`` into the WAV file ``out``."""
        fields = dict(voice=voice, word=word, pitch=pitch, rate=rate, stretch=f"{100 / rate:.4f}", out=out)
        return [self.program, *(argument.format(**fields) for argument in self.arguments)]


ENGINES = {
    # pitch 0-99, rate in words a minute
    "espeak-ng": Engine("espeak-ng", ("-v", "{voice}", "-p", "{pitch}", "-s", "{rate}", "-w", "{out}", "{word}"),
                        (ACCENTS, VARIANTS), pitch=(20, 80), rate=(120, 200), limits=((0, 99), (80, 450)),
                        take_step=(3, 8), prefix="tts"),
    # pitch: the mean F0 in Hz; rate: percent of the voice's own speed (flite stretches durations by 100 / rate)
    "flite": Engine("flite", ("-voice", "{voice}", "--setf", "int_f0_target_mean={pitch}", "--setf",
                              "duration_stretch={stretch}", "-t", "{word}", "-o", "{out}"),
                    (FLITE_VOICES,), pitch=(90, 220), rate=(80, 125), limits=((50, 400), (50, 200)),
                    take_step=(8, 5), prefix="flite"),
}


@dataclass(frozen=True)
class SyntheticVoice:
    """One synthetic speaker: the program's ``voice`` (espeak-ng: ``accent+variant``; flite: a voice
    name) at ``pitch`` (espeak-ng: 0-99; flite: mean F0 in Hz) and ``rate`` (espeak-ng: words a
    minute; flite: percent of the voice's own speed)."""

    name: str
    engine: str
    voice: str
    pitch: int
    rate: int


def synthetic_voices(n_voices: int, seed: int = 0, engine: str = "espeak-ng") -> list[SyntheticVoice]:
    """``n_voices`` voices of ``engine`` named ``tts000``, ``tts001``, ... (flite: ``flite000``, ...):
    a voice, a pitch and a rate drawn uniformly from the engine's ranges with ``random.Random(seed)``.
    (espeak-ng: pitch 20-80, rate 120-200 words a minute; flite: 90-220 Hz, 80-125 %.)"""
    spec = ENGINES[engine]
    draw = random.Random(seed)
    return [SyntheticVoice(f"{spec.prefix}{i:03d}", engine, "+".join(draw.choice(part) for part in spec.voice_parts),
                           draw.randint(*spec.pitch), draw.randint(*spec.rate)) for i in range(n_voices)]


def check_program(engine: str = "espeak-ng") -> str:
    """The path of ``engine``'s program, or a :class:`SynthesisError` that says how to install it."""
    program = ENGINES[engine].program
    path = shutil.which(program)
    if path is None:
        raise SynthesisError(f"synthetic voices need the {program} program, which is not on PATH: install it "
                             f"(Debian, Ubuntu and Colab: apt-get install {program})")
    return path


def trim_silence(waveform: torch.Tensor, threshold: float = 0.02) -> torch.Tensor:
    """``waveform`` ``(time,)`` without the samples before the first and after the last one whose
    magnitude reaches ``threshold`` times the peak (all of it if none does)."""
    loud = (waveform.abs() >= threshold * waveform.abs().max()).nonzero()
    return waveform[loud[0, 0]: loud[-1, 0] + 1] if len(loud) else waveform


def synthesize(word: str, voice: SyntheticVoice, path: Path, pitch: int, rate: int) -> None:
    """Speak ``word`` in ``voice`` at ``pitch`` and ``rate`` into ``path``: 8 kHz, mono, float, trimmed."""
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "raw.wav"
        command = ENGINES[voice.engine].command(voice.voice, word, pitch, rate, raw)
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
                            progress: bool = True, engine: str = "espeak-ng") -> list[FsddRecording]:
    """Every digit spoken ``takes`` times by each of :func:`synthetic_voices` ``(n_voices, seed, engine)``,
    as FSDD-style recordings (speakers ``tts000``, ... or ``flite000``, ...), written once into
    ``{engine}-digits-seed{seed}/`` (espeak-ng: ``espeak-digits-seed{seed}/``) under ``root`` (default:
    the user's cache of derived files) and reused. Take ``k`` moves the voice's pitch and rate by
    ``k - 1`` steps of the engine's ``take_step`` (espeak-ng: 3 and 8; flite: 8 Hz and 5 %), so that
    the takes differ a little, as a person's do, and a file is the same whatever ``takes`` made it."""
    if engine not in ENGINES:
        raise ValueError(f"unknown text-to-speech program {engine!r}: choose one of {', '.join(ENGINES)}")
    if n_voices < 1 or takes < 1:
        raise ValueError(f"need at least one voice and one take, got {n_voices} voices and {takes} takes")
    spec = ENGINES[engine]
    folder = Path(root if root is not None else config.cache_dir()) / f"{engine.removesuffix('-ng')}-digits-seed{seed}"
    voices = synthetic_voices(n_voices, seed, engine)
    wanted = [(voice, digit, take) for voice in voices for digit in range(10) for take in range(takes)]
    missing = [item for item in wanted if not (folder / f"{item[1]}_{item[0].name}_{item[2]}.wav").is_file()]
    if missing:
        check_program(engine)
        folder.mkdir(parents=True, exist_ok=True)
        for voice, digit, take in tqdm(missing, desc=f"{engine}: synthetic digits", disable=not progress):
            (low_pitch, high_pitch), (low_rate, high_rate) = spec.limits
            pitch = min(high_pitch, max(low_pitch, voice.pitch + spec.take_step[0] * (take - 1)))
            rate = min(high_rate, max(low_rate, voice.rate + spec.take_step[1] * (take - 1)))
            synthesize(DIGIT_WORDS[digit], voice, folder / f"{digit}_{voice.name}_{take}.wav", pitch, rate)
    return [FsddRecording(folder / f"{digit}_{voice.name}_{take}.wav", digit, voice.name, take)
            for voice, digit, take in wanted]
