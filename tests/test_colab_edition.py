"""The Colab/Jupyter editions (notebooks/colab/): plain Markdown, collapsed solutions, a pinned package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

# The editions are written by the book's tooling, which readers' stacks (`make test-compat`) lack.
pytest.importorskip("pybtex", reason="the Colab editions are written and checked in the book's environment")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
import colab_edition  # noqa: E402

SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MYST = re.compile(r"\{(?:cite|ref|exercise|solution|numref|eq|glue)[:\w]*\}")


@pytest.fixture(scope="module")
def bibliography() -> colab_edition.Bibliography:
    return colab_edition.Bibliography()


def convert(text: str, bibliography, exercises=None, targets=None) -> str:
    return colab_edition.convert_markdown(text, exercises or {}, targets or {}, bibliography, [])


def test_exercise_and_solution_become_a_heading_and_collapsed_details(bibliography):
    text = (
        "```{exercise} Count the frames\n:label: ex-frames\n\nHow many?\n```\n\n"
        "````{solution} ex-frames\n:class: dropdown\n\nEleven:\n\n```python\nprint(11)\n```\n````"
    )
    out = convert(text, bibliography, exercises={"ex-frames": ("1.2", "Count the frames")})
    assert out.startswith('<a id="ex-frames"></a>**Exercise 1.2: Count the frames.**\n\nHow many?')
    assert "<details>\n<summary>Solution to Exercise 1.2: Count the frames (click to open)</summary>" in out
    assert out.rstrip().endswith("```python\nprint(11)\n```\n\n</details>")
    assert not MYST.search(out) and ":label:" not in out and ":class:" not in out


def test_citations_become_author_year_links(bibliography):
    cited: list[str] = []
    out = colab_edition.convert_markdown(
        "as shown {cite}`he2016deep,tang2018deep` and {cite}`warden2018speech`.", {}, {}, bibliography, cited
    )
    assert out == (
        "as shown ([He et al., 2016](#ref-he2016deep); [Tang and Lin, 2018](#ref-tang2018deep)) "
        "and ([Warden, 2018](#ref-warden2018speech))."
    )
    assert cited == ["he2016deep", "tang2018deep", "warden2018speech"]


def test_an_unknown_citation_is_an_error(bibliography):
    with pytest.raises(KeyError, match="nobody2099"):
        convert("{cite}`nobody2099`", bibliography)


def test_refs_and_targets_become_links_and_anchors(bibliography):
    out = convert("(sec-x)=\n## Ensembles\n\nsee {ref}`sec-x`", bibliography, targets={"sec-x": "Ensembles"})
    assert out == '<a id="sec-x"></a>\n\n## Ensembles\n\nsee [Ensembles](#sec-x)'


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_edition_is_current_and_free_of_myst(source, bibliography):
    target = colab_edition.EDITIONS / source.name
    assert target.exists(), f"no Colab edition of {source.name}: run `make colab`"
    commit = colab_edition.pinned_commit(target)
    assert commit, f"{target.name}: its setup cell does not pin the package to a commit"
    expected = colab_edition.render(colab_edition.edition(source, commit, bibliography))
    assert target.read_text(encoding="utf-8") == expected, (
        f"{target.name} is out of date with {source.name}: commit, then run `make colab` and commit"
    )
    notebook = nbformat.read(target, as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert not MYST.search(markdown), f"{target.name} still has MyST markup: {MYST.findall(markdown)[:3]}"
    solutions = sum(c.source.count("{solution}") for c in nbformat.read(source, as_version=4).cells)
    assert markdown.count("<details>") == solutions >= 3
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_edition_installs_the_package_as_it_is_here(source):
    """The pinned commit's package is HEAD's: notebook and package cannot drift apart."""
    commit = colab_edition.pinned_commit(colab_edition.EDITIONS / source.name)
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        pytest.skip("not a git checkout")
    if _git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        pytest.skip(f"commit {commit[:12]} is not in this clone (shallow?)")
    changed = _git("diff", "--name-only", commit, "HEAD", "--", *colab_edition.PACKAGE_PATHS).stdout.split()
    assert not changed, (
        f"{source.name}'s Colab edition installs the package at {commit[:12]}, which differs from HEAD in "
        f"{changed[:5]}: run `make colab` and commit"
    )


def test_nbconvert_renders_an_edition_with_collapsed_solutions_and_readable_citations():
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_filename(str(colab_edition.EDITIONS / SOURCES[0].name))
    assert "<details>" in html and "<summary>Solution to Exercise 1" in html
    assert '<a href="#ref-davis1980comparison">Davis and Mermelstein, 1980</a>' in html
    assert "{cite}" not in html and "{solution}" not in html


def test_computed_values_in_the_prose_point_at_the_output_that_prints_them(bibliography):
    out = convert("The network recognised {glue:text}`ch3_test_accuracy` of the test clips.", bibliography)
    assert out == "The network recognised (printed above) of the test clips."


def test_a_solution_is_left_out_of_the_student_edition(bibliography):
    text = (
        "```{exercise} Count the frames\n:label: ex-frames\n\nHow many?\n```\n\n"
        "````{solution} ex-frames\n:class: dropdown\n\nEleven:\n\n```python\nprint(11)\n```\n````\n\nNext."
    )
    out = colab_edition.convert_markdown(text, {"ex-frames": ("1.2", "Count the frames")}, {}, bibliography, [], False)
    assert out == '<a id="ex-frames"></a>**Exercise 1.2: Count the frames.**\n\nHow many?\n\nNext.'


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_student_edition_keeps_exercises_and_checkers_and_drops_every_solution(source, bibliography):
    """What a teacher hands out: every exercise, numbered as on the website, with its stub and its
    checker cell, and no line of any solution."""
    full = colab_edition.edition(source, "0" * 40, bibliography)
    student = colab_edition.edition(source, "0" * 40, bibliography, student=True)
    chapter = int(source.name[:2])
    text = "\n".join(c.source for c in student.cells)
    exercises = re.findall(rf"\*\*Exercise {chapter}\.(\d+)", text)
    assert exercises == [str(n) for n in range(1, len(exercises) + 1)] and len(exercises) >= 3
    assert exercises == re.findall(rf"\*\*Exercise {chapter}\.(\d+)", "\n".join(c.source for c in full.cells))
    assert "<details>" not in text and "Solution to" not in text
    cells = nbformat.read(source, as_version=4).cells
    solutions = [m["body"] for c in cells if c.cell_type == "markdown"
                 for m in colab_edition.DIRECTIVE.finditer(c.source) if m["name"] == "solution"]
    elsewhere = {line.strip() for c in cells for line in colab_edition.DIRECTIVE.sub("", c.source).splitlines()}
    # the solutions' own lines (a stub's `def` line also appears outside, in the cell to complete)
    own_lines = {line.strip() for body in solutions for line in body.splitlines()
                 if len(line.strip()) > 20 and line.strip() not in elsewhere}
    assert own_lines
    student_lines = {line.strip() for line in text.splitlines()}
    assert not own_lines & student_lines, "a solution's line is in the student edition"
    assert [c.source for c in student.cells if c.cell_type == "code"] == [c.source for c in full.cells if c.cell_type == "code"]
