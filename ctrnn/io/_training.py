"""Training runs and task batches to and from files.

A :class:`~ctrnn.TrainingRun` file holds the run's curves and its trained model, the model's tensors under
``model.`` and its class and config in the metadata; loading checks and builds the model exactly as a model file's
(shapes against the config before anything is built, the constructor's value checks after).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from .._format import Header, read_tensors, write_file
from ..tasks import TaskBatch
from ..training import TaskModel, TrainingRun
from ._models import MAX_MODEL_ELEMENTS, _build_model, _check_size, model_record
from ._results import decode, encode

_PREFIX = "model."


def save_training_run(run: TrainingRun, path: str) -> None:
    """Write a :class:`~ctrnn.TrainingRun`: its curves, settings and trained model.

    Raises:
        NotImplementedError: the trained model is a :class:`~ctrnn.TaskMap` (a map of one's own cannot be rebuilt
            from a file: train the flow with ``through="map"`` instead, whose model is a TaskModel).
    """
    if not isinstance(run.model, TaskModel):
        raise NotImplementedError(f"a TrainingRun of a {type(run.model).__name__} cannot be saved: only a TaskModel "
                                  f"(a System with its readout) can be rebuilt from a file")
    tensors, meta = encode(run, skip=("model",))
    tensors |= {_PREFIX + k: v for k, v in run.model.state_dict().items()}
    meta["model"] = {"class": type(run.model).__name__, "config": run.model.config()}
    write_file(path, tensors, "TrainingRun", meta)


def load_training_run(header: Header, path: Any, *, max_elements: int = MAX_MODEL_ELEMENTS) -> TrainingRun:
    """The run a checked header describes; its model built as :func:`ctrnn.load` builds a model file's.

    Raises:
        ValueError: see :func:`ctrnn.load`.
    """
    cls, config = model_record(header.meta.get("model"), path, "model.")
    model_infos = {k: v for k, v in header.tensors.items() if k.startswith(_PREFIX)}
    _check_size(model_infos, path, max_elements)
    model = _build_model(cls, config, Header(kind=header.kind, meta=header.meta, tensors=model_infos), path, _PREFIX,
                         max_elements)
    curves = read_tensors(path, header, [k for k in header.tensors if not k.startswith(_PREFIX)])
    meta = {k: v for k, v in header.meta.items() if k != "model"}
    try:
        return decode(TrainingRun, curves, {**meta, "model": model})
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot load {path}: a malformed TrainingRun file: {str(exc).splitlines()[0][:200]}") from None


def encode_task_batch(batch: TaskBatch) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A :class:`~ctrnn.tasks.TaskBatch`: its arrays, and each trial variable under ``trial.``."""
    tensors, meta = encode(batch, skip=("trials",))
    tensors |= {f"trial.{k}": v for k, v in batch.trials.items()}
    return tensors, meta


def decode_task_batch(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> TaskBatch:
    trials = {k[len("trial."):]: v for k, v in tensors.items() if k.startswith("trial.")}
    arrays = {k: v for k, v in tensors.items() if not k.startswith("trial.")}
    fields = {f.name for f in dataclasses.fields(TaskBatch)}
    unknown = sorted(set(arrays) - fields)
    if unknown:
        raise ValueError(f"unexpected tensor {unknown[0]!r}")
    return decode(TaskBatch, {**arrays, "trials": trials}, meta)
