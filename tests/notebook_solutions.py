"""The exercise solutions as the chapters show them, for the tests of the exercise checkers: read
from the notebook on every test run, so that the tests check what readers see.

A solution is a markdown cell's MyST directive::

    ````{solution} ex-ch1-htk-filterbank
    :class: dropdown

    text ...

    ```python
    def my_mel_filterbank(n_freqs, sample_rate, n_mels):
        ...

    checks.check_mel_filterbank(my_mel_filterbank)
    ```
    ````

:func:`solution` runs the statements of its ``python`` blocks except bare expressions (the call of
the checker, prints) in a namespace holding what the chapters import as ``math``, ``torch``,
``nn``, ``F`` and ``np``, plus the chapter's own functions it names, and returns the function.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMESPACE = {"math": math, "torch": torch, "nn": nn, "F": F, "np": np}
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def chapter(number: int) -> Path:
    """The committed notebook of chapter ``number``."""
    (path,) = NOTEBOOKS.glob(f"{number:02d}_*.ipynb")
    return path


@functools.cache
def _cells(path: Path) -> tuple[nbformat.NotebookNode, ...]:
    return tuple(nbformat.read(path, as_version=4).cells)


def solution_code(path: Path, label: str) -> str:
    """The python code blocks of the ``{solution} label`` directive in the notebook ``path``."""
    opening = re.compile(r"^(`{3,}|:{3,})\{solution\}[ \t]+" + re.escape(label) + r"[ \t]*$", re.MULTILINE)
    for cell in _cells(path):
        if cell.cell_type != "markdown" or not (match := opening.search(cell.source)):
            continue
        fence = match.group(1)
        closing = re.compile("^" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE)
        end = closing.search(cell.source, match.end())
        body = cell.source[match.end(): end.start() if end else len(cell.source)]
        blocks = PYTHON_BLOCK.findall(body)
        if not blocks:
            raise LookupError(f"{path.name}: the solution {label} holds no ```python block")
        return "\n".join(blocks)
    raise LookupError(f"{path.name}: no {{solution}} {label}")


def _definitions(code: str, filename: str, keep: Callable[[ast.stmt], bool]):
    tree = ast.parse(code, filename)
    tree.body = [statement for statement in tree.body if keep(statement)]
    return compile(tree, filename, "exec")


def chapter_functions(path: Path, *names: str) -> dict[str, Callable]:
    """The functions ``names`` as the code cells of the notebook ``path`` define them (only their
    ``def`` statements are run, in ``NAMESPACE``)."""
    found = {}
    for index, cell in enumerate(_cells(path)):
        wanted = [name for name in names if cell.cell_type == "code" and f"def {name}(" in cell.source]
        if wanted:
            namespace = dict(NAMESPACE)
            keep = lambda s: isinstance(s, ast.FunctionDef) and s.name in wanted  # noqa: E731
            exec(_definitions(cell.source, f"{path.name}, cell {index}", keep), namespace)
            found.update({name: namespace[name] for name in wanted})
    if missing := [name for name in names if name not in found]:
        raise LookupError(f"{path.name}: no code cell defines {missing}")
    return found


def solution(number: int, label: str, name: str, *, uses: tuple[str, ...] = ()) -> Callable:
    """The function ``name`` that the solution ``label`` of chapter ``number`` defines. ``uses``:
    functions of the chapter's code cells that the solution calls (:func:`chapter_functions`).
    The notebook is read at the first call, so that a missing solution fails the tests that use
    it rather than the collection of the test module."""

    @functools.cache
    def load() -> Callable:
        path = chapter(number)
        namespace = {**NAMESPACE, **chapter_functions(path, *uses)}
        keep = lambda s: not isinstance(s, ast.Expr)  # noqa: E731  (the checker's call, prints)
        exec(_definitions(solution_code(path, label), f"{path.name}, solution {label}", keep), namespace)
        if not callable(namespace.get(name)):
            raise LookupError(f"{path.name}: the solution {label} defines no function {name}")
        return namespace[name]

    def call(*args, **kwargs):
        return load()(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def chapter_function(number: int, name: str) -> Callable:
    """The function ``name`` as a code cell of chapter ``number`` defines it, read at the first call."""
    load = functools.cache(lambda: chapter_functions(chapter(number), name)[name])

    def call(*args, **kwargs):
        return load()(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
