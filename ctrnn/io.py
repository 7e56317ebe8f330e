"""Results and models to and from disk: ``.safetensors`` files (tensors + JSON metadata), never pickle.

Every file carries ``{"format": "ctrnn", "kind": ..., "meta": <json>}`` in its safetensors header, so
:func:`load` knows what to rebuild. Writes go to a temporary file renamed into place, so an
interrupted write never leaves a half-written result under the final name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

FORMAT = "ctrnn"


def _write(path: str | os.PathLike, tensors: dict[str, torch.Tensor], kind: str, meta: dict[str, Any]) -> None:
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"ctrnn writes .safetensors files; got {str(path)!r}: use a name ending in .safetensors")
    if not path.parent.exists():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    header = {"format": FORMAT, "kind": kind, "meta": json.dumps(meta, allow_nan=True)}
    # clone: safetensors refuses tensors that share memory (a result's slices of one buffer)
    payload = {name: t.detach().cpu().clone(memory_format=torch.contiguous_format) for name, t in tensors.items()}
    tmp = path.with_name(f".{path.name}.partial")
    save_file(payload, str(tmp), metadata=header)
    os.replace(tmp, path)


def read(path: str | os.PathLike) -> tuple[str, dict[str, torch.Tensor], dict[str, Any]]:
    """Read a ctrnn file: ``(kind, tensors, meta)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a ctrnn ``.safetensors`` file or is corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: not a readable .safetensors file ({exc})") from None
    if header.get("format") != FORMAT or "kind" not in header:
        raise ValueError(f"cannot read {path}: a safetensors file, but not one written by ctrnn")
    try:
        meta = json.loads(header.get("meta", "{}"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"cannot read {path}: its metadata is corrupt ({exc})") from None
    return header["kind"], tensors, meta


def save_result(path: str | os.PathLike, kind: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write a result's tensors and JSON-able metadata (used by the results' ``.save``)."""
    _write(path, tensors, kind, meta)


def save_model(system: Any, path: str | os.PathLike) -> None:
    """Write a model: its class, :meth:`~ctrnn.System.config` and state dict."""
    from .systems._base import System

    if not isinstance(system, System):
        raise TypeError(f"save_model takes a ctrnn.System, got {type(system).__name__}")
    config = system.config()  # NotImplementedError for models that cannot be rebuilt (VectorField)
    _write(path, dict(system.state_dict()), "model", {"class": type(system).__name__, "config": config})


def load(path: str | os.PathLike) -> Any:
    """Load any result or model that ctrnn saved (a :class:`~ctrnn.Trajectory`, a model, ...).

    Tensors come back on the CPU in the dtype they were saved in.
    """
    from ._simulate import Trajectory
    from .discretize import DiscretizationError
    from .systems._base import System

    kind, tensors, meta = read(path)
    if kind == "model":
        cls = System.model_classes.get(meta.get("class", ""))
        if cls is None:
            raise ValueError(f"cannot load {path}: unknown model class {meta.get('class')!r}")
        model = cls.from_config(meta["config"])
        dtypes = {t.dtype for t in tensors.values() if t.is_floating_point()}
        if len(dtypes) == 1:
            model = model.to(dtypes.pop())
        model.load_state_dict(tensors)
        return model
    loaders = {"Trajectory": Trajectory._from_saved, "DiscretizationError": DiscretizationError._from_saved}
    if kind not in loaders:
        raise ValueError(f"cannot load {path}: unknown result kind {kind!r}")
    return loaders[kind](tensors, meta)
