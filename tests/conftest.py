import sys
from pathlib import Path

import pytest
import torch

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
