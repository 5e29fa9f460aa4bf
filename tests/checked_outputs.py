"""Compare the checked cells of a committed notebook with the same notebook as the book build
executed it: what ``pytest --nbval-lax`` did, without executing the notebook a second time.

A checked cell is a code cell tagged ``nbval-check-output`` (see ``strip_outputs``).
Its outputs are compared as nbval 0.11 compares them by default, in text:

* each stream (``stdout``, ``stderr``) is compared as a whole, however it was cut into pieces,
  after nbval's carriage-return rule (a line rewritten with ``\\r`` keeps its last version);
* each ``execute_result`` and ``display_data`` contributes its ``text/plain``, compared exactly;
  images, other MIME types, metadata and execution counts are ignored; an ``error`` output
  contributes ``ename: evalue``;
* nbval sanitises nothing by default (no ``--nbval-sanitize-with`` was ever passed).

One difference, forced by MyST-NB: with ``nb_merge_streams: true`` (book/_config.yml) it merges a
cell's stream pieces *into the first piece, in place*, stripping the whitespace at the end of
every piece and dropping blank pieces, and writes that to the executed notebook with the later
pieces still behind it (myst_nb.core.utils.coalesce_streams). The executed notebook therefore
holds the merged stream in its first piece, and where the pieces were cut is lost. So streams are
compared line by line without trailing whitespace and without blank lines; and since
MyST-NB ends every piece with a line break, a line the kernel flushed in two pieces is accepted
if only where the lines break differs (see ``_words``).

Cells are matched by position: the book build keeps every cell, in order, and the sources must
be identical (a difference means the executed notebook is not the committed one).
"""

from __future__ import annotations

import re

import nbformat

from strip_outputs import is_checked

#: nbval's ``carriagereturn_pat``: everything up to a ``\r`` that does not end the line.
CARRIAGE_RETURN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)


def stream_lines(text: str) -> list[str]:
    """A stream's text as compared: carriage returns applied, lines without trailing whitespace,
    blank lines left out."""
    return [line.rstrip() for line in CARRIAGE_RETURN.sub("", text).splitlines() if line.strip()]


def executed_stream(pieces: list[str]) -> list[str]:
    """The lines of a stream from the pieces the executed notebook holds: the first piece alone
    when it already ends with the others (MyST-NB merged them into it), else all of them."""
    first, rest = stream_lines(pieces[0]), stream_lines("".join(pieces[1:]))
    if rest and first[len(first) - len(rest):] == rest:
        return first
    return stream_lines("".join(pieces))


def text_outputs(outputs: list, *, executed: bool = False) -> dict[str, list[str]]:
    """A cell's outputs as compared: for each key (a stream's name, ``text/plain``, ``error``)
    the list of its values in order; a stream's value is its text (see :func:`stream_lines`).
    ``executed``: the outputs come from a notebook MyST-NB executed (see :func:`executed_stream`)."""
    pieces: dict[str, list[str]] = {}
    values: dict[str, list[str]] = {}
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            pieces.setdefault(output["name"], []).append(output["text"])
        elif kind in ("execute_result", "display_data") and "text/plain" in output.get("data", {}):
            values.setdefault("text/plain", []).append(output["data"]["text/plain"])
        elif kind == "error":
            values.setdefault("error", []).append(f"{output['ename']}: {output['evalue']}")
    for name, texts in pieces.items():
        lines = executed_stream(texts) if executed else stream_lines("".join(texts))
        if lines:
            values[name] = ["".join(line + "\n" for line in lines)]
    return values


STREAMS = ("stdout", "stderr")


def _words(values: list[str]) -> list[str]:
    """A stream's text with its whitespace collapsed: where the kernel sent a line in two pieces
    (it flushes on a timer, so a busy machine splits a ``print``), MyST-NB's merge ends the first
    piece with a line break of its own, so where lines break is not part of what ran."""
    return [" ".join(value.split()) for value in values]


def _block(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def cell_differences(expected: list, got: list) -> list[str]:
    """How the outputs ``got`` (executed by MyST-NB) differ from the stored outputs ``expected``,
    one message per kind of output (none: they agree)."""
    expected_values, got_values = text_outputs(expected), text_outputs(got, executed=True)
    problems = []
    for key in sorted(expected_values.keys() | got_values.keys()):
        want, have = expected_values.get(key, []), got_values.get(key, [])
        if want == have or (key in STREAMS and _words(want) == _words(have)):
            continue
        what = f"{key} differs" if len(want) == len(have) else f"{key}: {len(want)} output(s) expected, {len(have)} produced"
        problems.append(
            f"{what}\n<<<<<<<<<<<< expected (stored in the committed notebook):\n"
            + "".join(_block(v) for v in want)
            + "============ got (executed by the book build):\n"
            + "".join(_block(v) for v in have)
            + ">>>>>>>>>>>>"
        )
    return problems


def differences(committed: nbformat.NotebookNode, executed: nbformat.NotebookNode, name: str) -> list[str]:
    """Every checked cell of ``committed`` whose outputs differ from those of the same cell in
    ``executed``, one message each, naming the notebook ``name`` and the cell's index."""
    if len(committed.cells) != len(executed.cells):
        return [f"{name}: {len(committed.cells)} cells committed but {len(executed.cells)} executed"]
    moved = [i for i, (a, b) in enumerate(zip(committed.cells, executed.cells)) if a.source != b.source]
    if moved:
        return [f"{name}: the executed notebook's cells {moved} differ in source from the committed ones"]
    problems = []
    for index, (cell, ran) in enumerate(zip(committed.cells, executed.cells)):
        if is_checked(cell):
            for problem in cell_differences(cell.outputs, ran.get("outputs", [])):
                problems.append(f"{name}, cell {index}: {problem}")
    return problems
