"""Helpers for the book *Residual Networks for Speech Recognition*, layered from the bottom up
(a module imports only from its own layer or those above it in this list; a test enforces it):

* ``config`` -- run profile, data and cache directories, device (the only reader of environment variables)
* ``data`` -- audio I/O with the book's one clip policy, verified downloads, FSDD, Speech Commands,
  connected digits, LibriSpeech, vocabularies (``data.text``)
* ``features``, ``augment`` -- signal processing and augmentation, each a function and a module that calls it;
  ``layers``, ``losses``, ``init``, ``optim``, ``ctc``, ``wer``, ``surfaces``, ``plots`` -- from-scratch
  pieces the chapters assert equal to PyTorch / torchaudio / jiwer, and figures
* ``front_end``, ``models`` -- the spotters' front end; seed, depth, keyword-spotting and CTC models
* ``evaluation`` -- accuracy with intervals, confusion matrices, streaming detection, layer statistics, inference
* ``training`` -- one training loop, mixed precision, one checkpoint format, the spotter and CTC
  recipes, data-parallel training, throughput benchmarks
* ``book`` -- exercise checkers and the measured run records
* ``cli`` -- the command lines (``python -m tutorial_utils.train``, ``predict``, ``transcribe``,
  ``benchmark``, ``asr_train``, ``distributed``: thin modules at the top that call them)
"""

__version__ = "0.2.0"
