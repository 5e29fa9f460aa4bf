"""What only the book's pages need: the exercise checkers (:mod:`.checks`) and the measured run
records (:mod:`.measured`, with the one :func:`~.measured.record` writer every command uses)."""
