"""Results the authors measured with the command-line entries, shipped with the package.

The rendered book runs its notebooks in the tiny ``ci`` profile; the full-length runs take minutes
to hours, so their JSON lines (exactly as ``python -m tutorial_utils.train`` and friends printed
them, with the command, device and profile) are stored in ``measurements/<name>.jsonl`` and shown
by the chapters with :func:`load`. Rerun a line's ``command`` to reproduce it.
"""

from __future__ import annotations

import json
from importlib import resources

REQUIRED_KEYS = ("command", "device", "profile")


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
