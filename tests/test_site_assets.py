"""What the site serves itself: MathJax (so that formulas render offline) and the site fixes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MATHJAX = ROOT / "book" / "_static" / "mathjax"


def test_mathjax_is_served_from_the_build():
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["sphinx"]["config"]
    assert config["mathjax_path"] == "mathjax/tex-mml-chtml.js"
    assert "book/_static" in config["html_static_path"]
    assert (MATHJAX / "tex-mml-chtml.js").is_file()


def test_vendored_mathjax_files_are_the_packages():
    """Every file listed in SHA256SUMS (copied from npm's mathjax@3.2.2) is present and unchanged,
    and nothing else was added."""
    listed = {}
    for line in (MATHJAX / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    present = {str(p.relative_to(MATHJAX)) for p in MATHJAX.rglob("*") if p.is_file()}
    assert present - set(listed) == {"README.md", "LICENSE", "SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((MATHJAX / name).read_bytes()).hexdigest() == digest, name
    assert "input/tex/extensions/ams.js" in listed and "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff" in listed
