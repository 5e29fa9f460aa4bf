"""Figures, tables and exercises numbered per chapter ("Exercise 3.2", "Fig. 5.1").

Sphinx numbers them through the whole book unless the table of contents numbers its sections,
and Jupyter Book restarts that numbering in every part. The chapters number their own sections
in their headings (which Colab shows too), so this extension only renumbers what Sphinx counted:
in each chapter ``notebooks/NN_*``, every kind of numbered object counts from 1, prefixed by NN.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

CHAPTER = re.compile(r"^notebooks/(\d\d)_")


def chapter_of(docname: str) -> int | None:
    """The chapter number of a document (``notebooks/03_x`` -> 3), ``None`` for other pages."""
    match = CHAPTER.match(docname)
    return int(match.group(1)) if match else None


def renumber(fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]]) -> list[str]:
    """Rewrite ``env.toc_fignumbers`` in place so that each chapter counts from ``(NN, 1)`` in the
    order Sphinx numbered them; returns the documents whose numbers changed."""
    changed = []
    for docname, by_type in fignumbers.items():
        chapter = chapter_of(docname)
        if chapter is None:
            continue
        for numbers in by_type.values():
            in_order = sorted(numbers, key=numbers.__getitem__)
            renumbered = {node_id: (chapter, index) for index, node_id in enumerate(in_order, start=1)}
            if renumbered != numbers:
                numbers.update(renumbered)
                changed.append(docname)
    return sorted(set(changed))


def _renumber(app: Sphinx, env: BuildEnvironment) -> list[str]:
    return renumber(env.toc_fignumbers)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-get-updated", _renumber, priority=900)  # after Sphinx's own numbering (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
