"""Downloading against a local HTTP server: download_file and a fresh FSDD install by ensure_fsdd.

Every failure (corrupt archive, checksum mismatch, missing file, unsafe member, dropped connection,
timeout, HTTP 404, unreachable server) must name the URL and the path, and leave nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tutorial_utils.data import DownloadError, download_file, ensure_fsdd, list_fsdd
from tutorial_utils.data.fsdd import FsddRecording

TOP = "free-spoken-digit-dataset-1.0.10"  # the folder GitHub's archive unpacks to


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (behaviour, body)``: ``ok``, ``drop`` (announces more bytes
    than it sends, then closes) or ``stall`` (sends half, then waits for ``server.release``)."""

    def do_GET(self) -> None:
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        behaviour, body = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) + (1000 if behaviour == "drop" else 0)))
        self.end_headers()
        if behaviour == "stall":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.server.release.wait(5)
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class Server:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.routes = {}
        self.httpd.release = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def serve(self, path: str, body: bytes, behaviour: str = "ok") -> str:
        self.httpd.routes[path] = (behaviour, body)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    running = Server()
    yield running
    running.close()


def wav_bytes(seed: int, samples: int = 400) -> bytes:
    buffer = io.BytesIO()
    noise = 0.1 * np.random.default_rng(seed).standard_normal(samples)
    soundfile.write(buffer, noise, 8000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def tar_gz(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def recordings() -> dict[str, bytes]:
    """Twelve short synthetic recordings named as FSDD's."""
    names = [(d, s, t) for d in range(3) for s in ("ann", "bob") for t in range(2)]
    return {f"{d}_{s}_{t}.wav": wav_bytes(seed) for seed, (d, s, t) in enumerate(names)}


@pytest.fixture
def manifest(recordings) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in recordings.items()}


def archive_of(recordings: dict[str, bytes]) -> bytes:
    members = {f"{TOP}/recordings/{name}": data for name, data in recordings.items()}
    return tar_gz({f"{TOP}/README.md": b"# FSDD\n", f"{TOP}/utils/x.py": b"", **members})


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --- download_file ------------------------------------------------------------------------------


def test_download_file_verifies_and_replaces_atomically(server, tmp_path):
    body = b"x" * 200_000
    url = server.serve("/file.bin", body)
    dest = tmp_path / "sub" / "file.bin"
    assert download_file(url, dest, expected_sha256=hashlib.sha256(body).hexdigest(), progress=False) == dest
    assert dest.read_bytes() == body and leftovers(tmp_path) == ["sub", "sub/file.bin"]

    dest.write_bytes(b"old")  # a failed download must not clobber the file that is there
    with pytest.raises(DownloadError, match=f"could not download {url} to {dest}: its SHA-256 is .*not the expected"):
        download_file(url, dest, expected_sha256="0" * 64, progress=False)
    assert dest.read_bytes() == b"old" and leftovers(tmp_path) == ["sub", "sub/file.bin"]


@pytest.mark.parametrize(
    "behaviour, timeout, reason",
    [("drop", 5, "connection dropped after 50000 of 51000 bytes"), ("stall", 0.3, "timed out")],
)
def test_download_file_detects_dropped_and_stalled_connections(server, tmp_path, behaviour, timeout, reason):
    url = server.serve("/file.bin", b"y" * 50_000, behaviour)
    dest = tmp_path / "file.bin"
    with pytest.raises(DownloadError, match=reason) as caught:
        download_file(url, dest, progress=False, timeout=timeout)
    assert url in str(caught.value) and str(dest) in str(caught.value)
    assert leftovers(tmp_path) == []


# --- ensure_fsdd: a fresh download ---------------------------------------------------------------


def test_fresh_download_installs_and_verifies_the_full_set(server, tmp_path, recordings, manifest):
    url = server.serve("/fsdd.tar.gz", archive_of(recordings))
    root = tmp_path / "data"
    folder = ensure_fsdd(root, url=url, manifest=manifest, progress=False)
    assert folder == root / "fsdd" / "recordings"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == recordings
    assert leftovers(root) == ["fsdd", "fsdd/recordings", *sorted(f"fsdd/recordings/{n}" for n in recordings)]

    server.httpd.routes.clear()  # present now: found and verified without the network
    assert ensure_fsdd(root, url=url, manifest=manifest, progress=False) == folder
    listed = list_fsdd(folder)
    assert listed[0] == FsddRecording(folder / "0_ann_0.wav", 0, "ann", 0) and len(listed) == 12


def test_a_failed_download_keeps_an_existing_fsdd_folder(server, tmp_path, manifest):
    root = tmp_path / "data"
    (root / "fsdd").mkdir(parents=True)
    (root / "fsdd" / "notes.txt").write_text("mine")
    with pytest.raises(DownloadError):
        ensure_fsdd(root, url=server.url("/missing.tar.gz"), manifest=manifest, progress=False)
    assert leftovers(root) == ["fsdd", "fsdd/notes.txt"]


def corrupt(recordings):
    return np.random.default_rng(1).bytes(5000)


def altered(recordings):
    return archive_of({**recordings, "1_bob_0.wav": wav_bytes(999)})


def incomplete(recordings):
    return archive_of({n: d for n, d in recordings.items() if n != "2_ann_1.wav"})


def unlisted(recordings):
    return archive_of({**recordings, "9_eve_0.wav": wav_bytes(5)})


def symlinked(recordings):
    members = {f"{TOP}/recordings/{n}": d for n, d in recordings.items()}
    return tar_gz(members, symlinks={f"{TOP}/recordings/3_ann_0.wav": "/etc/passwd"})


def traversal(recordings):
    return tar_gz({f"../recordings/{n}": d for n, d in recordings.items()})


def no_recordings(recordings):
    return tar_gz({f"{TOP}/README.md": b"# FSDD\n"})


def truncated(recordings):
    return archive_of(recordings)[:-300]


@pytest.mark.parametrize(
    "make_body, behaviour, reason",
    [
        (corrupt, "ok", "not a readable tar.gz"),
        (truncated, "ok", "not a readable tar.gz"),
        (altered, "ok", r"SHA-256 differs from the manifest: 1_bob_0\.wav"),
        (incomplete, "ok", r"1 file\(s\) of the manifest missing: 2_ann_1\.wav"),
        (unlisted, "ok", r"not in the manifest: 9_eve_0\.wav"),
        (symlinked, "ok", r"3_ann_0\.wav' is not a plain file"),
        (traversal, "ok", r"'\.\./recordings/0_ann_0\.wav' is not a plain file inside"),
        (no_recordings, "ok", "does not hold one <folder>/recordings/"),
        (archive_of, "drop", "connection dropped after"),
        (None, "404", "HTTP 404"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_failed_install_names_url_path_and_fix_and_leaves_nothing(
    server, tmp_path, recordings, manifest, make_body, behaviour, reason
):
    url = server.serve("/fsdd.tar.gz", make_body(recordings), behaviour) if make_body else server.url("/nothing.tar.gz")
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match=reason) as caught:
        ensure_fsdd(root, url=url, manifest=manifest, progress=False)
    message = str(caught.value)
    assert url in message and str(root / "fsdd" / "recordings") in message
    assert "by hand" in message and "BOOK_DATA_DIR" in message
    assert leftovers(root) == [] and leftovers(tmp_path) == ["data"]


def test_unreachable_server_names_url_and_path(tmp_path, manifest):
    with socket.socket() as probe:  # a port that nothing listens on once the socket closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/fsdd.tar.gz"
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="could not connect") as caught:
        ensure_fsdd(root, url=url, manifest=manifest, progress=False)
    assert url in str(caught.value) and str(root / "fsdd" / "recordings") in str(caught.value)
    assert leftovers(root) == []


def test_absent_without_download_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"FSDD is not in .*data/fsdd/recordings.*download=True"):
        ensure_fsdd(tmp_path / "data", download=False)
    assert leftovers(tmp_path) == []


def test_install_without_tarfile_data_filter(server, tmp_path, recordings, manifest, monkeypatch):
    """Pythons before 3.10.12 / 3.11.4 lack tarfile's extraction filters: members are checked by hand."""
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    url = server.serve("/fsdd.tar.gz", archive_of(recordings))
    folder = ensure_fsdd(tmp_path / "data", url=url, manifest=manifest, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == sorted(recordings)
    with pytest.raises(DownloadError, match="is not a plain file inside"):
        url = server.serve("/evil.tar.gz", traversal(recordings))
        ensure_fsdd(tmp_path / "other", url=url, manifest=manifest, progress=False)
    assert leftovers(tmp_path / "other") == [] and not (tmp_path / "recordings").exists()


def test_missing_recordings_of_a_present_speaker_are_fetched_again_alone(server, tmp_path, recordings, manifest):
    """A deleted (say, corrupt) recording comes back from the archive; the others are not touched."""
    url = server.serve("/fsdd.tar.gz", archive_of(recordings))
    ensure_fsdd(tmp_path, url=url, manifest=manifest, progress=False)
    folder = tmp_path / "fsdd" / "recordings"
    victim = sorted(manifest)[0]
    (folder / victim).unlink()
    other = folder / sorted(manifest)[1]
    before = other.stat().st_mtime_ns
    ensure_fsdd(tmp_path, url=url, manifest=manifest, progress=False)
    assert (folder / victim).is_file() and other.stat().st_mtime_ns == before
    assert not list(tmp_path.glob(".fsdd-download-*"))


def test_stale_download_folders_of_dead_processes_are_removed(server, tmp_path, recordings, manifest):
    stale = tmp_path / ".fsdd-download-999999999-abc"  # no such process
    (stale / "fsdd.tar.gz.part").parent.mkdir(parents=True)
    (stale / "fsdd.tar.gz.part").write_bytes(b"half")
    ensure_fsdd(tmp_path, url=server.serve("/fsdd.tar.gz", archive_of(recordings)), manifest=manifest, progress=False)
    assert not stale.exists()


def test_finished_downloads_get_ordinary_permissions(server, tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = download_file(server.serve("/x.bin", b"payload"), tmp_path / "x.bin", progress=False)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
