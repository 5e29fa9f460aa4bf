"""Write the Colab/Jupyter editions of the chapters: ``notebooks/NN_*.ipynb`` -> ``notebooks/colab/``.

The chapters are written in MyST for Jupyter Book. Colab and JupyterLab render plain Markdown
only, so there ``{exercise}`` and ``{solution}`` show as fenced code (every solution in plain
view) and ``{cite}`` roles as literal text. Each edition rewrites that markup:

* an exercise becomes a bold heading numbered as on the website ("Exercise 3.2: title") with an anchor;
* a solution becomes an HTML ``<details>`` block, collapsed until the reader opens it (the
  *student edition*, ``--student DIR``, leaves solutions out: a teacher hands it out);
* a citation becomes "(He et al., 2016)", linked to a references cell appended to the chapter;
* ``{ref}`` links and ``(label)=`` targets become Markdown links and HTML anchors;
* a computed value in the prose, ``{glue:text}`name```, becomes "(printed above)": the book's
  build fills it in from the cell that computed it, and in Colab that cell prints it.

The setup cell installs ``tutorial_utils`` at the commit the edition was generated from, so the
notebook and the package cannot drift apart. Outputs are dropped: a reader runs the cells.

Usage (``make colab``)::

    python book/colab_edition.py            # write the editions for the current commit
    python book/colab_edition.py --check    # exit 1 if an edition is not what this writes
    python book/colab_edition.py --student build/student   # the student edition (make student)
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import latexcodec  # noqa: F401  (registers the "latex" codec used to decode BibTeX fields)
import nbformat
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "notebooks"
EDITIONS = SOURCES / "colab"
BIBLIOGRAPHY = ROOT / "book" / "references.bib"
REPOSITORY = "resnet-speech/resnet-speech-book"
#: What the package's source is made of: an edition pinned to commit C is valid while these are unchanged since C.
PACKAGE_PATHS = ("src", "pyproject.toml")
SETUP_MARKER = "# Setup:"
COMMIT_PATTERN = re.compile(r"resnet-speech-book@([0-9a-f]{40})")

DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,})\{(?P<name>exercise|solution)\}[ \t]*(?P<argument>[^\n]*)\n"
    r"(?P<options>(?::[\w-]+:[^\n]*\n)*)"
    r"(?P<body>.*?)"
    r"^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
GLUE = re.compile(r"\{glue:text\}`([^`]+)`")
REF = re.compile(r"\{ref\}`(?:([^`<]*?)\s*<)?([\w-]+)>?`")
TARGET = re.compile(r"^\(([\w-]+)\)=[ \t]*\n", re.MULTILINE)


def _latex(text: str) -> str:
    return str(text).replace("{", "").replace("}", "").encode("utf-8").decode("latex+utf8").replace("--", "–")


class Bibliography:
    """Author-year labels and reference lines from ``references.bib``."""

    def __init__(self, path: Path = BIBLIOGRAPHY) -> None:
        self.entries = parse_file(str(path)).entries

    def label(self, key: str) -> str:
        """``He et al., 2016``: the in-text form of a citation."""
        entry = self.entries[key]
        last = [_latex(" ".join(p.last_names)) for p in entry.persons.get("author", [])]
        names = last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2 else f"{last[0]} et al."
        return f"{names}, {entry.fields.get('year', 'n.d.')}"

    def reference(self, key: str) -> str:
        """One Markdown line of the reference list, with an anchor that citations link to."""
        entry = self.entries[key]
        authors = ", ".join(
            _latex(" ".join(p.last_names)) + ", " + " ".join(n[0] + "." for n in map(_latex, p.first_names + p.middle_names) if n)
            for p in entry.persons.get("author", [])
        )
        fields = entry.fields
        venue = fields.get("booktitle") or fields.get("journal") or fields.get("publisher") or fields.get("howpublished") or ""
        line = f'<a id="ref-{key}"></a>{authors} ({fields.get("year", "n.d.")}). *{_latex(fields.get("title", key))}*.'
        if venue:
            line += f" {_latex(venue)}."
        if "doi" in fields:
            line += f" [doi:{fields['doi']}](https://doi.org/{fields['doi']})"
        elif "url" in fields:
            line += f" <{fields['url']}>"
        return line


def _exercise_numbers(cells: list, chapter: int) -> dict[str, tuple[str, str]]:
    """Map each exercise label to (its number as the website shows it, "3.2"; its title)."""
    numbers: dict[str, tuple[str, str]] = {}
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        for match in DIRECTIVE.finditer(cell.source):
            if match["name"] == "exercise":
                label = re.search(r"^:label:\s*(\S+)", match["options"], re.MULTILINE)
                key = label[1] if label else f"unlabelled-{len(numbers)}"
                numbers[key] = (f"{chapter}.{len(numbers) + 1}", match["argument"].strip())
    return numbers


def _targets(cells: list) -> dict[str, str]:
    """Map each ``(label)=`` target to the heading that follows it."""
    titles = {}
    for cell in cells:
        if cell.cell_type == "markdown":
            for match in re.finditer(r"^\(([\w-]+)\)=[ \t]*\n#+\s*(.+)$", cell.source, re.MULTILINE):
                titles[match[1]] = match[2].strip()
    return titles


def _title(number: str, title: str) -> str:
    return f"Exercise {number}" + (f": {title}" if title else "")


def convert_markdown(
    text: str, exercises: dict, targets: dict, bibliography: Bibliography, cited: list, solutions: bool = True
) -> str:
    """Rewrite one Markdown cell's MyST markup into plain Markdown and HTML (without the solutions
    if ``solutions`` is false)."""

    def directive(match: re.Match) -> str:
        body = match["body"].strip("\n")
        if match["name"] == "exercise":
            label = re.search(r"^:label:\s*(\S+)", match["options"], re.MULTILINE)
            number, title = exercises[label[1]] if label else ("", match["argument"].strip())
            anchor = f'<a id="{label[1]}"></a>' if label else ""
            heading = _title(number, title)
            heading += "" if heading[-1] in ".?!" else "."
            return f"{anchor}**{heading}**\n\n{body}"
        if not solutions:
            return ""
        number, title = exercises.get(match["argument"].strip(), ("", ""))
        summary = f"Solution to {_title(number, title)}" if number else "Solution"
        return f"<details>\n<summary>{summary} (click to open)</summary>\n\n{body}\n\n</details>"

    def cite(match: re.Match) -> str:
        keys = [key.strip() for key in match[1].split(",")]
        for key in keys:
            if key not in bibliography.entries:
                raise KeyError(f"{{cite}} names {key!r}, which is not in {BIBLIOGRAPHY.name}")
            if key not in cited:
                cited.append(key)
        return "(" + "; ".join(f"[{bibliography.label(k)}](#ref-{k})" for k in keys) + ")"

    def ref(match: re.Match) -> str:
        label = match[2]
        if label in exercises:
            return f"[{match[1] or _title(*exercises[label])}](#{label})"
        return f"[{match[1] or targets.get(label, label)}](#{label})"

    text = DIRECTIVE.sub(directive, text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n") if not solutions else text
    text = CITE.sub(cite, text)
    text = GLUE.sub("(printed above)", text)
    text = REF.sub(ref, text)
    return TARGET.sub(lambda m: f'<a id="{m[1]}"></a>\n\n', text)


def setup_source(commit: str) -> str:
    """The edition's first code cell: the package at ``commit``, with Colab's own PyTorch kept."""
    return (
        f"# Setup: on Colab, install the book's helper package at the commit this edition was made from\n"
        f"# ({commit[:12]}), so that notebook and package match. Colab's own PyTorch is kept.\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "tutorial_utils[book] @ git+https://github.com/{REPOSITORY}@{commit}"'
    )


def edition(source: Path, commit: str, bibliography: Bibliography, student: bool = False) -> nbformat.NotebookNode:
    """The Colab/Jupyter edition of one chapter; ``student``: without the exercises' solutions."""
    notebook = nbformat.read(source, as_version=4)
    result = copy.deepcopy(notebook)
    chapter = int(source.name[:2])
    exercises, targets, cited = _exercise_numbers(result.cells, chapter), _targets(result.cells), []
    setup_found = False
    for cell in result.cells:
        cell.pop("id", None)
        if cell.cell_type == "markdown":
            cell.source = convert_markdown(cell.source, exercises, targets, bibliography, cited, not student)
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if cell.source.startswith(SETUP_MARKER):
                cell.source, setup_found = setup_source(commit), True
    if not setup_found:
        raise ValueError(f"{source.name} has no setup cell starting with {SETUP_MARKER!r}")
    kind = "student edition (the exercises without their solutions)" if student else "Colab/Jupyter edition"
    note = nbformat.v4.new_markdown_cell(
        f"*The {kind} of this chapter, generated from `notebooks/{source.name}` at commit "
        f"`{commit[:12]}` by `make {'student' if student else 'colab'}`. Run the cells from the top; a GPU runtime "
        f"selects the `gpu` profile. The book's website shows the same chapter with its outputs.*"
    )
    result.cells.insert(1, note)
    if cited:
        lines = "\n".join(f"- {bibliography.reference(key)}" for key in cited)
        result.cells.append(nbformat.v4.new_markdown_cell(f"## References\n\n{lines}"))
    result.metadata.pop("widgets", None)
    return result


def render(notebook: nbformat.NotebookNode) -> str:
    """The edition's file contents: stable JSON with cell ids from their position."""
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def pinned_commit(path: Path) -> str | None:
    """The commit an existing edition installs the package from."""
    match = COMMIT_PATTERN.search(path.read_text(encoding="utf-8")) if path.exists() else None
    return match[1] if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare the editions with what this would write")
    parser.add_argument("--student", metavar="DIR", type=Path, help="write the student edition (no solutions) into DIR")
    args = parser.parse_args(argv)
    bibliography = Bibliography()
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.ipynb"))
    if args.check:
        stale = []
        for source in sources:
            target = EDITIONS / source.name
            commit = pinned_commit(target)
            if commit is None or target.read_text(encoding="utf-8") != render(edition(source, commit, bibliography)):
                stale.append(source.name)
        if stale:
            print(f"Colab editions out of date: {', '.join(stale)}. Commit your changes, then run `make colab` and commit.")
            return 1
        return 0
    if _git("status", "--porcelain", "--", *PACKAGE_PATHS):
        print(f"{', '.join(PACKAGE_PATHS)} have uncommitted changes: commit them first, "
              "so that the editions can install the package at that commit.", file=sys.stderr)
        return 2
    commit = _git("log", "-1", "--format=%H", "--", *PACKAGE_PATHS)
    if args.student:
        args.student.mkdir(parents=True, exist_ok=True)
        for source in sources:
            (args.student / source.name).write_text(render(edition(source, commit, bibliography, student=True)), encoding="utf-8")
        print(f"Wrote the student edition of {len(sources)} chapters to {args.student}/ (no solutions), "
              f"installing the package at {commit[:12]}.")
        return 0
    EDITIONS.mkdir(exist_ok=True)
    for source in sources:
        (EDITIONS / source.name).write_text(render(edition(source, commit, bibliography)), encoding="utf-8")
    print(f"Wrote {len(sources)} editions to {EDITIONS.relative_to(ROOT)}/, installing the package at {commit[:12]}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
