"""Results to and from files: one generic codec for result dataclasses (tensor fields become tensors, the rest
JSON metadata), with the few results that hold other results or mappings of tensors spelled out.

The layout of each kind is the one earlier versions wrote, so their files still load.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any

import torch

from .._simulate import SolverStats, Trajectory
from .._results import Result
from ..analysis import (Basins, ConnectivitySpectrum, DiscretizationError, FixedPointBranches, FixedPoints,
                        GradientPropagation, JacobianSpectra, LimitCycle, LyapunovSpectrum, SlowModes, Survey,
                        SurveySettings, Sweep, UnstableManifolds)
from ..mechanisms import TaskFixedPoints, TopologyComparison
from .._format import short, write_file

Tensors = dict[str, torch.Tensor]
Meta = dict[str, Any]


def _record(meta: Meta, key: str) -> Meta:
    """``meta[key]``, which must be a JSON object (a nested record: solver stats, settings, a result)."""
    value = meta[key]
    if not isinstance(value, dict):
        raise ValueError(f"field {key} must be a JSON object, got {type(value).__name__}")
    return value


def _items(meta: Meta, key: str) -> list[Any]:
    """``meta[key]``, which must be a JSON list."""
    value = meta[key]
    if not isinstance(value, list):
        raise ValueError(f"field {key} must be a JSON list, got {type(value).__name__}")
    return value


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
    return Trajectory(t=tensors["t"], x=tensors["x"], u=tensors.get("u"), stats=SolverStats(**_record(meta, "stats")),
                      method=meta["method"], rtol=meta["rtol"], atol=meta["atol"], step_size=meta["step_size"],
                      metadata=meta["metadata"])


def _encode_basins(b: Basins) -> tuple[Tensors, Meta]:
    tensors, meta = encode(b, skip=("attractors",))
    tensors |= {f"attractor.{i}": v for i, v in enumerate(b.attractors.values())}
    meta["attractors"] = list(b.attractors)
    return tensors, meta


def _decode_basins(tensors: Tensors, meta: Meta) -> Basins:
    tensors = dict(tensors)
    attractors = {name: tensors.pop(f"attractor.{i}") for i, name in enumerate(_items(meta, "attractors"))}
    metadata = dict(_record(meta, "metadata"))
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
    for s, m in enumerate(_items(meta, "results")):
        mine = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"{s}.")}
        results.append(decode(FixedPoints, mine, _record({f"results[{s}]": m}, f"results[{s}]")))
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
    if record["kind"] not in CODECS:
        raise ValueError(f"field {prefix}.kind: unknown result kind {short(record['kind'])}")
    return CODECS[record["kind"]][2](mine, _record(record, "meta"))


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
            settings = dict(_record(meta, "settings"))
            settings["discretization_steps"] = tuple(_items(settings, "discretization_steps"))
            values[f.name] = SurveySettings(**settings)
        elif f.name == "attractors":
            values[f.name] = {name: tensors[f"attractors.{i}"] for i, name in enumerate(_items(meta, "attractors"))}
        elif f.name == "cycles":
            values[f.name] = [_decode_nested(_record({f"cycles[{i}]": r}, f"cycles[{i}]"), tensors, f"cycles.{i}")
                              for i, r in enumerate(_items(meta, "cycles"))]
        elif isinstance(record, dict) and set(record) == {"kind", "meta"}:
            values[f.name] = _decode_nested(record, tensors, f.name)
        elif f.name in tensors:
            values[f.name] = tensors[f.name]
        else:
            values[f.name] = record
    return Survey(**values)


#: the fields of a TaskFixedPoints that are lists, one item per condition (or per cycle)
_PER_CONDITION = ("fixed_points", "readouts", "slow_readouts", "manifolds", "slow", "cycles")


def _encode_task_fixed_points(found: TaskFixedPoints) -> tuple[Tensors, Meta]:
    tensors, meta = encode(found, skip=_PER_CONDITION)
    for name in _PER_CONDITION:
        meta[name] = []
        for i, item in enumerate(getattr(found, name)):
            if isinstance(item, torch.Tensor):
                tensors[f"{name}.{i}"] = item
                meta[name].append("tensor")
            else:
                t, record = _encode_nested(item, f"{name}.{i}")
                tensors |= t
                meta[name].append(record)
    return tensors, meta


def _decode_task_fixed_points(tensors: Tensors, meta: Meta) -> TaskFixedPoints:
    values: dict[str, Any] = {}
    for name in _PER_CONDITION:
        values[name] = [tensors[f"{name}.{i}"] if record == "tensor" else
                        _decode_nested(_record({f"{name}[{i}]": record}, f"{name}[{i}]"), tensors, f"{name}.{i}")
                        for i, record in enumerate(_items(meta, name))]
    plain = {k: v for k, v in tensors.items() if "." not in k}
    return decode(TaskFixedPoints, plain, {**{k: v for k, v in meta.items() if k not in _PER_CONDITION}, **values})


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
    "TaskFixedPoints": (TaskFixedPoints, _encode_task_fixed_points, _decode_task_fixed_points),
    **{cls.__name__: (cls, *_generic(cls)) for cls in (FixedPoints, LimitCycle, LyapunovSpectrum,
                                                       DiscretizationError, ConnectivitySpectrum, JacobianSpectra,
                                                       UnstableManifolds, SlowModes, TopologyComparison)},
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
    """The result of ``kind`` from a file's tensors and metadata, every field checked against its declared type.

    Raises:
        ValueError: an unknown kind, or metadata or tensors that do not make a result of this kind (a field
            missing, of the wrong type or an unknown one); the message names the field.
    """
    if kind not in CODECS:
        raise ValueError(f"unknown kind {short(kind)}; choose one of: model, map, {', '.join(sorted(CODECS))}")
    if not isinstance(meta, dict):
        raise ValueError(f"a {kind} file's metadata must be a JSON object, got {type(meta).__name__}")
    try:
        result = CODECS[kind][2](tensors, meta)
    except KeyError as exc:  # a field (or tensor) the codec reads is not there
        missing = short(exc.args[0]) if exc.args else "a field"
        raise ValueError(f"a malformed {kind} file: {missing} is missing") from None
    except (TypeError, ValueError, IndexError, AttributeError) as exc:  # a dataclass refusing a missing or extra field
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"a malformed {kind} file: {text[:200]}") from None
    problem = field_problem(result)
    if problem:
        raise ValueError(f"a malformed {kind} file: {problem}")
    return result


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def field_problem(obj: Any, prefix: str = "") -> str | None:
    """The first field of a result dataclass (or of one nested in it) whose value is not of its declared type, in
    words; ``None`` when every one is. JSON numbers count as floats, never booleans as numbers."""
    for f in dataclasses.fields(obj):
        value, tp = getattr(obj, f.name), _hints(type(obj))[f.name]
        if not _is_a(value, tp):
            return f"field {prefix}{f.name} must be {_type_name(tp)}, got {type(value).__name__}"
        for i, item in _nested(value):
            problem = field_problem(item, f"{prefix}{f.name}{i}.")
            if problem:
                return problem
    return None


def _nested(value: Any) -> list[tuple[str, Any]]:
    """The dataclasses inside a field's value, with where they sit (``""``, ``"[0]"``, ``"[0][1]"``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [("", value)]
    if isinstance(value, list):
        return [(f"[{i}]{where}", item) for i, entry in enumerate(value) for where, item in _nested(entry)]
    return []


def _is_a(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    if tp is None or tp is type(None):
        return value is None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_is_a(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_is_a(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_is_a(k, args[0]) and _is_a(v, args[1]) for k, v in value.items())
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_is_a(v, args[0]) for v in value)
        return len(value) == len(args) and all(_is_a(v, a) for v, a in zip(value, args))
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or tp)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("torch.", "").replace("NoneType", "None")
