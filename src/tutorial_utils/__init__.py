"""Helpers for the book *Residual Networks for Speech Recognition*.

One module per idea, mirroring the chapters:

* ``config``: run profile, data directory, device (the only reader of environment variables).
* ``data``: datasets (FSDD, Speech Commands, connected digits, LibriSpeech) and audio loading.
* ``features``: framing, STFT, Mel filterbanks, log-Mel, MFCC, deltas, normalisation.
* ``plots``: waveforms, spectrograms, filterbanks.
* ``layers``, ``losses``, ``init``, ``diagnostics``: a ResNet's parts from scratch and how to inspect them.
* ``models``: depth-experiment CNNs, the seed post's ResNet (fixed), Tang & Lin's KWS ResNets, a CTC model.
* ``train``, ``augment``, ``keyword_spotting``, ``predict``: training and using keyword spotters.
* ``benchmark``, ``distributed``: measuring throughput honestly; data-parallel training (DDP).
* ``evaluation``, ``streaming``: accuracy with confidence intervals, confusion matrices; spotting
  keywords in a long recording.
* ``measured``: the full-length results the authors measured with the command-line entries.
* ``optim``, ``surfaces``: optimizers from scratch and 2-D test functions.
* ``ctc``, ``vocabulary``, ``metrics``, ``asr_train``, ``transcribe``: sequence recognition with CTC.
* ``checks``: auto-checkers for the exercises.
"""

__version__ = "0.1.0"
