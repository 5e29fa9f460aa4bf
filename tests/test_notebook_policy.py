"""What committed notebooks must look like: stripped outputs, the Colab setup cell, the toc."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from strip_outputs import is_checked, strip
from tutorial_utils import config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SETUP_LINE = f'%pip install -q "tutorial_utils[book] @ git+{config.REPOSITORY_URL}"'


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no chapter"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stripped_except_checked_cells(path):
    nb = read(path)
    assert nb == strip(read(path)), (
        f"{path.name} holds outputs nbval does not check; run `make strip` after executing it"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_cells_have_their_outputs(path):
    empty = [i for i, c in enumerate(read(path).cells) if is_checked(c) and not c.outputs]
    assert not empty, f"{path.name}: checked cells {empty} have no stored output to compare"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_starts_with_title_then_colab_setup(path):
    cells = read(path).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    setup = cells[1]
    assert setup.cell_type == "code"
    assert '"google.colab" in sys.modules' in setup.source
    assert SETUP_LINE in setup.source, f"{path.name}: setup cell must install from {config.REPOSITORY_URL}"
    assert not re.search(r"install[^\n]*\btorch", setup.source), "the setup cell must leave Colab's torch alone"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_says_which_profile_produced_it(path):
    sources = [c.source for c in read(path).cells[:4] if c.cell_type == "code"]
    assert any("config.describe()" in s for s in sources)


EXERCISE_TITLE = re.compile(
    r"^`{3,}\{exercise\} .+ \((★|★★|★★★) (warm-up|core|stretch)(?P<checked>, auto-checked)?(, long run)?\)$", re.MULTILINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_six_labelled_exercises_two_auto_checked_each_with_a_collapsed_solution(path):
    cells = read(path).cells
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    exercises = re.findall(r"^`{3,}\{exercise\}.*$", text, re.MULTILINE)
    labelled = list(EXERCISE_TITLE.finditer(text))
    assert len(labelled) == len(exercises) >= 6, f"{path.name}: unlabelled {set(exercises) - {m[0] for m in labelled}}"
    checked = [m for m in labelled if m["checked"]]
    checker_cells = [c for c in cells if c.cell_type == "code" and re.search(r"^checks\.check_\w+\(", c.source, re.M)]
    assert len(checked) == len(checker_cells) >= 2, f"{path.name}: {len(checked)} auto-checked titles"
    labels = re.findall(r"^:label: (ex-\S+)$", text, re.MULTILINE)
    solutions = re.findall(r"^`{3,}\{solution\} (ex-\S+)\n:class: dropdown$", text, re.MULTILINE)
    assert sorted(labels) == sorted(solutions), f"{path.name}: exercises without a collapsed solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_quick_recall_questions_that_say_where_the_answer_is(path):
    cells = read(path).cells
    (recall,) = [c.source for c in cells if c.cell_type == "markdown" and c.source.startswith("## Quick recall")]
    questions = re.findall(r"^\d+\. .+?(?=^\d+\. |\Z)", recall, re.MULTILINE | re.DOTALL)
    assert len(questions) >= 8, f"{path.name}: {len(questions)} quick-recall questions"
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", "\n".join(c.source for c in cells), re.MULTILINE)}
    for question in questions:
        pointers = re.findall(r"\(sections? (\d+)(?:[–-](\d+)| and (\d+))?\)\s*$", question.strip())
        assert pointers, f"{path.name}: no section pointer in {question!r}"
        assert {int(n) for n in pointers[0] if n} <= sections, f"{path.name}: {question!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_uses_the_standard_kernel(path):
    assert read(path).metadata.kernelspec.name == "python3"


def test_every_notebook_is_in_the_book_and_back():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]}
    listed = {f for f in files if f.startswith("notebooks/")}
    assert listed == {f"notebooks/{p.stem}" for p in NOTEBOOKS}


def test_book_config_points_at_the_same_repository():
    book = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert book["repository"]["url"] == config.REPOSITORY_URL
    assert book["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


#: Import names whose distribution is called differently on PyPI.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "IPython": "ipython", "PIL": "pillow"}


def test_colab_installs_every_package_the_notebooks_import():
    """The setup cell installs ``tutorial_utils[book]``: its dependencies and the ``book`` extra must
    cover every third-party module a chapter imports, or the chapter fails on Colab."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + project["optional-dependencies"]["book"]
    installed = {re.split(r"[<>=!\[ ;]", name)[0].lower() for name in names} | {"tutorial_utils"}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for module in re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", cell.source, flags=re.M):
                if module in sys.stdlib_module_names or module == "__future__":
                    continue
                assert DISTRIBUTIONS.get(module, module).lower() in installed, (
                    f"{path.name} imports {module}, which tutorial_utils[book] does not install"
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_test_markers_in_the_visible_code(path):
    """Markers for the tests live in cell tags, not in code the page and the reader see."""
    marked = [i for i, c in enumerate(read(path).cells) if c.cell_type == "code" and "NBVAL" in c.source]
    assert not marked, f"{path.name}: cells {marked} carry an NBVAL comment; tag them nbval-check-output instead"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_are_drawn_for_the_page(path):
    """The book style is on before the first figure, and no cell asks for a figure wider than the
    column or for text smaller than the style's minimum (so no label reads under 9 pixels)."""
    from tutorial_utils import plots

    code = [c.source for c in read(path).cells if c.cell_type == "code"]
    first_style = next(i for i, s in enumerate(code) if "use_book_style()" in s)
    first_figure = next(i for i, s in enumerate(code) if re.search(r"plt\.(subplots|figure)\(|plots\.plot_", s))
    assert first_style <= first_figure
    source = "\n".join(code)
    widths = [float(w) for w in re.findall(r"figsize=\(\s*([\d.]+)\s*,", source)]
    assert all(w <= plots.MAX_FIGURE_WIDTH for w in widths), f"{path.name}: figure widths {widths}"
    sizes = [float(s) for s in re.findall(r"fontsize=([\d.]+)", source)]
    assert all(s >= plots.MIN_FONT_SIZE for s in sizes), f"{path.name}: font sizes {sizes}"
    assert not re.search(r"fontsize=[\"'](xx?-)?small", source), f"{path.name}: a font size below the style's"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_stated_reading_time_is_the_word_count_at_200_words_a_minute(path):
    """The opening's "About R minutes to read" is computed, not guessed: the words of the chapter's
    markdown and code cells at 200 a minute, to the nearest 5 minutes."""
    cells = read(path).cells
    stated = re.search(r"About (\d+) minutes to read", cells[0].source)
    assert stated, f"{path.name}: the opening states no reading time"
    words = sum(len(c.source.split()) for c in cells if c.cell_type in ("markdown", "code"))
    assert int(stated[1]) == 5 * round(words / 200 / 5), f"{path.name}: {words} words"


def test_the_teachers_page_assigns_every_exercise_once():
    teaching = (ROOT / "book" / "teaching.md").read_text(encoding="utf-8")
    assigned = re.findall(r"\{ref\}`(ex-[\w-]+)`", teaching)
    labels = [label for path in NOTEBOOKS for c in read(path).cells if c.cell_type == "markdown"
              for label in re.findall(r"^:label: (ex-\S+)$", c.source, re.MULTILINE)]
    assert sorted(assigned) == sorted(labels)
