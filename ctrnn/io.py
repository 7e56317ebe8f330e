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
COMPLEX_SUFFIX = "::complex"


def _write(path: str | os.PathLike, tensors: dict[str, torch.Tensor], kind: str, meta: dict[str, Any]) -> None:
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"ctrnn writes .safetensors files; got {str(path)!r}: use a name ending in .safetensors")
    if not path.parent.exists():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    header = {"format": FORMAT, "kind": kind, "meta": json.dumps(meta, allow_nan=True)}
    payload = {}
    for name, t in tensors.items():
        # clone: safetensors refuses tensors that share memory (a result's slices of one buffer)
        t = t.detach().cpu().clone(memory_format=torch.contiguous_format)
        if t.is_complex():  # safetensors has no complex128: keep the (re, im) pairs, exactly
            name, t = name + COMPLEX_SUFFIX, torch.view_as_real(t).contiguous()
        payload[name] = t
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
            tensors = {}
            for name in f.keys():
                t = f.get_tensor(name)
                if name.endswith(COMPLEX_SUFFIX):
                    name, t = name[: -len(COMPLEX_SUFFIX)], torch.view_as_complex(t)
                tensors[name] = t
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


def save_map(dmap: Any, path: str | os.PathLike) -> None:
    """Write a discrete map: a linear map's matrices, or a model's map as the model plus scheme and step."""
    from ._simulate import describe_system
    from .discretize import LinearMap, SelectiveMap, SystemMap

    if isinstance(dmap, LinearMap):
        Ad, Bd, Cd, Dd = dmap._scipy
        tensors = {"Abar": dmap.Abar, "Bbar": dmap.Bbar, "C": dmap.C, "D": dmap.D, "dt": dmap.dt,
                   "scipy_Ad": Ad, "scipy_Bd": Bd, "scipy_Cd": Cd, "scipy_Dd": Dd}
        _write(path, tensors, "map", {"class": "LinearMap", "scheme": dmap.scheme, "diagonal": dmap.diagonal})
    elif isinstance(dmap, (SystemMap, SelectiveMap)):
        tensors = {f"system.{k}": v for k, v in dmap.system.state_dict().items()}
        _write(path, tensors, "map", {"class": type(dmap).__name__, "scheme": dmap.scheme, "dt": dmap.dt,
                                      "system": describe_system(dmap.system)})
    else:
        raise NotImplementedError(f"{type(dmap).__name__} cannot be saved: it wraps a Python callable")


def _load_model(cls_name: str, config: Any, tensors: dict[str, torch.Tensor], path: Any) -> Any:
    from .systems._base import System

    cls = System.model_classes.get(cls_name or "")
    if cls is None or config is None:
        raise ValueError(f"cannot load {path}: unknown or unsaveable model class {cls_name!r}")
    model = cls.from_config(config)
    dtypes = {t.dtype for t in tensors.values() if t.is_floating_point()}
    if len(dtypes) == 1 and not any(t.is_complex() for t in tensors.values()):  # complex models are built complex
        model = model.to(dtypes.pop())
    model.load_state_dict(tensors)
    return model


def load(path: str | os.PathLike) -> Any:
    """Load any result or model that ctrnn saved (a :class:`~ctrnn.Trajectory`, a model, ...).

    Tensors come back on the CPU in the dtype they were saved in.
    """
    from ._simulate import Trajectory
    from .analysis import (Basins, FixedPointBranches, FixedPoints, GradientPropagation, LimitCycle, LyapunovSpectrum,
                           Sweep)
    from .discretize import DiscretizationError

    kind, tensors, meta = read(path)
    if kind == "model":
        return _load_model(meta.get("class", ""), meta.get("config"), tensors, path)
    if kind == "map":
        return _load_map(meta, tensors, path)
    loaders = {"Trajectory": Trajectory._from_saved, "DiscretizationError": DiscretizationError._from_saved,
               "FixedPoints": FixedPoints._from_saved, "LimitCycle": LimitCycle._from_saved,
               "FixedPointBranches": FixedPointBranches._from_saved, "Basins": Basins._from_saved,
               "LyapunovSpectrum": LyapunovSpectrum._from_saved, "GradientPropagation": GradientPropagation._from_saved,
               "Sweep": Sweep._from_saved}
    if kind not in loaders:
        raise ValueError(f"cannot load {path}: unknown result kind {kind!r}")
    return loaders[kind](tensors, meta)


def _load_map(meta: dict[str, Any], tensors: dict[str, torch.Tensor], path: Any) -> Any:
    from .discretize import LinearMap, SelectiveMap, SystemMap

    if meta["class"] == "LinearMap":
        scipy = tuple(tensors[f"scipy_{k}"] for k in ("Ad", "Bd", "Cd", "Dd"))
        return LinearMap(tensors["Abar"], tensors["Bbar"], tensors["C"], tensors["D"], dt=tensors["dt"],
                         scheme=meta["scheme"], diagonal=meta["diagonal"], scipy_matrices=scipy)
    system_meta = meta["system"]
    model = _load_model(system_meta["class"], system_meta["config"],
                        {k[len("system."):]: v for k, v in tensors.items() if k.startswith("system.")}, path)
    cls = {"SystemMap": SystemMap, "SelectiveMap": SelectiveMap}.get(meta["class"])
    if cls is None:
        raise ValueError(f"cannot load {path}: unknown map class {meta['class']!r}")
    return cls(model, meta["dt"], meta["scheme"])
