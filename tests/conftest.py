from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

# Let tests import the helper scripts that live beside them (strip_outputs.py).
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests' tensors are small: one thread beats several contending threads (measured ~3x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--lock",
        default=str(Path(__file__).parents[1] / "requirements.txt"),
        help="the lock file the installed environment must equal (default: requirements.txt)",
    )


@pytest.fixture(scope="session")
def lock_file(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.getoption("--lock"))


@pytest.fixture(scope="session")
def build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The one execution of every notebook in the test run (tests/test_book.py, tests/test_site.py):
    the book built in the ci profile, with Sphinx warnings as errors; the build's output folder and
    result."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jupyter_book), "build", ".", "--config", "book/_config.yml", "--toc", "book/_toc.yml",
        "--path-output", str(out), "-W", "-n", "--keep-going",
    ]
    env = {**os.environ, "BOOK_PROFILE": "ci"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    return out / "_build", result


@pytest.fixture(scope="session")
def html(build) -> Path:
    """The built site, from a build that succeeded."""
    built, result = build
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return built / "html"
