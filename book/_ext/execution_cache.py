"""Execute the chapters once per profile and keep their outputs between builds.

``make book`` builds the published site in the ``cpu`` profile, which runs for minutes. MyST-NB's
execution cache (jupyter-cache) then re-executes only the notebooks whose code changed. The cache
is kept per profile, in ``build/jupyter_cache/<profile>`` (outside ``build/_build`` and git),
because the cache is keyed by a notebook's code, not by the profile its outputs came from. The
``ci`` profile (the tests' build, seconds per notebook) always executes every notebook.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

from tutorial_utils import config as book_config


def choose_execution(app: Sphinx, config: Config) -> None:
    profile = book_config.profile()
    if profile == "ci":
        config.nb_execution_mode = "force"
    else:
        config.nb_execution_mode = "cache"
        config.nb_execution_cache_path = str(Path(app.srcdir) / "build" / "jupyter_cache" / profile)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", choose_execution)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
