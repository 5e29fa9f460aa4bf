"""What only the book's pages need: the exercise checkers (:mod:`.checks`), the measured run
records (:mod:`.measured`, with the one :func:`~.measured.record` writer every command uses) and
the trained models that ship with the package (:mod:`.trained`)."""
