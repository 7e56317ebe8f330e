"""Results, models and maps to and from disk: ``.safetensors`` files (tensors + JSON metadata), never pickle.

Every file carries ``{"format": "ctrnn", "kind": ..., "meta": <json>}`` in its safetensors header, so
:func:`load` knows what to rebuild. Importing this package (``import ctrnn`` does) registers the writers that
``result.save(path)``, ``model.save(path)`` and ``dmap.save(path)`` dispatch to.
"""

from __future__ import annotations

import os
from typing import Any

from .._files import atomic_path, save_figure, write_text
from .._results import SAVERS
from ..discretize import DiscreteMap
from ..systems import System
from ._checkpoint import simulate_to_file
from ._format import read, write_file
from ._identity import content_digest
from ._models import load_map, load_model, save_map, save_model
from ._results import CODECS, decode_result, save_result

SAVERS.update({cls: save_result for cls, _, _ in CODECS.values()})
SAVERS.update({System: save_model, DiscreteMap: save_map})


def load(path: str | os.PathLike) -> Any:
    """Load any result, model or map that ctrnn saved (a :class:`~ctrnn.Trajectory`, a model, ...).

    Tensors come back on the CPU in the dtype they were saved in.

    Arguments:
        path: a ``.safetensors`` file written by ctrnn.

    Returns:
        the result, :class:`~ctrnn.System` or :class:`~ctrnn.DiscreteMap` it holds.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ctrnn file, a corrupt one, or one of an unknown kind.
    """
    kind, tensors, meta = read(path)
    if kind == "model":
        return load_model(meta.get("class", ""), meta.get("config"), tensors, path)
    if kind == "map":
        return load_map(meta, tensors, path)
    try:
        return decode_result(kind, tensors, meta)
    except ValueError as error:
        raise ValueError(f"cannot load {path}: {error}") from None


__all__ = ["atomic_path", "content_digest", "load", "read", "save_figure", "save_map", "save_model", "save_result",
           "simulate_to_file", "write_file", "write_text"]
