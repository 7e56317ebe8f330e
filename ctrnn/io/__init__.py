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
from .._format import MAX_HEADER_BYTES, read, read_header, read_tensors, write_file
from .._identity import content_digest
from ._models import MAX_MODEL_ELEMENTS, load_map, load_model, model_record, save_map, save_model
from ._results import CODECS, decode_result, save_result
from ._training import decode_task_batch, encode_task_batch, load_training_run, save_training_run
from ..tasks import TaskBatch
from ..training import TrainingRun

CODECS["TaskBatch"] = (TaskBatch, encode_task_batch, decode_task_batch)
SAVERS.update({cls: save_result for cls, _, _ in CODECS.values()})
SAVERS.update({System: save_model, DiscreteMap: save_map, TrainingRun: save_training_run})


def load(path: str | os.PathLike, *, max_elements: int = MAX_MODEL_ELEMENTS) -> Any:
    """Load any result, model or map that ctrnn saved (a :class:`~ctrnn.Trajectory`, a model, ...).

    Tensors come back on the CPU in the dtype they were saved in. The file is checked before anything it asks for
    is allocated: its header (size, JSON, each tensor's dtype, shape and place in the file) with the data unread;
    for a model or map, its tensors' names and shapes against what its config implies, and their number against
    ``max_elements``; after loading, a model's values get its constructor's checks (finite weights, time
    constants > 0). Nothing in a file is run: its tensors are raw data, the rest JSON.

    Arguments:
        path: a ``.safetensors`` file written by ctrnn.
        max_elements: the most tensor elements a model or map file may hold (default
            ``ctrnn.io.MAX_MODEL_ELEMENTS``, 2**28); raise it for a larger file you trust.

    Returns:
        the result, :class:`~ctrnn.System` or :class:`~ctrnn.DiscreteMap` it holds.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ctrnn file, a damaged or crafted one (truncated, malformed metadata, tensors that do not
            match the config, values the model's constructor refuses), one of an unknown kind, or a model larger
            than ``max_elements``; the message names the file and what is wrong.
    """
    header = read_header(path)
    if header.kind == "model":
        return load_model(header, path, max_elements=max_elements)
    if header.kind == "map":
        return load_map(header, path, max_elements=max_elements)
    if header.kind == "TrainingRun":
        return load_training_run(header, path, max_elements=max_elements)
    if header.kind == "training_checkpoint":
        raise ValueError(f"cannot load {path}: it is a training checkpoint, which ctrnn.train(..., path=its folder, "
                         f"resume=True) continues; the trained model is the run's model.safetensors")
    try:
        return decode_result(header.kind, read_tensors(path, header), header.meta)
    except ValueError as error:
        raise ValueError(f"cannot load {path}: {error}") from None


__all__ = ["MAX_HEADER_BYTES", "MAX_MODEL_ELEMENTS", "atomic_path", "content_digest", "load", "model_record", "read",
           "read_header", "save_figure", "save_map", "save_model", "save_result", "simulate_to_file", "write_file",
           "write_text"]
