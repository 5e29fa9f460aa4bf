"""Author-year labels for the references: "[He et al. 2016a]" in the text and in the list.

sphinxcontrib-bibtex labels the list alphabetically coded ("[HZRS16]") unless a pybtex style says
otherwise; this one labels each entry by its authors' last names and year (a letter tells apart
one author list's works of one year), sorts the list by author and year, and the text cites
with the same label (``bibtex_reference_style: label``), so a citation reads like its entry.
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Any

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx


def last_name(person: Any) -> str:
    """A person's last name(s) as plain text (LaTeX accents and braces resolved)."""
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def author_year(entry: Any) -> str:
    """"Warden 2018", "Davis and Mermelstein 1980", "He et al. 2016"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [last_name(p) for p in people]
    if not names:
        who = entry.fields.get("organization") or entry.fields.get("title", entry.key).split(":")[0]
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who} {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        repeated, seen = Counter(labels), Counter()
        for label in labels:
            if repeated[label] > 1:
                seen[label] += 1
                label += string.ascii_lowercase[seen[label] - 1]
            yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels, force=True)
register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle, force=True)


def setup(app: Sphinx) -> dict[str, Any]:
    return {"parallel_read_safe": True, "parallel_write_safe": True}
