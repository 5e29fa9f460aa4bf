"""tests/notebook_solutions.py reads a solution from a chapter's MyST dropdown, as test_checks.py
and test_ctc_checks.py use it: the code readers see, without the checker's call."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import notebook_solutions

SOLUTION = '''````{solution} ex-ch1-double
:class: dropdown

Twice the chapter's `half`, inverted:

```python
def double(x):
    return x / half(1.0) + 0 * math.pi

checks.check_double(double)   # `checks` is not in the namespace: this call must not run
print(double(2))
```
````

````{solution} ex-ch1-other
:class: dropdown

```python
def double(x):
    return "the wrong solution"
```
````'''


@pytest.fixture
def chapter_one(tmp_path, monkeypatch):
    nb = new_notebook(cells=[
        new_markdown_cell("# Chapter 1"),
        new_code_cell("%pip install nothing"),
        new_code_cell("def half(x):\n    return x / 2\n\n\nvalue = half(undefined_name)"),
        new_markdown_cell("```{exercise} Double\n:label: ex-ch1-double\n```\n\n" + SOLUTION),
    ])
    nbformat.write(nb, tmp_path / "01_chapter.ipynb")
    monkeypatch.setattr(notebook_solutions, "NOTEBOOKS", tmp_path)
    return tmp_path / "01_chapter.ipynb"


def test_a_solution_is_read_from_its_own_dropdown_with_the_chapters_functions(chapter_one):
    double = notebook_solutions.solution(1, "ex-ch1-double", "double", uses=("half",))
    assert double.__name__ == "double" and double(3.0) == 6.0
    assert "def double(x):\n    return x / half(1.0)" in notebook_solutions.solution_code(chapter_one, "ex-ch1-double")
    assert notebook_solutions.solution(1, "ex-ch1-other", "double")(3.0) == "the wrong solution"
    assert notebook_solutions.chapter_function(1, "half")(3.0) == 1.5


def test_a_missing_solution_or_function_fails_when_used(chapter_one):
    missing = notebook_solutions.solution(1, "ex-ch1-triple", "triple")  # no error yet
    with pytest.raises(LookupError, match="no {solution} ex-ch1-triple"):
        missing(1)
    with pytest.raises(LookupError, match="defines no function triple"):
        notebook_solutions.solution(1, "ex-ch1-double", "triple", uses=("half",))(1)
    with pytest.raises(LookupError, match="no code cell defines"):
        notebook_solutions.chapter_function(1, "quarter")(1)
