"""Downloading a file safely, and checking files against a ``sha256sum``-style manifest.

:func:`download_file` streams into a temporary file beside the destination and moves it into
place only once it is complete (and matches its SHA-256, if given), so an interrupted download
never leaves a truncated file under the real name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from tqdm import tqdm

CHUNK_SIZE = 1 << 16


class DownloadError(RuntimeError):
    """A download failed; the message names the URL, the destination and the fix, ``reason`` the
    cause alone (e.g. ``"the server answered HTTP 404 Not Found"``)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class ChecksumError(ValueError):
    """Files in a folder do not match their manifest; ``problems`` lists the unlisted, altered or
    missing files without naming the folder."""

    def __init__(self, message: str, problems: str | None = None) -> None:
        super().__init__(message)
        self.problems = problems or message


def sha256sum(path: str | Path) -> str:
    """The SHA-256 digest of a file as 64 hex digits (what ``sha256sum`` prints)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_sha256sums(text: str) -> dict[str, str]:
    """Parse ``sha256sum`` output (``<hex>  <name>`` per line) into ``{name: hex}``."""
    manifest = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().removeprefix("*")  # "*" marks binary mode in sha256sum's output
        if len(digest) != 64 or not name:
            raise ValueError(f"line {number} of the checksum manifest is not '<sha256>  <name>': {line!r}")
        manifest[name] = digest.lower()
    return manifest


def _some(names: Iterable[str], limit: int = 5) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def check_sha256sums(
    folder: str | Path, manifest: Mapping[str, str], pattern: str = "*", require_all: bool = False
) -> int:
    """Check the files of ``folder`` matching ``pattern`` against ``manifest`` (``{name: sha256}``).

    Every such file must be listed and match; with ``require_all`` every listed file must also be
    present. Raises :class:`ChecksumError` naming the offending files; returns how many were checked.
    """
    folder = Path(folder)
    present = {p.name: p for p in folder.glob(pattern) if not p.name.startswith(".")}
    unlisted = set(present) - set(manifest)
    altered = {name for name, path in present.items() if name in manifest and sha256sum(path) != manifest[name]}
    missing = set(manifest) - set(present) if require_all else set()
    problems = []
    if unlisted:
        problems.append(f"{len(unlisted)} file(s) not in the manifest: {_some(unlisted)}")
    if altered:
        problems.append(f"{len(altered)} file(s) whose SHA-256 differs from the manifest: {_some(altered)}")
    if missing:
        problems.append(f"{len(missing)} file(s) of the manifest missing: {_some(missing)}")
    if problems:
        raise ChecksumError(f"{folder} holds {'; '.join(problems)}", "; ".join(problems))
    return len(present)


def _describe(error: BaseException, timeout: float) -> str:
    """A short human-readable cause of a failed download."""
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        if isinstance(error.reason, TimeoutError):
            return f"the server did not answer within {timeout:g} s (timed out)"
        return f"could not connect ({error.reason})"
    if isinstance(error, TimeoutError):
        return f"no data arrived for {timeout:g} s (timed out)"
    if isinstance(error, http.client.IncompleteRead):
        return f"the connection dropped after {len(error.partial)} bytes (incomplete read)"
    return f"{type(error).__name__}: {error}"


def download_file(
    url: str,
    dest: str | Path,
    expected_sha256: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` with a progress bar; returns ``dest``.

    The bytes go to a temporary file in ``dest``'s folder, which replaces ``dest`` atomically once
    the download is complete and (if ``expected_sha256`` is given) its SHA-256 matches. On any
    failure the temporary file is removed and a :class:`DownloadError` names the URL, the path and
    the fix. ``timeout``: seconds to wait for the server or for the next bytes.
    """
    dest = Path(dest)

    def failure(reason: str) -> DownloadError:
        return DownloadError(
            f"could not download {url} to {dest}: {reason}. Check the network connection and try "
            f"again, or download {url} by hand and save it as {dest}",
            reason,
        )

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as error:
        raise failure(f"cannot write to {dest.parent} ({error})") from error
    partial = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as file:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    received = 0
                    with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                        for chunk in iter(lambda: response.read(CHUNK_SIZE), b""):
                            file.write(chunk)
                            digest.update(chunk)
                            received += len(chunk)
                            bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as error:
                raise failure(_describe(error, timeout)) from error
        if total is not None and received < total:
            raise failure(f"the connection dropped after {received} of {total} bytes")
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256.lower():
            raise failure(f"its SHA-256 is {digest.hexdigest()}, not the expected {expected_sha256}")
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(partial, 0o666 & ~umask)  # a finished download gets the usual permissions, not mkstemp's 0600
            os.replace(partial, dest)
        except OSError as error:
            raise failure(f"cannot move the download into place ({error})") from error
    finally:
        partial.unlink(missing_ok=True)
    return dest
