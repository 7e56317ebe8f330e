"""Training checkpoints: everything a run needs to go on exactly where it stopped, in one ``.safetensors`` file.

The file holds the model's state dict, the optimizer's tensors, the generator's state (raw bytes), and as JSON the
step, the optimizer's scalar state and groups, the schedule's state, the curves so far and the run's settings.
JSON floats are written with ``repr`` and read back to the same bits, so a resumed run continues bit-identically.
A checkpoint is written to a temporary file and renamed into place: a kill leaves the previous one whole.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from .._format import read, write_file

#: the checkpoint's name inside a run's folder
CHECKPOINT = "checkpoint.safetensors"
KIND = "training_checkpoint"


@dataclasses.dataclass(frozen=True)
class CheckpointState:
    """What :func:`read_checkpoint` returns: ready for ``load_state_dict`` / ``set_state``."""

    step: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    generator: torch.Tensor
    curves: dict[str, list[float]]
    wall_time: float


def write_checkpoint(folder: Path, *, settings: dict[str, Any], step: int, model: torch.nn.Module,
                     optimizer: torch.optim.Optimizer, scheduler: Any, generator: torch.Generator,
                     curves: dict[str, list[float]], wall_time: float, model_record: dict[str, Any]) -> None:
    """Write ``folder/checkpoint.safetensors`` atomically (see the module's docstring for what it holds)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in opt["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["generator"] = generator.get_state()
    meta = {"settings": settings, "step": step, "optimizer_groups": opt["param_groups"], "optimizer_scalars": scalars,
            "optimizer_indices": sorted(opt["state"]), "scheduler": None if scheduler is None else scheduler.state_dict(),
            "curves": curves, "wall_time": wall_time, "model": model_record}
    write_file(folder / CHECKPOINT, tensors, KIND, meta)


def settings_differences(stored: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """The settings whose values differ, as ``key: stored -> asked`` lines."""
    keys = sorted(set(stored) | set(asked))
    hashed = {"initial_model": "the initial weights differ", "connectivity_masks": "the connectivity masks differ"}
    return [hashed.get(k, f"{k}: {stored.get(k)!r} -> {asked.get(k)!r}") for k in keys if stored.get(k) != asked.get(k)]


def read_checkpoint(folder: Path, settings: dict[str, Any]) -> CheckpointState:
    """The checkpoint in ``folder``, refused unless it is of the run ``settings`` describes.

    Raises:
        ValueError: no checkpoint, not a training checkpoint, or one of another run (the differing settings named:
            the model's initial weights count as a setting, by their content hash).
    """
    path = folder / CHECKPOINT
    if not path.is_file():
        raise ValueError(f"cannot resume: {folder} holds no {CHECKPOINT}; start the run without resume")
    kind, tensors, meta = read(path)
    if kind != KIND:
        raise ValueError(f"cannot resume from {path}: it is a {kind!r} file, not a training checkpoint")
    differences = settings_differences(meta.get("settings", {}), settings)
    if differences:
        raise ValueError(f"cannot resume from {path}: it is another run ({'; '.join(differences)}); start a new "
                         f"run in another folder")
    state: dict[int, dict[str, Any]] = {}
    for index in meta["optimizer_indices"]:
        entry = dict(meta["optimizer_scalars"].get(str(index), {}))
        prefix = f"optimizer.{index}."
        entry |= {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        state[int(index)] = entry
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    return CheckpointState(step=int(meta["step"]), model=model,
                           optimizer={"state": state, "param_groups": meta["optimizer_groups"]},
                           scheduler=meta["scheduler"], generator=tensors["generator"], curves=meta["curves"],
                           wall_time=float(meta["wall_time"]))
