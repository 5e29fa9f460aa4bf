"""Strip notebook outputs except those of cells nbval checks (cell tag ``nbval-check-output``).

Usage: ``python tests/strip_outputs.py notebooks/*.ipynb``. ``tests/test_notebook_policy.py``
enforces the result: committed notebooks hold only those checked, text-only outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

#: nbval's cell tag for "compare this cell's outputs" (kept in metadata, invisible on the page).
CHECK_TAG = "nbval-check-output"
TEXT_MIME = "text/plain"


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """True for a code cell whose outputs nbval compares."""
    return cell.cell_type == "code" and CHECK_TAG in cell.metadata.get("tags", [])


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs of unchecked cells, non-text outputs of checked ones, and run metadata."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if not is_checked(cell):
            cell.outputs, cell.execution_count = [], None
            continue
        kept = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stdout":
                kept.append(out)
            elif out.output_type in ("execute_result", "display_data") and TEXT_MIME in out.data:
                out.data = {TEXT_MIME: out.data[TEXT_MIME]}
                out.metadata = {}
                kept.append(out)
        cell.outputs = kept
    nb.metadata.pop("widgets", None)
    return nb


def main(paths: list[str]) -> None:
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(strip(nb), path)
        print(f"stripped {Path(path).name}")


if __name__ == "__main__":
    main(sys.argv[1:])
