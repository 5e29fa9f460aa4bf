"""Run records: the one JSON line every command prints (:func:`record`), and the full-length
results the authors measured with the commands, shipped with the package.

The full-length runs take minutes to hours, so their JSON lines (exactly as
``python -m tutorial_utils.train`` and friends printed them, with the command, device and profile)
are stored in ``measurements/<name>.jsonl`` and shown by the chapters with :func:`load`. Rerun a
line's ``command`` to reproduce it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import torch

from .. import config

#: What every record says: how to reproduce it, on what code, where, and in which profile.
REQUIRED_KEYS = ("command", "commit", "device", "profile")


def names() -> list[str]:
    """The stored measurement sets, e.g. ``["kws_fsdd", ...]``."""
    folder = resources.files(__package__) / "measurements"
    return sorted(p.name.removesuffix(".jsonl") for p in folder.iterdir() if p.name.endswith(".jsonl"))


def load(name: str) -> list[dict]:
    """The records of measurement set ``name``, one dict per run, in the order they were run."""
    path = resources.files(__package__) / "measurements" / f"{name}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no measurement set {name!r}; available: {names()}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def source_version() -> str:
    """The code that runs: the git commit of the checkout this package is imported from (with
    ``-dirty`` when its ``src`` folder has uncommitted changes), else the installed package's version.
    Records use :data:`SOURCE`, read when the package was imported, since edits made to the checkout
    while a long run trains do not change the code that run loaded."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, check=True).stdout.strip()

    try:
        checkout = Path(git("rev-parse", "--show-toplevel"))
        if checkout / "src" / "tutorial_utils" != here.parent:
            raise FileNotFoundError("installed inside some other repository")
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--", str(checkout / "src"))
    except (OSError, subprocess.CalledProcessError):
        from .. import __version__
        return f"tutorial_utils {__version__}"
    return commit + ("-dirty" if dirty else "")


#: :func:`source_version` when this module was imported, that is, when the run loaded its code.
SOURCE = source_version()


def record(launcher: Sequence[str], argv: Sequence[str], device: torch.device, **results: object) -> dict:
    """Print and return one run's record: the ``command`` that reproduces it (``launcher`` such as
    ``["python", "-m", "tutorial_utils.train"]``, then ``argv``), the ``device``, ``profile``, the
    code (``commit``, see :func:`source_version`) and ``torch`` version, then ``results``."""
    line = {
        "command": shlex.join([*launcher, *argv]),
        "device": config.device_name(device),
        "profile": config.profile(),
        "commit": SOURCE,
        "torch": torch.__version__,
        **results,
    }
    print(json.dumps(line), flush=True)
    return line


def held_out_speaker(run: dict) -> str:
    """The speaker a leave-one-speaker-out run tested on (its split ``speaker-independent:NAME``)."""
    kind, _, speaker = run["split"].partition(":")
    if kind != "speaker-independent" or not speaker or "," in speaker:
        raise ValueError(f"not a leave-one-speaker-out run: split {run['split']!r}")
    return speaker


def is_default_spotter_run(run: dict, model: str = "res8") -> bool:
    """Whether a ``kws_fsdd_speaker_study`` run used the default recipe of ``python -m
    tutorial_utils.train`` (40 synthetic voices, mixup 0.2, per-utterance normalisation, 25 epochs,
    speed, shift, noise and one SpecAugment mask of each kind, batch norm throughout, no weight
    averaging; the voices from espeak-ng) with ``model``, at any seed."""
    return (run.get("synthetic_voices") == 40 and run["mixup"] == 0.2 and run["normalize"] == "utterance"
            and run["epochs"] == 25 and run["model"] == model and not run.get("instance_norm")
            and not run.get("average_last") and run.get("synthetic_engine", "espeak-ng") == "espeak-ng"
            and run.get("specaugment_masks", 1) == 1
            and sorted(run["augment"]) == ["noise", "shift", "specaugment", "speed"])


def leave_one_out_table(recipes: dict[str, list[dict]], metric: str, higher_is_better: bool = True) -> str:
    """A table of leave-one-speaker-out runs, one line per recipe (``{name: runs}``): ``metric`` per
    held-out speaker (the mean over seeds where a recipe ran several), the mean over speakers, each
    seed's mean, the worst speaker (lowest if ``higher_is_better``, else highest) and the mean
    training minutes per run. A recipe that misses a speaker gets a blank there and no mean."""
    speakers = sorted({held_out_speaker(run) for runs in recipes.values() for run in runs})
    width = max(len(name) for name in recipes) + 2
    head = f"{'recipe':{width}s}" + "".join(f"{s:>10s}" for s in speakers)
    lines = [head + f"{'mean':>8s}   {'per seed':16s}{'worst':>18s}{'min/run':>9s}"]
    for name, runs in recipes.items():
        by_seed: dict[int, dict[str, float]] = {}
        for run in runs:
            by_seed.setdefault(run["seed"], {})[held_out_speaker(run)] = run[metric]
        per_speaker = {s: [values[s] for values in by_seed.values() if s in values] for s in speakers}
        cells = {s: sum(v) / len(v) for s, v in per_speaker.items() if v}
        line = f"{name:{width}s}" + "".join(f"{cells[s]:10.1%}" if s in cells else " " * 10 for s in speakers)
        complete = {seed: values for seed, values in by_seed.items() if set(values) == set(speakers)}
        if len(cells) == len(speakers) and complete:
            mean = sum(sum(v.values()) / len(v) for v in complete.values()) / len(complete)
            seeds = " ".join(f"{sum(v.values()) / len(v):.1%}" for _, v in sorted(complete.items()))
            worst = (min if higher_is_better else max)(cells, key=cells.get)
            line += f"{mean:8.1%}   {seeds:16s}{worst:>10s} {cells[worst]:6.1%}"
        else:
            line += " " * 44
        minutes = [run["train_seconds"] / 60 for run in runs if "train_seconds" in run]
        lines.append(line + (f"{sum(minutes) / len(minutes):9.1f}" if minutes else ""))
    return "\n".join(lines)
