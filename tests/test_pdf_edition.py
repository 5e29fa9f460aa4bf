"""The PDF edition (`make pdf`): its make target stays out of `make test`, its LaTeX files are
configured, and book/_ext/pdf_edition.py turns what only a browser shows into print.

The PDF itself is built and looked at by `make pdf`, which needs TeX Live (README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

# The PDF edition is built in the book's environment (Sphinx, docutils), not in `make test-compat`'s.
pytest.importorskip("docutils", reason="needs the book's environment (docutils)")
from docutils import nodes  # noqa: E402
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

import book_ext

ROOT = Path(__file__).resolve().parents[1]


def extension():
    return book_ext.load("pdf_edition")


def document() -> nodes.document:
    return new_document("test", get_default_settings(Parser))


def mime_bundle(**outputs: nodes.Element) -> nodes.container:
    bundle = nodes.container(nb_element="mime_bundle")
    for mime_type, node in outputs.items():
        bundle += nodes.container("", node, mime_type=mime_type.replace("_", "/", 1))
    return bundle


def test_make_pdf_builds_with_latex_and_is_not_part_of_make_test():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^pdf: setup\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe, "no `pdf: setup` target"
    assert "BOOK_PROFILE=$(BOOK_PROFILE) $(BIN)/jupyter-book build $(JB_ARGS)" in recipe.group(1)
    assert "--builder pdflatex" in recipe.group(1)
    for target in ("test", "test-package", "test-book"):
        line = re.search(rf"^{target}:(.*)$", makefile, re.MULTILINE).group(1)
        assert "pdf" not in line
    assert "make pdf" in (ROOT / "README.md").read_text()


def test_latex_files_exist_and_are_loaded():
    sphinx = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["sphinx"]
    files = sphinx["config"]["latex_additional_files"]
    assert all((ROOT / name).is_file() for name in files)
    assert "book/_latex/bookpdf.sty" in files
    assert r"\usepackage{bookpdf}" in sphinx["config"]["latex_elements"]["preamble"]
    assert sphinx["local_extensions"]["pdf_edition"] == "_ext"


def test_code_objects_print_their_text_as_python():
    doc = document()
    plain = nodes.literal_block("def f():\n    pass\n", "def f():\n    pass\n", language="myst-ansi")
    latex = nodes.math_block("", "\\begin{Verbatim}[commandchars=\\\\\\{\\}]\n\\PY{k}{def}\n\\end{Verbatim}\n")
    doc += mime_bundle(text_html=nodes.raw("", "<div></div>", format="html"), text_latex=latex, text_plain=plain)
    extension().CodeAsText(doc).run()
    bundle = next(doc.findall(nodes.container))
    assert [child["mime_type"] for child in bundle.children] == ["text/html", "text/plain"]
    assert plain["language"] == "python"


def test_real_latex_output_is_left_alone():
    doc = document()
    plain = nodes.literal_block("x", "x", language="myst-ansi")
    doc += mime_bundle(text_latex=nodes.math_block("", "$x^2$"), text_plain=plain)
    extension().CodeAsText(doc).run()
    assert len(next(doc.findall(nodes.container)).children) == 2
    assert plain["language"] == "myst-ansi"


def test_audio_players_become_a_note():
    module = extension()
    doc = document()
    doc += nodes.literal_block(module.AUDIO_TEXT, module.AUDIO_TEXT)
    doc += nodes.literal_block("print(1)", "print(1)")
    module.AudioPlayerNote(doc).run()
    assert [node.astext() for node in doc.children] == [module.AUDIO_NOTE, "print(1)"]
