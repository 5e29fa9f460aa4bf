"""Label vocabularies for CTC: text <-> label ids, with the blank at id 0.

Two kinds: word-level (each word one label, e.g. the ten digits written as numerals) and
character-level (each character one label, the space written ``|`` as in wav2letter).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

BLANK_SYMBOL = "-"
WORD_SEPARATOR = "|"


@dataclass(frozen=True)
class Vocabulary:
    """``symbols[0]`` is the CTC blank; ``word_level`` says whether a label is a word or a character."""

    symbols: tuple[str, ...]
    word_level: bool

    @classmethod
    def words(cls, words: Sequence[str]) -> Vocabulary:
        """One label per word: ``"4 7 1"`` -> three labels."""
        return cls((BLANK_SYMBOL, *words), word_level=True)

    @classmethod
    def characters(cls, alphabet: str) -> Vocabulary:
        """One label per character of ``alphabet``; the space is the separator label ``|``."""
        return cls((BLANK_SYMBOL, WORD_SEPARATOR, *alphabet), word_level=False)

    @property
    def blank(self) -> int:
        return 0

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        """Label ids of ``text``; unknown words or characters raise ``ValueError`` naming them."""
        index = {s: i for i, s in enumerate(self.symbols)}
        units = text.split() if self.word_level else list(" ".join(text.split()).replace(" ", WORD_SEPARATOR))
        unknown = sorted({u for u in units if u not in index or index[u] == self.blank})
        if unknown:
            raise ValueError(f"{unknown} not in the vocabulary {self.symbols[1:]}")
        return [index[u] for u in units]

    def decode(self, labels: Sequence[int]) -> str:
        """Text of label ids (blanks skipped): words joined by spaces, or characters with ``|`` -> space."""
        units = [self.symbols[i] for i in labels if i != self.blank]
        if self.word_level:
            return " ".join(units)
        return " ".join("".join(units).replace(WORD_SEPARATOR, " ").split())


#: The ten digits as numerals, one label each: ids 1..10 stand for digits 0..9.
DIGITS = Vocabulary.words([str(d) for d in range(10)])

#: LibriSpeech's transcripts: upper-case letters, the apostrophe and the space (29 labels with blank).
LIBRISPEECH_CHARACTERS = Vocabulary.characters("'" + string.ascii_uppercase)
