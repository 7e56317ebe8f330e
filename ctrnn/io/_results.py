"""Results to and from files: one generic codec for result dataclasses (tensor fields become tensors, the rest
JSON metadata), with the few results that hold other results or mappings of tensors spelled out.

The layout of each kind is the one earlier versions wrote, so their files still load.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from .._simulate import SolverStats, Trajectory
from .._results import Result
from ..analysis import (Basins, ConnectivitySpectrum, DiscretizationError, FixedPointBranches, FixedPoints,
                        GradientPropagation, JacobianSpectra, LimitCycle, LyapunovSpectrum, Survey, SurveySettings,
                        Sweep)
from ._format import write_file

Tensors = dict[str, torch.Tensor]
Meta = dict[str, Any]


def encode(result: Any, *, skip: tuple[str, ...] = ()) -> tuple[Tensors, Meta]:
    """Tensor fields (``None`` ones left out) to tensors, every other field to JSON-able metadata."""
    tensors: Tensors = {}
    meta: Meta = {}
    for f in dataclasses.fields(result):
        if f.name in skip:
            continue
        value = getattr(result, f.name)
        if isinstance(value, torch.Tensor):
            tensors[f.name] = value
        elif dataclasses.is_dataclass(value):
            meta[f.name] = dataclasses.asdict(value)
        else:
            meta[f.name] = list(value) if isinstance(value, tuple) else value
    return tensors, meta


def decode(cls: type, tensors: Tensors, meta: Meta) -> Any:
    """Rebuild ``cls`` from what :func:`encode` wrote; fields typed as tuples come back as tuples."""
    values = {**meta, **tensors}
    for f in dataclasses.fields(cls):
        if f.name in values and isinstance(values[f.name], list) and str(f.type).startswith("tuple"):
            values[f.name] = tuple(values[f.name])
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})


# -- results whose fields are not all tensors and JSON values --------------------------------------------------
def _decode_trajectory(tensors: Tensors, meta: Meta) -> Trajectory:
    return Trajectory(t=tensors["t"], x=tensors["x"], u=tensors.get("u"), stats=SolverStats(**meta["stats"]),
                      method=meta["method"], rtol=meta["rtol"], atol=meta["atol"], step_size=meta["step_size"],
                      metadata=meta["metadata"])


def _encode_basins(b: Basins) -> tuple[Tensors, Meta]:
    tensors, meta = encode(b, skip=("attractors",))
    tensors |= {f"attractor.{i}": v for i, v in enumerate(b.attractors.values())}
    meta["attractors"] = list(b.attractors)
    return tensors, meta


def _decode_basins(tensors: Tensors, meta: Meta) -> Basins:
    tensors = dict(tensors)
    attractors = {name: tensors.pop(f"attractor.{i}") for i, name in enumerate(meta["attractors"])}
    metadata = dict(meta["metadata"])
    if "axis_labels" in metadata:
        metadata["axis_labels"] = tuple(metadata["axis_labels"])
    return Basins(**tensors, names=meta["names"], attractors=attractors, metadata=metadata)


def _encode_branches(b: FixedPointBranches) -> tuple[Tensors, Meta]:
    tensors: Tensors = {"inputs": b.inputs}
    metas = []
    for s, res in enumerate(b.results):
        t, m = encode(res)
        tensors |= {f"{s}.{k}": v for k, v in t.items()}
        metas.append(m)
    return tensors, {"results": metas, "metadata": b.metadata}


def _decode_branches(tensors: Tensors, meta: Meta) -> FixedPointBranches:
    results = []
    for s, m in enumerate(meta["results"]):
        mine = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"{s}.")}
        results.append(decode(FixedPoints, mine, m))
    return FixedPointBranches(inputs=tensors["inputs"], results=results, metadata=meta["metadata"])


def _decode_gradients(tensors: Tensors, meta: Meta) -> GradientPropagation:
    if "norms" in tensors:  # files of earlier versions held the norms themselves; the result holds their logs
        tensors = {**tensors, "log_norms": tensors["norms"].log(),
                   "log_singular_values": tensors["singular_values"].log()}
        tensors = {k: v for k, v in tensors.items() if k not in ("norms", "singular_values")}
    return decode(GradientPropagation, tensors, meta)


def _encode_sweep(s: Sweep) -> tuple[Tensors, Meta]:
    return encode(s, skip=("spectra",))  # each run is its own file when a sweep keeps them (the CLI's runs/)


def _encode_nested(result: Result, prefix: str) -> tuple[Tensors, Meta]:
    """A result inside another: its tensors under ``prefix.``, its kind and metadata as a JSON record."""
    kind = type(result).__name__
    tensors, meta = CODECS[kind][1](result)
    return {f"{prefix}.{k}": v for k, v in tensors.items()}, {"kind": kind, "meta": meta}


def _decode_nested(record: Meta, tensors: Tensors, prefix: str) -> Any:
    mine = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    return CODECS[record["kind"]][2](mine, record["meta"])


def _encode_survey(found: Survey) -> tuple[Tensors, Meta]:
    tensors: Tensors = {}
    meta: Meta = {}
    for f in dataclasses.fields(found):
        value = getattr(found, f.name)
        if isinstance(value, Result):
            t, meta[f.name] = _encode_nested(value, f.name)
            tensors |= t
        elif isinstance(value, list):  # the limit cycles
            meta[f.name] = []
            for i, item in enumerate(value):
                t, record = _encode_nested(item, f"{f.name}.{i}")
                tensors |= t
                meta[f.name].append(record)
        elif isinstance(value, torch.Tensor):
            tensors[f.name] = value
        elif f.name == "attractors":
            tensors |= {f"attractors.{i}": v for i, v in enumerate(value.values())}
            meta[f.name] = list(value)
        elif isinstance(value, SurveySettings):
            meta[f.name] = dataclasses.asdict(value)
        else:
            meta[f.name] = value
    return tensors, meta


def _decode_survey(tensors: Tensors, meta: Meta) -> Survey:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Survey):
        record = meta.get(f.name)
        if f.name == "settings":
            settings = dict(record)
            settings["discretization_steps"] = tuple(settings["discretization_steps"])
            values[f.name] = SurveySettings(**settings)
        elif f.name == "attractors":
            values[f.name] = {name: tensors[f"attractors.{i}"] for i, name in enumerate(record)}
        elif f.name == "cycles":
            values[f.name] = [_decode_nested(r, tensors, f"cycles.{i}") for i, r in enumerate(record)]
        elif isinstance(record, dict) and set(record) == {"kind", "meta"}:
            values[f.name] = _decode_nested(record, tensors, f.name)
        elif f.name in tensors:
            values[f.name] = tensors[f.name]
        else:
            values[f.name] = record
    return Survey(**values)


Codec = tuple[Callable[[Any], tuple[Tensors, Meta]], Callable[[Tensors, Meta], Any]]


def _generic(cls: type) -> Codec:
    return encode, lambda tensors, meta: decode(cls, tensors, meta)


#: kind (the class name, stored in the file) -> (class, encode, decode)
CODECS: dict[str, tuple[type, Callable[[Any], tuple[Tensors, Meta]], Callable[[Tensors, Meta], Any]]] = {
    "Trajectory": (Trajectory, encode, _decode_trajectory),
    "Basins": (Basins, _encode_basins, _decode_basins),
    "FixedPointBranches": (FixedPointBranches, _encode_branches, _decode_branches),
    "Sweep": (Sweep, _encode_sweep, _generic(Sweep)[1]),
    "Survey": (Survey, _encode_survey, _decode_survey),
    "GradientPropagation": (GradientPropagation, encode, _decode_gradients),
    **{cls.__name__: (cls, *_generic(cls)) for cls in (FixedPoints, LimitCycle, LyapunovSpectrum,
                                                       DiscretizationError, ConnectivitySpectrum, JacobianSpectra)},
}


def save_result(result: Any, path: str) -> None:
    """Write a result with its kind's codec (``result.save(path)`` lands here).

    Arguments:
        result: any result ctrnn returns (:class:`~ctrnn.Trajectory`, :class:`~ctrnn.FixedPoints`, ...).
        path: the ``.safetensors`` file to write.

    Returns:
        nothing; :func:`ctrnn.load` reads the result back.
    """
    kind = type(result).__name__
    cls, enc, _ = CODECS[kind]
    tensors, meta = enc(result)
    write_file(path, tensors, kind, meta)


def decode_result(kind: str, tensors: Tensors, meta: Meta) -> Any:
    """The result of ``kind`` from a file's tensors and metadata.

    Raises:
        ValueError: an unknown kind.
    """
    if kind not in CODECS:
        raise ValueError(f"unknown result kind {kind!r}")
    return CODECS[kind][2](tensors, meta)
