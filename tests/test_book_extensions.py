"""The book's local Sphinx extensions that number figures per chapter and label references."""

from __future__ import annotations

import pytest

# The extensions run in the book's environment (Sphinx, pybtex), not in `make test-compat`'s.
parse_string = pytest.importorskip("pybtex.database", reason="needs the book's environment (pybtex)").parse_string

from book_ext import load  # noqa: E402


def test_figures_and_exercises_count_from_one_in_each_chapter():
    chapter_numbers = load("chapter_numbers")
    fignumbers = {
        "notebooks/03_resnet": {"figure": {"b": (9,), "a": (8,)}, "exercise": {"x": (20,), "y": (21,)}},
        "notebooks/04_init": {"figure": {"c": (10,)}},
        "book/intro": {"figure": {"d": (1,)}},
    }
    changed = chapter_numbers.renumber(fignumbers)
    assert fignumbers["notebooks/03_resnet"] == {"figure": {"a": (3, 1), "b": (3, 2)},
                                                 "exercise": {"x": (3, 1), "y": (3, 2)}}
    assert fignumbers["notebooks/04_init"] == {"figure": {"c": (4, 1)}}
    assert fignumbers["book/intro"] == {"figure": {"d": (1,)}}
    assert changed == ["notebooks/03_resnet", "notebooks/04_init"]
    assert chapter_numbers.renumber(fignumbers) == []


BIB = r"""
@article{warden2018, author = {Warden, Pete}, title = {Speech Commands}, year = {2018}}
@article{davis1980, author = {Davis, S. and Mermelstein, P.}, title = {MFCC}, year = {1980}}
@inproceedings{he2016deep, author = {He, K. and Zhang, X. and Ren, S. and Sun, J.}, title = {Deep}, year = {2016}}
@inproceedings{he2016identity, author = {He, K. and Zhang, X. and Ren, S. and Sun, J.}, title = {Identity}, year = {2016}}
@misc{oord2016, author = {van den Oord, A{\"a}ron and Dieleman, Sander and Zen, H.}, title = {WaveNet}, year = {2016}}
"""


def test_references_are_labelled_by_author_and_year():
    style = load("bibliography_style")
    entries = list(parse_string(BIB, "bibtex").entries.values())
    ordered = list(style.AuthorYearStyle().sort(entries))
    labels = dict(zip((e.key for e in ordered), style.AuthorYearLabels().format_labels(ordered)))
    assert labels == {
        "davis1980": "Davis and Mermelstein 1980",
        "he2016deep": "He et al. 2016a",
        "he2016identity": "He et al. 2016b",
        "oord2016": "van den Oord et al. 2016",
        "warden2018": "Warden 2018",
    }
