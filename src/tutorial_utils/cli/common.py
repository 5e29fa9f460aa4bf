"""What every command line shares: argument checks that run before any data is loaded, and one
line instead of a traceback for the errors a user can fix.

A command builds its parser with :func:`parser`, checks its arguments with the ``positive``,
``writable_file`` and ``usable_device`` helpers, and runs its body under :func:`run`, which turns
the book's own errors (a bad checkpoint, audio file, download or data set) into
``prog: error: ...`` and exit status 2. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

from .. import config
from ..data import AudioFileError, DownloadError
from ..data.synthetic import SynthesisError
from ..training.checkpoint import CheckpointError

T = TypeVar("T")

#: Errors that a user can fix from their message alone; anything else is a bug and keeps its traceback.
USER_ERRORS = (CheckpointError, AudioFileError, DownloadError, SynthesisError, FileNotFoundError, NotADirectoryError,
               IsADirectoryError, PermissionError, ValueError)


def parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """An argument parser with ``--debug``; fails with one line if ``BOOK_PROFILE`` is not a profile
    (the defaults of several options depend on it), even before ``--help``."""
    try:
        config.profile()
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    result = argparse.ArgumentParser(prog=prog, description=description)
    result.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    return result


def positive(name: str) -> Callable[[str], int]:
    """An argparse ``type``: an integer of at least 1 (``--epochs 0`` is a usage error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, not {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, not {value}")
        return value

    return parse


def writable_file(parser: argparse.ArgumentParser, option: str, path: str | None) -> Path | None:
    """Check, before any work, that ``path`` can be written: not a folder, its folder created if
    missing, and writable. Returns it as a ``Path`` (``None`` stays ``None``)."""
    if path is None:
        return None
    target = Path(path).expanduser()
    if target.is_dir():
        parser.error(f"{option} {target} is a folder: give a file name, such as {target / 'model.pt'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".write-test-"):
            pass
    except OSError as error:
        parser.error(f"{option} {target}: cannot write in {target.parent} ({error.strerror}); choose another folder")
    return target


def usable_device(parser: argparse.ArgumentParser, name: str | None) -> torch.device:
    """The device named by ``--device`` if this machine has it (default: the fastest available)."""
    if name is None:
        return config.device()
    try:
        device = torch.device(name)
    except RuntimeError:
        parser.error(f"--device {name!r} is not a device: use cpu, cuda, cuda:N or mps")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {name}: this machine has no CUDA GPU (PyTorch {torch.__version__}); use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        parser.error(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices")
    mps = getattr(torch.backends, "mps", None)
    if device.type == "mps" and not (mps is not None and mps.is_available()):
        parser.error(f"--device {name}: Apple's MPS is not available here; use --device cpu")
    return device


def run(prog: str, debug: bool, body: Callable[[], T]) -> T:
    """Call ``body``; a user-fixable error becomes ``prog: error: message`` and exit status 2,
    unless ``debug``."""
    try:
        return body()
    except USER_ERRORS as error:
        if debug:
            raise
        print(f"{prog}: error: {str(error).strip() or type(error).__name__}", file=sys.stderr)
        sys.exit(2)
