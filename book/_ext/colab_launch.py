"""Point each chapter's Colab launch button at its Colab edition (``notebooks/colab/``).

sphinx-book-theme builds the button from the page's own path, ``notebooks/NN_name.ipynb``, whose
MyST markup Colab shows raw. ``book/colab_edition.py`` writes editions in plain Markdown beside
the sources; this handler runs after the theme's and rewrites the button's URL to the edition.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

SOURCE_FOLDER = "/notebooks/"
EDITION_FOLDER = "/notebooks/colab/"


def _rewrite(buttons: Any) -> None:
    if isinstance(buttons, dict):
        url = buttons.get("url")
        if buttons.get("text") == "Colab" and isinstance(url, str) and SOURCE_FOLDER in url:
            buttons["url"] = url.replace(SOURCE_FOLDER, EDITION_FOLDER, 1)
        for value in buttons.values():
            _rewrite(value)
    elif isinstance(buttons, list):
        for item in buttons:
            _rewrite(item)


def point_colab_at_the_editions(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    _rewrite(context.get("header_buttons", []))


def setup(app: Sphinx) -> dict[str, Any]:
    # The theme adds its launch buttons at priority 501; run after it.
    app.connect("html-page-context", point_colab_at_the_editions, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
