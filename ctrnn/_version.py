"""The package version and the versions of the libraries that produce its numbers."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ctrnn-dynamics")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"


def versions() -> dict[str, str]:
    """``{"ctrnn": ..., "torch": ..., "torchdiffeq": ..., "python": ...}``: recorded with every result."""
    import torch
    import torchdiffeq

    return {"ctrnn": __version__, "torch": torch.__version__,
            "torchdiffeq": getattr(torchdiffeq, "__version__", "unknown"), "python": sys.version.split()[0]}
