"""Models and maps to and from files: a model is its class, ``config()`` and state dict; a map is its matrices
(linear maps) or its model plus scheme and step."""

from __future__ import annotations

import os
from typing import Any

import torch

from .._simulate import describe_system
from ..discretize import LinearMap, SelectiveMap, SystemMap
from ..systems import System
from ._format import write_file


def save_model(system: Any, path: str | os.PathLike) -> None:
    """Write a model: its class, :meth:`~ctrnn.System.config` and state dict.

    Arguments:
        system: a :class:`~ctrnn.System` with a ``config()``. path: the ``.safetensors`` file to write.

    Returns:
        nothing; :func:`ctrnn.load` reads the model back.

    Raises:
        TypeError: not a :class:`~ctrnn.System`. NotImplementedError: a model without ``config()``.
    """
    if not isinstance(system, System):
        raise TypeError(f"save_model takes a ctrnn.System, got {type(system).__name__}")
    config = system.config()  # NotImplementedError for models that cannot be rebuilt (VectorField)
    write_file(path, dict(system.state_dict()), "model", {"class": type(system).__name__, "config": config})


def save_map(dmap: Any, path: str | os.PathLike) -> None:
    """Write a discrete map: a linear map's matrices, or a model's map as the model plus scheme and step.

    Arguments:
        dmap: a :class:`~ctrnn.LinearMap`, or the map of a saveable model. path: the ``.safetensors`` file.

    Returns:
        nothing; :func:`ctrnn.load` reads the map back.

    Raises:
        NotImplementedError: a map that wraps a Python callable.
    """
    if isinstance(dmap, LinearMap):
        Ad, Bd, Cd, Dd = dmap._scipy
        tensors = {"Abar": dmap.Abar, "Bbar": dmap.Bbar, "C": dmap.C, "D": dmap.D, "dt": dmap.dt,
                   "scipy_Ad": Ad, "scipy_Bd": Bd, "scipy_Cd": Cd, "scipy_Dd": Dd}
        write_file(path, tensors, "map", {"class": "LinearMap", "scheme": dmap.scheme, "diagonal": dmap.diagonal})
    elif isinstance(dmap, (SystemMap, SelectiveMap)):
        tensors = {f"system.{k}": v for k, v in dmap.system.state_dict().items()}
        write_file(path, tensors, "map", {"class": type(dmap).__name__, "scheme": dmap.scheme, "dt": dmap.dt,
                                      "system": describe_system(dmap.system)})
    else:
        raise NotImplementedError(f"{type(dmap).__name__} cannot be saved: it wraps a Python callable")


def load_model(cls_name: str, config: Any, tensors: dict[str, torch.Tensor], path: Any) -> Any:
    """Rebuild a model of class ``cls_name`` from its config, then load its tensors (``path`` names the file in
    errors); the model takes the tensors' dtype."""
    cls = System.model_classes.get(cls_name or "")
    if cls is None or config is None:
        raise ValueError(f"cannot load {path}: unknown or unsaveable model class {cls_name!r}")
    model = cls.from_config(config)
    dtypes = {t.dtype for t in tensors.values() if t.is_floating_point()}
    if len(dtypes) == 1 and not any(t.is_complex() for t in tensors.values()):  # complex models are built complex
        model = model.to(dtypes.pop())
    model.load_state_dict(tensors)
    return model


def load_map(meta: dict[str, Any], tensors: dict[str, torch.Tensor], path: Any) -> Any:
    """Rebuild a map from what :func:`save_map` wrote (``path`` names the file in errors)."""
    if meta["class"] == "LinearMap":
        scipy = tuple(tensors[f"scipy_{k}"] for k in ("Ad", "Bd", "Cd", "Dd"))
        return LinearMap(tensors["Abar"], tensors["Bbar"], tensors["C"], tensors["D"], dt=tensors["dt"],
                         scheme=meta["scheme"], diagonal=meta["diagonal"], scipy_matrices=scipy)
    system_meta = meta["system"]
    model = load_model(system_meta["class"], system_meta["config"],
                        {k[len("system."):]: v for k, v in tensors.items() if k.startswith("system.")}, path)
    cls = {"SystemMap": SystemMap, "SelectiveMap": SelectiveMap}.get(meta["class"])
    if cls is None:
        raise ValueError(f"cannot load {path}: unknown map class {meta['class']!r}")
    return cls(model, meta["dt"], meta["scheme"])
