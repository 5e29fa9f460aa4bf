"""Helpers for the book *Residual Networks for Speech Recognition*.

One module per idea, mirroring the chapters: ``config`` (profile, data directory, device),
``data`` (datasets and audio loading), ``features`` (spectrograms, Mel, MFCC), ``plots``.
"""

__version__ = "0.1.0"
