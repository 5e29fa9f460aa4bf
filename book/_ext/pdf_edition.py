"""What the PDF edition (``make pdf``, Sphinx's LaTeX builder) prints instead of what only a
browser shows.

* ``IPython.display.Code`` (chapters 5, 6, 7 and 9 show library source with it) offers Pygments' LaTeX
  as ``text/latex``, which MyST-NB would set as an equation (and LaTeX reject): the PDF prints
  the code's plain text instead, highlighted as Python like the book's own code cells.
* An audio player (``IPython.display.Audio``) has no LaTeX form and MyST-NB falls back to its
  text, ``<IPython.lib.display.Audio object>``: the PDF says where to listen instead.

The rest of the PDF's set-up is configuration (``latex_*`` in ``book/_config.yml``) and the
LaTeX style ``book/_latex/bookpdf.sty``.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

PYGMENTS_LATEX = r"\begin{Verbatim}"
AUDIO_TEXT = "<IPython.lib.display.Audio object>"
AUDIO_NOTE = "[An audio player: listen in the online book or in the notebook.]"


class CodeAsText(SphinxPostTransform):
    """Before MyST-NB picks an output's MIME type (priority 4): drop a ``Code`` object's
    ``text/latex`` and highlight its ``text/plain``."""

    default_priority = 3
    builders = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for bundle in list(self.document.findall(nodes.container)):
            if bundle.get("nb_element") != "mime_bundle":
                continue
            by_type = {child.get("mime_type"): child for child in bundle.children}
            latex, plain = by_type.get("text/latex"), by_type.get("text/plain")
            if latex is None or plain is None or not latex.astext().lstrip().startswith(PYGMENTS_LATEX):
                continue
            bundle.remove(latex)
            for block in plain.findall(nodes.literal_block):
                block["language"] = "python"


class AudioPlayerNote(SphinxPostTransform):
    """Replace each audio player's fallback text with a note."""

    default_priority = 800
    builders = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for block in list(self.document.findall(nodes.literal_block)):
            if block.astext().strip() == AUDIO_TEXT:
                block.replace_self(nodes.paragraph("", "", nodes.emphasis(AUDIO_NOTE, AUDIO_NOTE)))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_post_transform(CodeAsText)
    app.add_post_transform(AudioPlayerNote)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
