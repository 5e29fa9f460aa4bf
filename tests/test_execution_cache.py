"""`make book` executes each chapter once per profile and caches the outputs outside the site;
the tests' ci profile always executes (book/_ext/execution_cache.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import book_ext

ROOT = Path(__file__).resolve().parents[1]


def extension():
    pytest.importorskip("sphinx", reason="needs the book's environment (Sphinx)")
    return book_ext.load("execution_cache")


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_cpu_and_gpu_builds_cache_per_profile_outside_the_site(monkeypatch, profile):
    monkeypatch.setenv("BOOK_PROFILE", profile)
    config = SimpleNamespace(nb_execution_mode="force", nb_execution_cache_path="")
    extension().choose_execution(SimpleNamespace(srcdir=str(ROOT)), config)
    assert config.nb_execution_mode == "cache"
    cache = Path(config.nb_execution_cache_path)
    assert cache == ROOT / "build" / "jupyter_cache" / profile
    assert "_build" not in cache.parts


def test_the_ci_build_always_executes(monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    config = SimpleNamespace(nb_execution_mode="cache", nb_execution_cache_path="")
    extension().choose_execution(SimpleNamespace(srcdir=str(ROOT)), config)
    assert config.nb_execution_mode == "force"


def test_make_book_builds_the_cpu_profile():
    makefile = (ROOT / "Makefile").read_text()
    assert "BOOK_PROFILE ?= cpu" in makefile
    assert "BOOK_PROFILE=$(BOOK_PROFILE) $(BIN)/jupyter-book build" in makefile
    assert "build/" in (ROOT / ".gitignore").read_text().split()
