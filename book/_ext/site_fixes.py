"""Fixes for the site's theme stack (pydata-sphinx-theme 0.17.1, sphinx-book-theme 1.3.0,
Sphinx 7.4, sphinx-togglebutton 0.4.5), each one a known upstream bug:

* one sidebar toggle of each kind, so that the chapter menu and the page contents open on a
  phone: pydata-sphinx-theme 0.17 fills ``navbar_persistent`` with a search field, which renders
  a second, hidden pair of toggles that both themes' scripts bind first (sphinx-book-theme
  #988, #999);
* a valid colour mode on a first visit (``default_mode``, else "Got invalid theme mode");
* inline scripts added once: Sphinx 7.4 adds a script registered after the builder started a
  second time (``None`` vs ``''`` file name), so ``const THEBE_JS_URL`` was declared twice
  (fixed upstream in sphinx-doc/sphinx#13402, which Jupyter Book 1's Sphinx pin excludes);
* ``site_fixes.js``: a click anywhere on a solution's title opens that solution, a figure
  keeps its text readable on a phone (``site_fixes.css``: it scrolls sideways, as wide tables do),
  and the formulas in search results are typeset: MathJax is loaded on every page (Sphinx adds
  it only to pages with equations, so the search page showed raw TeX in its excerpts).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.config import Config

_add_js_file = StandaloneHTMLBuilder.add_js_file


def _add_js_file_once(self: StandaloneHTMLBuilder, filename: str | None, **kwargs: Any) -> None:
    _add_js_file(self, filename or "", **kwargs)


def _configure(app: Sphinx, config: Config) -> None:
    config.html_theme_options.setdefault("navbar_persistent", [])
    config.html_context.setdefault("default_mode", "auto")


def setup(app: Sphinx) -> dict[str, Any]:
    if getattr(StandaloneHTMLBuilder.add_js_file, "__name__", "") != "_add_js_file_once":
        StandaloneHTMLBuilder.add_js_file = _add_js_file_once
    app.connect("config-inited", _configure)
    app.set_html_assets_policy("always")  # MathJax on the search page too
    app.add_js_file("site_fixes.js")
    app.add_css_file("site_fixes.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
