"""The installed environment is exactly the lock: every package at its locked version, nothing else.

`make` installs requirements.txt with --require-hashes; the compatibility run (`make test-compat`)
passes ``--lock compat/NAME.txt`` for its own stack. A package installed or upgraded by hand, or a
lock edited without reinstalling, fails here with the list of differences.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
#: Installed beside any lock: the installer itself and the book's own package.
NOT_LOCKED = {"pip", "tutorial-utils"}


def locked_versions(lock: Path) -> dict[str, str]:
    """``{canonical name: version}`` for the lock's lines whose markers apply to this interpreter."""
    text = re.sub(r"\\\n", " ", lock.read_text())
    versions = {}
    for line in text.splitlines():
        line = re.sub(r"--hash=\S+", "", line.split("#", 1)[0]).strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            (pin,) = requirement.specifier
            assert pin.operator == "==", f"{lock.name}: {line!r} is not an exact pin"
            versions[canonicalize_name(requirement.name)] = pin.version
    return versions


def installed_versions() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def test_the_lock_parses_to_exact_pins():
    versions = locked_versions(ROOT / "requirements.txt")
    assert versions["torch"] == versions["torchaudio"] == "2.11.0"
    assert len(versions) > 100  # the transitive packages are locked too, not just the direct ones


def test_every_line_of_the_lock_has_hashes():
    entries = re.split(r"\n(?=\S)", (ROOT / "requirements.txt").read_text())
    packages = [e for e in entries if re.match(r"[A-Za-z0-9]", e)]
    unhashed = [e.split()[0] for e in packages if "--hash=sha256:" not in e]
    assert packages and not unhashed, f"entries without hashes: {unhashed}"


def test_requirements_in_pins_every_direct_dependency_exactly():
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "requirements.in").read_text().splitlines()]
    loose = [line for line in lines if line and "==" not in line]
    assert not loose, f"requirements.in: pin these exactly: {loose}"
    assert not [line for line in lines if "*" in line], "requirements.in: no wildcard pins"


def test_installed_environment_equals_the_lock(lock_file: Path):
    if not lock_file.exists():
        pytest.fail(f"--lock {lock_file}: no such file")
    locked, installed = locked_versions(lock_file), installed_versions()
    differences = [
        f"{name}: locked {version}, installed {installed.get(name, 'nothing')}"
        for name, version in sorted(locked.items())
        if installed.get(name) != version
    ]
    differences += [
        f"{name} {version} is installed but not in the lock"
        for name, version in sorted(installed.items())
        if name not in locked and name not in NOT_LOCKED
    ]
    assert not differences, (
        f"the environment differs from {lock_file.name} (reinstall it: rm -rf .venv && make setup):\n  "
        + "\n  ".join(differences)
    )
