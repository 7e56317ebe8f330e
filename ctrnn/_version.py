"""The package version and the versions of the libraries that produce its numbers."""

from __future__ import annotations

import functools
import platform
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ctrnn-dynamics")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: import name -> distribution name of what the numbers depend on
_DEPENDENCIES = {"torch": "torch", "torchdiffeq": "torchdiffeq", "numpy": "numpy", "scipy": "scipy",
                 "matplotlib": "matplotlib"}


def versions() -> dict[str, str]:
    """``{"ctrnn": ..., "python": ..., "torch": ..., ...}``: recorded with every result and report."""
    return dict(_versions())  # a copy: the caller may add to it


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    # read once per process: the package metadata takes 17 ms to parse, which every simulate call paid
    found = {"ctrnn": __version__, "python": platform.python_version()}
    for name, dist in _DEPENDENCIES.items():
        try:
            found[name] = version(dist)
        except PackageNotFoundError:
            found[name] = "not installed"
    return tuple(found.items())
