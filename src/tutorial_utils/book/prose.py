"""Numbers in the prose come from the code that ran: a cell computes a value and hands it to the
page with :func:`glue`, and the Markdown shows it with MyST-NB's ``{glue:text}`name``` role, so
that no typed number can disagree with the outputs above it."""

from __future__ import annotations


def glue(name: str, text: str) -> None:
    """Make ``text`` available to the page's Markdown as ``{glue:text}`name```, without printing it.

    Outside a Jupyter Book build (Colab, JupyterLab without MyST-NB) this does nothing: those
    editions print the same value in the cell's output.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, text, display=False)
