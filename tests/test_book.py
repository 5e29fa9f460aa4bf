"""The book builds from the notebooks, executing them, with Sphinx warnings as errors; the only
execution of the notebooks in `make test`, so the checked cells' outputs are compared here too.
The build is the session fixture ``build`` (tests/conftest.py), which tests/test_site.py shares."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import checked_outputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.book


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_outputs_equal_the_stored_ones(build, notebook):
    """What nbval --nbval-lax checked, on the notebook as the build executed it (MyST-NB writes it
    to _build/jupyter_execute/): the cells tagged ``nbval-check-output`` print what
    the committed notebook stores (tests/checked_outputs.py). Runs even when the build failed for
    another reason, as long as the chapter was executed."""
    built, result = build
    executed = built / "jupyter_execute" / "notebooks" / notebook.name
    assert executed.is_file(), f"the build wrote no executed {notebook.name}:\n" + result.stderr[-3000:]
    problems = checked_outputs.differences(
        nbformat.read(notebook, as_version=4), nbformat.read(executed, as_version=4), notebook.name)
    assert not problems, "checked outputs differ from the committed ones:\n\n" + "\n\n".join(problems)


def test_front_and_back_matter_are_built(html):
    intro = (html / "book" / "intro.html").read_text()
    assert "Run profiles" in intro or "profile" in intro
    references = (html / "book" / "references.html").read_text()
    assert "He, K" in references or "Kaiming" in references


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_has_figures_and_no_errors(html, notebook):
    page = (html / "notebooks" / f"{notebook.stem}.html").read_text()
    figures = re.findall(r'<img[^>]+src="[^"]*_images/[^"]+\.svg"', page)
    assert figures, f"{notebook.name}: no figure in the built page"
    # (the bare word "Traceback" appears in the Pygments CSS that displayed code carries)
    assert "Traceback (most recent call last)" not in page and 'class="output traceback' not in page
    assert f"colab.research.google.com/github/resnet-speech/resnet-speech-book/blob/main/notebooks/colab/{notebook.name}" in page, (
        "the Colab launch button must open the chapter's Colab edition"
    )
    assert "profile=ci" in page, "the page must say which profile produced it"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_collapsed(html, notebook):
    page = (html / "notebooks" / f"{notebook.stem}.html").read_text()
    assert page.count('class="solution dropdown') >= 3


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_is_numbered_captioned_and_described(html, notebook):
    """Each image a chapter's code draws sits in a numbered figure with a caption ("Fig. 5.2 ...")
    and alt text that says what it shows (MyST-NB's cell metadata ``mystnb.figure`` and
    ``mystnb.image``), never its file name."""
    page = (html / "notebooks" / f"{notebook.stem}.html").read_text()
    chapter = int(notebook.name[:2])
    images = re.findall(r"<img[^>]*>", page.split('<article class="bd-article"', 1)[-1])
    drawn = [tag for tag in images if "_images/" in tag]
    assert drawn
    for tag in drawn:
        alt = re.search(r'alt="([^"]*)"', tag)
        assert alt and len(alt.group(1)) >= 20 and not re.search(r"\.(svg|png)$|_images", alt.group(1)), (
            f"{notebook.name}: an image without a description: {tag[:160]}")
    figures = re.findall(r'<figure[^>]*>.*?</figure>', page, flags=re.DOTALL)
    numbered = [f for f in figures if re.search(rf'<span class="caption-number">Fig\. {chapter}\.\d+ </span>', f)]
    assert len(numbered) == len(drawn), (
        f"{notebook.name}: {len(drawn)} drawn images, {len(numbered)} numbered, captioned figures")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_are_numbered_in_their_chapter(html, notebook):
    page = (html / "notebooks" / f"{notebook.stem}.html").read_text()
    chapter = int(notebook.name[:2])
    numbers = re.findall(r"Exercise (\d+)\.(\d+)", page)
    assert numbers and {int(c) for c, _ in numbers} == {chapter}, set(numbers)
    assert min(int(n) for _, n in numbers) == 1
