"""Run profile, data directory and device: the only place that reads environment variables.

Two variables steer every chapter:

* ``BOOK_PROFILE`` -- ``ci`` (seconds per notebook, for tests), ``cpu`` (a laptop finishes each
  chapter in minutes) or ``gpu`` (full-size data and models). Unset, the machine chooses: ``gpu``
  where CUDA is available (a Colab GPU runtime, say), ``cpu`` anywhere else.
* ``BOOK_DATA_DIR`` -- where datasets are found or downloaded to
  (default: ``$XDG_CACHE_HOME/resnet-speech-book`` or ``~/.cache/resnet-speech-book``).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import TypeVar

import torch

PROFILE_VARIABLE = "BOOK_PROFILE"
DATA_DIR_VARIABLE = "BOOK_DATA_DIR"
PROFILES = ("ci", "cpu", "gpu")

#: The project's repository; notebooks' Colab setup cells and the book's launch buttons use it.
REPOSITORY_URL = "https://github.com/resnet-speech/resnet-speech-book"

T = TypeVar("T")


def machine_profile() -> str:
    """The profile the machine calls for when ``BOOK_PROFILE`` is unset: ``gpu`` with CUDA, else ``cpu``."""
    return "gpu" if torch.cuda.is_available() else "cpu"


def profile_is_chosen_by_the_machine() -> bool:
    """True when ``BOOK_PROFILE`` is unset or empty, so that :func:`machine_profile` decides."""
    return not os.environ.get(PROFILE_VARIABLE, "").strip()


def profile() -> str:
    """The run profile: ``BOOK_PROFILE`` (``ci``, ``cpu`` or ``gpu``) or, unset, :func:`machine_profile`."""
    if profile_is_chosen_by_the_machine():
        return machine_profile()
    name = os.environ[PROFILE_VARIABLE].strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE}={name!r} is not a run profile; use one of {', '.join(PROFILES)}."
        )
    return name


def by_profile(*, ci: T, cpu: T, gpu: T) -> T:
    """Pick the value for the current profile, e.g. ``epochs = by_profile(ci=1, cpu=20, gpu=40)``."""
    return {"ci": ci, "cpu": cpu, "gpu": gpu}[profile()]


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "resnet-speech-book"


def data_dir() -> Path:
    """The data directory: ``BOOK_DATA_DIR`` if set, else a folder under the user's cache.

    It may be read-only (CI points it at a shared copy): nothing derived is written here.
    """
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    return _user_cache()


def cache_dir() -> Path:
    """Where derived files (generated utterances, cached features) go: always the user's cache."""
    return _user_cache() / "derived"


def device() -> torch.device:
    """The fastest available device: CUDA, then Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(dev: torch.device | None = None) -> str:
    """A human-readable name of ``dev`` (the GPU's model, or the CPU's architecture)."""
    dev = dev or device()
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    if dev.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores)"


def describe() -> str:
    """What produced a notebook's outputs (profile, device, torch version) and how to change the profile.

    The first line is ``profile=… | device=… | torch …``; the second says who chose the profile
    and how to pick another one from inside a notebook.
    """
    chosen = (
        f"chosen by this machine ({'CUDA' if torch.cuda.is_available() else 'no CUDA'}), {PROFILE_VARIABLE} is unset"
        if profile_is_chosen_by_the_machine()
        else f"set by {PROFILE_VARIABLE}"
    )
    return (
        f"profile={profile()} | device={device_name()} | torch {torch.__version__}\n"
        f"The profile was {chosen}. To change it, run `%env {PROFILE_VARIABLE}=ci` (or cpu, gpu) "
        "and run the notebook again from the top."
    )


def launched_by_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE`` and the
    rendezvous address for ``torch.distributed.init_process_group``)."""
    return all(os.environ.get(name) for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))
