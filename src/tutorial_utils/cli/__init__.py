"""The command lines, thin: each parses its arguments, calls the library and prints.

* :mod:`.train` -- ``python -m tutorial_utils.train`` (keyword spotters; ``--task asr``: the CTC recogniser)
* :mod:`.predict` -- ``python -m tutorial_utils.predict`` (label recordings with a saved spotter)
* :mod:`.transcribe` -- ``python -m tutorial_utils.transcribe`` (transcribe recordings with a saved recogniser)
* :mod:`.enrol` -- ``python -m tutorial_utils.enrol`` (few-shot: new digits enrolled from a few recordings)
* :mod:`.benchmark` -- ``python -m tutorial_utils.benchmark`` (training throughput)
* :mod:`.ddp` -- ``torchrun --nproc_per_node N -m tutorial_utils.distributed`` (data-parallel training)

The ``python -m`` names are the thin modules ``tutorial_utils/train.py`` and friends, which the
shipped measurement records name in their commands.
"""
