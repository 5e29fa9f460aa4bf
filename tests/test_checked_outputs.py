"""The comparison of checked cells (tests/checked_outputs.py) that tests/test_book.py applies to
the notebooks the book build executed: it accepts what nbval --nbval-lax accepts and fails on a
changed output, naming the chapter and the cell."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

# The comparison runs on the book build's notebooks, in the book's environment (not `make test-compat`'s).
coalesce_streams = pytest.importorskip("myst_nb.core.utils", reason="needs the book's environment (MyST-NB)").coalesce_streams
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from checked_outputs import differences, text_outputs
from strip_outputs import is_checked

CHAPTER = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("01_*.ipynb"))[0]


def stdout(text):
    return new_output("stream", name="stdout", text=text)


def notebook(*outputs_of_checked_cell, unchecked=()):
    return new_notebook(cells=[
        new_markdown_cell("# Title"),
        new_code_cell("x = 1\nprint(x)", outputs=list(unchecked)),
        new_code_cell("print('a')\nx", outputs=list(outputs_of_checked_cell), execution_count=2,
                      metadata={"tags": ["nbval-check-output"]}),
    ])


def test_equal_outputs_pass_and_what_nbval_ignores_is_ignored():
    stored = notebook(stdout("a\n"), new_output("execute_result", data={"text/plain": "1"}, execution_count=2))
    executed = notebook(
        stdout("a"), stdout("\n"),  # streams arrive in pieces
        new_output("stream", name="stdout", text=""),
        new_output("execute_result", data={"text/plain": "1", "text/html": "<b>1</b>", "image/png": "iVBOR"},
                   metadata={"isolated": True}, execution_count=7),
        unchecked=[stdout("anything: this cell is not checked\n")],
    )
    assert differences(stored, executed, "ch.ipynb") == []


def test_a_changed_output_fails_with_chapter_cell_expected_and_got():
    stored = notebook(stdout("accuracy 0.50\n"))
    problems = differences(stored, notebook(stdout("accuracy 0.75\n")), "05_training_kws.ipynb")
    assert len(problems) == 1
    assert problems[0].startswith("05_training_kws.ipynb, cell 2: stdout differs")
    assert "expected (stored in the committed notebook):\naccuracy 0.50\n" in problems[0]
    assert "got (executed by the book build):\naccuracy 0.75\n" in problems[0]


def test_missing_extra_and_other_kinds_of_output_fail():
    stored = notebook(stdout("a\n"))
    assert differences(stored, notebook(), "ch") != []
    assert "stderr: 0 output(s) expected, 1 produced" in differences(
        stored, notebook(stdout("a\n"), new_output("stream", name="stderr", text="warning\n")), "ch")[0]
    assert "text/plain" in differences(
        stored, notebook(stdout("a\n"), new_output("display_data", data={"text/plain": "<Figure>"})), "ch")[0]
    assert "ZeroDivisionError: division by zero" in differences(
        stored, notebook(new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])), "ch")[0]


def test_carriage_returns_keep_the_last_version_of_a_line_as_in_nbval():
    assert text_outputs([stdout("epoch 1\repoch 2\rdone\nnext\n")]) == {"stdout": ["done\nnext\n"]}


def test_streams_merged_in_place_by_myst_nb_compare_equal_to_the_stored_ones():
    """MyST-NB's nb_merge_streams rewrites the first piece of a stream into the merged stream,
    without trailing whitespace, and leaves the later pieces behind it in the executed notebook."""
    pieces = [stdout("layer    shape   \n"), stdout("\n"), stdout("stem     (2, 64)   \n"), stdout("fc  (2, 10)\n")]
    stored = notebook(stdout("layer    shape   \nstem     (2, 64)   \n"), stdout("fc  (2, 10)\n"))
    executed = notebook(*copy.deepcopy(pieces))
    coalesce_streams(executed.cells[2].outputs)  # MyST-NB's merge, in place, return value unused
    assert executed.cells[2].outputs[0].text == "layer    shape\nstem     (2, 64)\nfc  (2, 10)\n"
    assert len(executed.cells[2].outputs) == 4
    assert differences(stored, executed, "ch") == []
    assert differences(stored, notebook(*pieces), "ch") == []  # and unmerged pieces too
    executed.cells[2].outputs[0].text = "layer    shape\nstem     (2, 32)\nfc  (2, 10)\n"
    assert "stem     (2, 32)" in differences(stored, executed, "ch")[0]


def test_a_line_the_kernel_sent_in_two_pieces_compares_equal_but_a_changed_word_does_not():
    """A busy kernel flushes ``print("conv output:", dtype)`` in two pieces; MyST-NB's merge then
    breaks the line where the first piece ended (chapter 6 under load)."""
    stored = notebook(stdout("conv output: torch.bfloat16 | loss: torch.float32\n"))
    executed = notebook(stdout("conv output:"), stdout(" torch.bfloat16 | loss: torch.float32\n"))
    coalesce_streams(executed.cells[2].outputs)
    assert executed.cells[2].outputs[0].text.startswith("conv output:\n")
    assert differences(stored, executed, "ch") == []
    executed.cells[2].outputs[0].text = "conv output:\n torch.float16 | loss: torch.float32\n"
    assert "stdout differs" in differences(stored, executed, "ch")[0]


def test_cells_are_matched_by_source():
    stored, executed = notebook(stdout("a\n")), notebook(stdout("a\n"))
    executed.cells[1].source = "x = 2\nprint(x)"
    assert differences(stored, executed, "ch") == ["ch: the executed notebook's cells [1] differ in source from the committed ones"]
    executed.cells.pop()
    assert "3 cells committed but 2 executed" in differences(stored, executed, "ch")[0]


def test_a_committed_chapter_fails_against_a_copy_with_one_output_altered():
    """The real chapter 1 against itself passes; altering one stored output in a copy fails."""
    committed = nbformat.read(CHAPTER, as_version=4)
    assert differences(committed, nbformat.read(CHAPTER, as_version=4), CHAPTER.name) == []
    altered = nbformat.read(CHAPTER, as_version=4)
    index = next(i for i, c in enumerate(altered.cells) if is_checked(c))
    altered.cells[index].outputs[0].text = altered.cells[index].outputs[0].text.replace("0", "9", 1)
    (problem,) = differences(committed, altered, CHAPTER.name)
    assert problem.startswith(f"{CHAPTER.name}, cell {index}: stdout differs")

