"""The ``ctrnn`` command line: one thin Typer verb per module (``cli/simulate.py``, ...) over the shared options
of ``cli/_options.py`` and the output folder of ``cli/_run_folder.py``; ``cli/_app.py`` registers them."""

from cli._app import app, main

__all__ = ["app", "main"]
