"""Models and maps to and from files: a model is its class, ``config()`` and state dict; a map is its matrices
(linear maps) or its model plus scheme and step.

Loading checks a file against what it claims before building anything: the tensors' names, shapes and dtypes
(from the header, their data unread) against those the config implies (:meth:`~ctrnn.System.tensor_shapes`, or,
for a model class of the user's own that does not say, a build on torch's ``meta`` device, which allocates no
data), and their number against :data:`MAX_MODEL_ELEMENTS`; after loading, the values get the constructor's own checks
(:meth:`~ctrnn.System.check_parameters`), since a file's tensors never pass through the constructor.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import torch

from .._simulate import describe_system
from .._validation import check_finite
from ..discretize import DiscreteMap, LinearMap, SelectiveMap, SystemMap, discretize
from ..discretize._discretize import _step_sizes  # discretize's own check of a step: finite and > 0
from ..systems import System
from .._format import Header, TensorInfo, read_tensors, short, write_file

#: the most tensor elements a model or map file may hold: 2**28, 2 GiB of float64 (a dense rate network of
#: n = 16384). Larger files are refused before anything is read or built; ``ctrnn.load(path, max_elements=...)``
#: loads a larger one you trust.
MAX_MODEL_ELEMENTS = 2**28
#: the dtypes a model's tensors may have (complex ones are stored as pairs of F32 / F64)
_MODEL_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128)
#: the tensors of a saved LinearMap (see :func:`save_map`)
_LINEAR_MAP_TENSORS = ("Abar", "Bbar", "C", "D", "dt", "scipy_Ad", "scipy_Bd", "scipy_Cd", "scipy_Dd")


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


def loadable_models() -> dict[str, type[System]]:
    """The model classes a file may name: every :class:`~ctrnn.System` subclass defined so far with its own
    ``config()``, private bases (``_Gated``) left out."""
    return {name: cls for name, cls in System.model_classes.items()
            if not name.startswith("_") and cls.config is not System.config}


def model_record(meta: Any, path: Any, field: str = "") -> tuple[type[System], dict[str, Any]]:
    """The model class and config a model file's metadata names, checked, without building the model.

    Arguments:
        meta: the record: a model file's metadata, or a map file's ``system`` entry.
        path: the file, named in messages.
        field: where the record sits in the metadata (``"system."`` for a map's model), named in messages.

    Returns:
        ``(model class, config)``.

    Raises:
        ValueError: the record is not a JSON object, its class is not a string or not a loadable model class, or
            its config is not a JSON object.
    """
    where = f"cannot load {path}: its {field}"
    if not isinstance(meta, dict):
        raise ValueError(f"{where.removesuffix('.')}{' ' if field else ''}metadata must be a JSON object, got "
                         f"{type(meta).__name__}")
    name = meta.get("class")
    if not isinstance(name, str):
        raise ValueError(f"{where}class must be a model class name (a string), got {type(name).__name__}")
    classes = loadable_models()
    if name not in classes:
        raise ValueError(f"cannot load {path}: unknown model class {short(name)}; choose one of: "
                         f"{', '.join(sorted(classes))} (a model class of your own loads once it is defined)")
    config = meta.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{where}config must be a JSON object of {name}'s settings, got {type(config).__name__}")
    return classes[name], config


def load_model(header: Header, path: Any, *, max_elements: int = MAX_MODEL_ELEMENTS) -> System:
    """The model a checked header describes (``path`` names the file in messages), in the dtypes it was saved in.

    Raises:
        ValueError: see :func:`ctrnn.load`.
    """
    cls, config = model_record(header.meta, path)
    _check_size(header.tensors, path, max_elements)
    return _build_model(cls, config, header, path, "", max_elements)


def load_map(header: Header, path: Any, *, max_elements: int = MAX_MODEL_ELEMENTS) -> DiscreteMap:
    """The map a checked header describes: a linear map's matrices, or a model and the scheme and step that
    :func:`~ctrnn.discretize` makes its map with (which checks them as it checks a caller's).

    Raises:
        ValueError: see :func:`ctrnn.load`.
    """
    meta = header.meta
    classes = ("LinearMap", "SelectiveMap", "SystemMap")
    if meta.get("class") not in classes:
        raise ValueError(f"cannot load {path}: unknown map class {short(meta.get('class'))}; choose one of: "
                         f"{', '.join(classes)}")
    _check_size(header.tensors, path, max_elements)
    if meta["class"] == "LinearMap":
        return _load_linear_map(meta, header, path)
    cls, config = model_record(meta.get("system"), path, "system.")
    model = _build_model(cls, config, header, path, "system.", max_elements)
    try:
        dmap = discretize(model, meta.get("dt"), scheme=meta.get("scheme"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot load {path}: {one_line(exc)}") from None
    if type(dmap).__name__ != meta["class"]:
        raise ValueError(f"cannot load {path}: it says {meta['class']}, but its model and scheme make a "
                         f"{type(dmap).__name__}: the file is damaged")
    return dmap


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (torch's state-dict errors put what is wrong on later lines)."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def _check_size(infos: dict[str, TensorInfo], path: Any, max_elements: int) -> None:
    total = sum(info.numel for info in infos.values())
    if total > max_elements:
        default = " (ctrnn.io.MAX_MODEL_ELEMENTS)" if max_elements == MAX_MODEL_ELEMENTS else ""
        raise ValueError(f"cannot load {path}: its tensors hold {total} tensor elements, more than the "
                         f"{max_elements} allowed{default}; if you trust the file, pass a larger "
                         f"max_elements= to ctrnn.load")


def _check_dtypes(infos: dict[str, TensorInfo], path: Any) -> None:
    """Floating tensors (complex included) of one precision, as every constructor makes them."""
    for name, info in infos.items():
        if info.dtype not in _MODEL_DTYPES:
            raise ValueError(f"cannot load {path}: tensor {short(name)} is {info.dtype_name}; a model's tensors are "
                             "floating point (F16, BF16, F32, F64, or complex pairs of F32 / F64)")
    precisions = [info.dtype.to_real() for info in infos.values()]
    common = max(set(precisions), key=precisions.count, default=None)
    for name, precision in zip(infos, precisions):
        if precision != common:
            def named(d: torch.dtype) -> str:
                return str(d).replace("torch.", "")
            raise ValueError(f"cannot load {path}: a model's tensors share one precision, but {short(name)} is "
                             f"{named(precision)} where the others are {named(common)}: the file is damaged")


def _compare(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]], path: Any, what: str) -> None:
    """The file's tensors (``found``) are exactly the ``expected`` ones, shape for shape."""
    for name in expected:
        if name not in found:
            raise ValueError(f"cannot load {path}: it has no tensor {name!r}, which {what} implies")
    for name in found:
        if name not in expected:
            raise ValueError(f"cannot load {path}: unexpected tensor {short(name)}, which {what} does not have")
    for name, shape in expected.items():
        if found[name] != shape:
            raise ValueError(f"cannot load {path}: tensor {name!r} has shape {found[name]}, but {what} implies "
                             f"{shape}")


def _build_model(cls: type[System], config: dict[str, Any], header: Header, path: Any, prefix: str,
                 max_elements: int) -> System:
    """The model of ``cls`` and ``config`` with the header's tensors under ``prefix``: their shapes checked against
    the config before anything is built (:meth:`~ctrnn.System.tensor_shapes`, else :func:`_check_meta_build`), their
    values by the model's own checks after."""
    infos = {name[len(prefix):]: info for name, info in header.tensors.items() if name.startswith(prefix)}
    extra = [name for name in header.tensors if not name.startswith(prefix)]
    if extra:
        raise ValueError(f"cannot load {path}: unexpected tensor {short(extra[0])}, which the file's map does not have")
    what = "its config"
    try:
        expected = cls.tensor_shapes(config)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot load {path}: its config: {_reason(exc)}") from None
    if expected is not None:  # a built-in model: nothing is built until the file matches its config
        _compare({k: v.shape for k, v in infos.items()}, expected, path, what)
    else:
        _check_meta_build(cls, config, infos, path, max_elements)
    _check_dtypes(infos, path)
    try:
        model = cls.from_config(config)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot load {path}: its config: {_reason(exc)}") from None
    # a model class of the user's own says nothing of its shapes: compare the built model's before reading data
    _compare({k: v.shape for k, v in infos.items()}, {k: tuple(v.shape) for k, v in model.state_dict().items()},
             path, f"a {cls.__name__} built from {what}")
    tensors = read_tensors(path, header, [prefix + name for name in infos])
    try:
        # assign: the model takes the file's tensors as they are, so their dtypes (complex ones too) are kept
        model.load_state_dict({name[len(prefix):]: t for name, t in tensors.items()}, assign=True)
    except RuntimeError as exc:
        raise ValueError(f"cannot load {path}: {one_line(exc)}") from None
    try:
        model.check_parameters()
    except ValueError as exc:
        raise ValueError(f"cannot load {path}: {prefix}{one_line(exc)}") from None
    return model


def _check_meta_build(cls: type[System], config: dict[str, Any], infos: dict[str, TensorInfo], path: Any,
                      max_elements: int) -> None:
    """For a class whose :meth:`~ctrnn.System.tensor_shapes` cannot tell (a user's own model): build it from the
    file's config on torch's ``meta`` device, which gives every tensor its shape and no data, and refuse the file
    before the real build if the tensors it names or their shapes differ from that model's, or if that model would
    hold more than ``max_elements`` tensor elements (non-persistent buffers included): a crafted config cannot make
    the real constructor allocate what the file does not hold.

    A constructor that cannot run on ``meta`` (one that reads a tensor's values, ``.item()`` or a check of its
    weights, or draws with a CPU ``torch.Generator``) is then built for real, checked by the header's element count
    alone (:func:`_check_size`, done before): the file's size is capped, what the config asks for is not.

    Raises:
        ValueError: naming the tensor that differs, or the element count above ``max_elements``.
    """
    try:
        with torch.device("meta"):
            probe = cls.from_config(config)
    except Exception:  # noqa: BLE001 - cannot tell on meta: the real build reports the config's own errors
        return
    if not isinstance(probe, torch.nn.Module):
        return
    built = f"a {cls.__name__} built from its config"
    _compare({k: v.shape for k, v in infos.items()}, {k: tuple(v.shape) for k, v in probe.state_dict().items()},
             path, built)
    held = sum(t.numel() for t in itertools.chain(probe.parameters(), probe.buffers()))
    if held > max_elements:
        raise ValueError(f"cannot load {path}: {built} would hold {held} tensor elements, more than the "
                         f"{max_elements} allowed; if you trust the file, pass a larger max_elements= to ctrnn.load")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing the key {short(exc.args[0]) if exc.args else ''}"
    return one_line(exc)


def _load_linear_map(meta: dict[str, Any], header: Header, path: Any) -> LinearMap:
    """A LinearMap's matrices, their shapes checked against each other and their values finite with ``dt > 0``."""
    if not isinstance(meta.get("diagonal"), bool):
        raise ValueError(f"cannot load {path}: its diagonal must be true or false, got {short(meta.get('diagonal'))}")
    if not isinstance(meta.get("scheme"), str):
        raise ValueError(f"cannot load {path}: its scheme must be a scheme name, got {short(meta.get('scheme'))}")
    infos = header.tensors
    shapes = {k: v.shape for k, v in infos.items()}
    for name in ("Bbar", "dt", "C"):
        if name not in shapes:
            raise ValueError(f"cannot load {path}: it has no tensor {name!r}, which a LinearMap file holds")
    steps = shapes["dt"]  # () for one step, (T,) for one per step
    if len(steps) > 1 or len(shapes["Bbar"]) != len(steps) + 2 or len(shapes["C"]) < 2:
        raise ValueError(f"cannot load {path}: its dt {steps}, Bbar {shapes['Bbar']} and C {shapes['C']} do not "
                         "describe a linear map")
    n, m = shapes["Bbar"][-2:]
    p = shapes["C"][-2]
    per_step = [(p, n), (*steps, p, n)]
    expected = {"Abar": (*steps, n) if meta["diagonal"] else (*steps, n, n), "Bbar": (*steps, n, m), "dt": steps,
                "scipy_Bd": (*steps, n, m)}
    expected["scipy_Ad"] = expected["Abar"]
    # C and D, and scipy's, are per step only where the scheme makes them so (gbt's Cd, foh's Dd)
    for name, options in (("C", per_step), ("scipy_Cd", per_step), ("D", [(p, m), (*steps, p, m)]),
                          ("scipy_Dd", [(p, m), (*steps, p, m)])):
        expected[name] = shapes[name] if shapes.get(name) in options else options[0]
    _compare(shapes, expected, path, f"its Bbar {shapes['Bbar']} and C {shapes['C']}")
    _check_dtypes(infos, path)
    t = read_tensors(path, header)
    try:
        for name in _LINEAR_MAP_TENSORS:
            check_finite(t[name], name)
        dt = _step_sizes(t["dt"], per_step_ok=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot load {path}: {one_line(exc)}") from None
    scipy = tuple(t[f"scipy_{k}"] for k in ("Ad", "Bd", "Cd", "Dd"))
    return LinearMap(t["Abar"], t["Bbar"], t["C"], t["D"], dt=dt.to(t["dt"].dtype), scheme=meta["scheme"],
                     diagonal=meta["diagonal"], scipy_matrices=scipy)
