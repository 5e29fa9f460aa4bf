"""Label vocabularies: text <-> label ids with the CTC blank at 0."""

from __future__ import annotations

import pytest

from tutorial_utils.data.text import DIGITS, LIBRISPEECH_CHARACTERS, Vocabulary


def test_digits_are_words_after_the_blank():
    assert len(DIGITS) == 11 and DIGITS.blank == 0
    assert DIGITS.encode("4 7 1") == [5, 8, 2]
    assert DIGITS.decode([5, 0, 8, 2]) == "4 7 1"


def test_characters_use_a_word_separator():
    ids = LIBRISPEECH_CHARACTERS.encode("IT'S  A DOG")
    assert LIBRISPEECH_CHARACTERS.symbols[ids[3]] == "S" and LIBRISPEECH_CHARACTERS.symbols[ids[4]] == "|"
    assert LIBRISPEECH_CHARACTERS.decode(ids) == "IT'S A DOG"
    assert len(LIBRISPEECH_CHARACTERS) == 29


def test_unknown_symbols_are_named():
    with pytest.raises(ValueError, match=r"\['eleven'\]"):
        DIGITS.encode("4 eleven")
    with pytest.raises(ValueError, match=r"\['-'\]"):
        Vocabulary.characters("ab").encode("a-b")
