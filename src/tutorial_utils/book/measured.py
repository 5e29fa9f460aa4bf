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
