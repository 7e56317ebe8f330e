"""Setting up a run from its config: the model on its device and dtype, random initial states from a seed,
inputs, and each model's standard discrete update.

The command line and the simulations gallery build what their configs describe here, so that both do it
the same way. A config is the mapping :func:`ctrnn.config.resolve` returns, with ``seed``, ``device``,
``dtype`` and a ``model`` section (``kind`` and the model's parameters, see ``ctrnn models``).
Randomness comes only from explicit seeds: no global RNG state is touched.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ._errors import ConfigError
from ._validation import check_positive_int, check_seed
from ._validation import check_size  # public here: the CLI checks a run's sizes before making its folder
from ._validation import default_dtype  # public here: the gallery runs each experiment in its --dtype
from .analysis import gradient_propagation, state_parts
from .discretize import DiscreteMap, map_time_step
from .inputs import Constant, Input, pulse, step
from .io import load, model_record, read_header
from .systems import System, build_system, model_parameters
from .tasks import TASKS

__all__ = ["DTYPES", "INPUT_KINDS", "NATURAL_SCHEMES", "build_input", "build_model", "build_model_and_states",
           "build_task", "check_gradient_targets", "check_input_kind", "check_size", "constant_input", "default_dtype",
           "file_sha256", "gradient_results", "model_config", "model_file_section", "model_input_parameter",
           "natural_scheme", "place", "random_states", "resolve_torch", "task_config", "task_parameters", "time_grid"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: the kinds of input an ``input`` section describes (see :func:`build_input`)
INPUT_KINDS = ("none", "constant", "step", "pulse")
#: the standard discrete update of each built-in model: Euler with ``dt = tau`` is exactly ``torch.nn.RNN``,
#: ``GRUCell`` and ``LSTMCell`` for the rate network, the GRU and the LSTM; state-space models use ZOH
NATURAL_SCHEMES = {"rate": "euler", "beer": "euler", "gru": "euler", "lstm": "euler", "linear": "zoh", "s4d": "zoh",
                   "lru": "zoh", "selective": "zoh"}


def resolve_torch(device: str, dtype: str) -> tuple[torch.device, torch.dtype]:
    """The torch device and dtype a config names.

    Arguments:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ...
        dtype: ``"float32"`` or ``"float64"``.

    Returns:
        ``(torch.device, torch.dtype)``.

    Raises:
        ValueError: an unknown dtype or device, or CUDA asked for where it is not available (the message
            names the fix).
    """
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device} asked for, but CUDA is not available on this machine; use --device cpu")
    return dev, DTYPES[dtype]


def place(obj: torch.nn.Module, device: torch.device | str, dtype: torch.dtype) -> torch.nn.Module:
    """Move a model or map to ``device`` and ``dtype``; a complex model keeps its complex dtype.

    Arguments:
        obj: a :class:`~ctrnn.System` or :class:`~ctrnn.DiscreteMap` (any ``nn.Module``).
        device, dtype: where to put it, and its real dtype.

    Returns:
        ``obj``, moved in place (as ``nn.Module.to`` does).
    """
    tensors = [*obj.parameters(), *obj.buffers()]
    return obj.to(device=device) if any(t.is_complex() for t in tensors) else obj.to(device=device, dtype=dtype)


def random_states(obj: System | DiscreteMap, seed: int, batch: int, scale: float, device: torch.device | str,
                  dtype: torch.dtype) -> torch.Tensor:
    """Random initial states ``N(0, scale^2)`` from ``seed`` (an own ``torch.Generator``, not the global RNG).

    Arguments:
        obj: the model or map (its ``state_dim``, and its dtype when it has tensors).
        seed: the generator's seed; the draw is in float64, so it is the same for every dtype.
        batch: number of states.
        scale: their standard deviation.
        device, dtype: where to put them; ``dtype`` is used only for a model without tensors.

    Returns:
        ``(batch, n)`` states.

    Raises:
        TypeError, ValueError: a batch that is not an int >= 1 or is above the size limit; a seed outside torch's
            range.
    """
    batch = check_positive_int(batch, "batch")
    check_size(batch * obj.state_dim, f"the initial states (batch = {batch} x n = {obj.state_dim})", "lower the batch")
    gen = torch.Generator().manual_seed(check_seed(seed))
    x0 = scale * torch.randn(batch, obj.state_dim, generator=gen, dtype=torch.float64)
    return x0.to(device=device, dtype=obj.dtype or dtype)


def time_grid(t_end: float, spacing: float, per_point: int = 1, *, what: str = "the time grid",
              fix: str = "use a larger spacing or a shorter span") -> torch.Tensor:
    """``round(t_end / spacing) + 1`` (at least 2) evenly spaced times from 0 to ``t_end``, float64, after checking
    that they and the ``per_point`` values kept at each (batch x n for a trajectory) fit the size limit.

    Arguments:
        t_end: the end (> 0). spacing: about the step between times (> 0).
        per_point: values stored per time point. what, fix: for the message, naming the config keys.

    Returns:
        ``(T,)`` times.

    Raises:
        ValueError: ``T * per_point`` is above the size limit (:class:`~ctrnn.size_limit`), or not finite.
    """
    ratio = t_end / spacing
    check_size((ratio + 1) * per_point, what, fix)
    steps = max(1, round(ratio))
    return torch.linspace(0.0, t_end, steps + 1, dtype=torch.float64)


def natural_scheme(kind: str) -> str:
    """A built-in model's standard discrete update (see :data:`NATURAL_SCHEMES`).

    Raises:
        ValueError: a model without one (the message lists those that have one).
    """
    if kind not in NATURAL_SCHEMES:
        raise ValueError(f"model {kind!r} has no standard discrete update; choose a scheme, or one of the models: "
                         f"{', '.join(NATURAL_SCHEMES)}")
    return NATURAL_SCHEMES[kind]


#: the keys of a ``model`` section that records a model file (see :func:`model_file_section`)
MODEL_FILE_KEYS = ("file", "sha256", "saved", "class", "config")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_file_section(path: str | Path) -> dict[str, Any]:
    """The ``model`` section that records a saved model or map: its absolute path, the SHA-256 of its bytes, what
    it holds (``saved``: ``"model"`` or ``"map"``) and the model's class and ``config()`` as the file stores them.
    A config with this section rebuilds the run from that file (:func:`build_model_and_states` checks the hash),
    never from a model's defaults.

    Raises:
        FileNotFoundError: no such file; ValueError: not a ctrnn model or map file, or one whose header or model
            record is malformed (its tensors are checked when the model is loaded).
    """
    header = read_header(path)  # the header only: the tensors are read, and checked, when the model is built
    kind, meta = header.kind, header.meta
    if kind not in ("model", "map"):
        what = meta.get("class") if isinstance(meta.get("class"), str) else kind.replace("_", " ")
        raise ValueError(f"{path} holds a {what} result, not a model or a map; give a model.safetensors or "
                         "map.safetensors")
    if kind == "map" and meta.get("class") == "LinearMap":  # a linear map holds matrices, no model
        cls_name, config = "", {}
    else:  # a map stores the model it discretizes
        cls, config = model_record(meta.get("system") if kind == "map" else meta, path,
                                   "system." if kind == "map" else "")
        cls_name = cls.__name__
    section = {"file": str(Path(path).resolve()), "sha256": file_sha256(path), "saved": kind,
               "class": cls_name, "config": config}
    return section


def model_config(section: Mapping[str, Any]) -> dict[str, Any]:
    """A config's ``model`` section with every parameter of its model filled in with its default, so that the
    resolved config alone reproduces a run; a section that records a model file (``file``, see
    :func:`model_file_section`) is kept as it is.

    Arguments:
        section: ``{"kind": name, **some parameters}``, or ``{"file": path, "sha256": ..., ...}``.

    Returns:
        ``{"kind": name, **all parameters}``, or the file's section.

    Raises:
        ValueError: an unknown model name; ConfigError: a file's section with other keys (a ``kind`` too).
    """
    if "file" in section:
        extra = sorted(set(section) - set(MODEL_FILE_KEYS))
        if extra:
            raise ConfigError(f"model.file is set, so the model comes from that file: remove model.{extra[0]} "
                              f"(a model section with a file takes only {', '.join(MODEL_FILE_KEYS)})")
        return dict(section)
    kind = section["kind"]
    return {"kind": kind, **model_parameters(kind), **section}


#: the names the built-in models give their number of inputs
_INPUT_PARAMETERS = ("n_inputs", "m", "d")


def model_input_parameter(kind: str) -> str | None:
    """The parameter of the named model that sets its number of inputs (``n_inputs``, ``m`` or ``d``), or ``None``
    for a model without inputs (Lorenz, ...). ``ctrnn train`` sets it from the task when the config does not.

    Raises:
        ValueError: an unknown model name.
    """
    params = model_parameters(kind)
    return next((name for name in _INPUT_PARAMETERS if name in params), None)


def task_parameters(name: str) -> dict[str, Any]:
    """The constructor parameters of the named task with their defaults (``ctrnn tasks`` lists them).

    Raises:
        ValueError: an unknown task name (the message lists the tasks).
    """
    sig = inspect.signature(TASKS[name])
    # tuples as lists: what a TOML file gives back, so that a config read from one compares equal
    return {k: list(p.default) if isinstance(p.default, tuple) else p.default for k, p in sig.parameters.items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.default is not p.empty}


def task_config(section: Mapping[str, Any]) -> dict[str, Any]:
    """A config's ``task`` section with every parameter of its task filled in with its default.

    Arguments:
        section: ``{"name": task name, **some parameters}``.

    Returns:
        ``{"name": name, **all parameters}``.

    Raises:
        ValueError: an unknown task name (the tasks listed); ConfigError: a parameter the task does not take (its
            parameters listed).
    """
    name = section["name"]
    params = task_parameters(name)
    unknown = sorted(set(section) - set(params) - {"name"})
    if unknown:
        raise ConfigError(f"unknown config key 'task.{unknown[0]}': task {name!r} takes "
                          f"{', '.join(params) or 'no parameters'}")
    return {"name": name, **params, **section}


def build_task(cfg: Mapping[str, Any]) -> Any:
    """The config's task (its ``task`` section, see :func:`task_config`).

    Raises:
        ValueError: an unknown task or a parameter out of range, named ``task.NAME`` as the config spells it.
    """
    section = task_config(cfg["task"])
    params = {k: v for k, v in section.items() if k != "name" and v is not None}
    try:
        return TASKS[section["name"]](**params)
    except (TypeError, ValueError) as exc:  # the task's own check of a parameter, which here comes from the config
        raise ConfigError(f"task {section['name']!r}: {str(exc).splitlines()[0]}") from None


def build_model(cfg: Mapping[str, Any]) -> System:
    """The config's model, from its ``seed``, on its ``device`` and ``dtype``.

    Raises:
        ValueError: an unknown model, device or dtype; ConfigError: an unknown model parameter, or one of the
            wrong type or out of range (the message names its key ``model.NAME``).
    """
    dev, dt = resolve_torch(cfg["device"], cfg["dtype"])
    kind = cfg["model"]["kind"]
    params = {k: v for k, v in cfg["model"].items() if k != "kind"}
    try:
        model = build_system(kind, params, seed=cfg["seed"])
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # the model's own check of a parameter: here it comes from the config
        name = str(exc).split(" ", 1)[0]  # the models' messages start with the argument's name
        if name in params:
            raise ConfigError(f"config key 'model.{name}' (model {kind!r}): {exc}") from exc
        if isinstance(exc, TypeError):
            raise ConfigError(f"model {kind!r}: {exc}") from exc
        raise
    return place(model, dev, dt)


def build_model_and_states(cfg: Mapping[str, Any], batch: int, scale: float, *,
                           model_file: str | Path | None = None) -> tuple[System | DiscreteMap, torch.Tensor]:
    """The model the config describes (or the one saved in ``model_file``), and random initial states.

    Arguments:
        cfg: a resolved config (``seed``, ``device``, ``dtype``, ``model``).
        batch: number of initial states, drawn from ``cfg["seed"]`` (see :func:`random_states`).
        scale: their standard deviation.
        model_file: a model or map saved with ``.save``, in place of the config's ``model`` section.

    Returns:
        ``(model or map, x0)`` with ``x0`` of shape ``(batch, n)``.

    A ``model`` section that records a file (``model.file``, as the CLI writes for ``--model-file``) loads that
    file, after checking that its SHA-256 is still ``model.sha256``.

    Raises:
        ValueError: an unknown model, device or dtype, or a file that holds no model or map;
        FileNotFoundError: ``model_file`` does not exist; ConfigError: the recorded file has changed.
    """
    if model_file is None and "file" in cfg["model"]:
        model_file = cfg["model"]["file"]
        expected = cfg["model"].get("sha256")
        if expected and file_sha256(model_file) != expected:
            raise ConfigError(f"{model_file} has changed since this config recorded it (its sha256 differs); "
                              f"to analyse it as it is now, pass --model-file {model_file} instead of the config")
    if model_file is None:
        obj = build_model(cfg)
    else:
        obj = load(model_file)
        if not isinstance(obj, (System, DiscreteMap)):
            raise ValueError(f"{model_file} holds a {type(obj).__name__}, not a model or a map")
    dev, dt = resolve_torch(cfg["device"], cfg["dtype"])
    obj = place(obj, dev, dt)
    return obj, random_states(obj, cfg["seed"], batch, scale, dev, dt)


def constant_input(values: Sequence[float], model: System | DiscreteMap | None = None) -> torch.Tensor | None:
    """A config's constant input ``[u0, u1, ...]`` as an ``(m,)`` float64 tensor; ``None`` (zero input) when empty.

    Raises:
        ValueError: ``model`` given, and it does not take ``len(values)`` inputs.
    """
    if values and model is not None and len(values) != model.input_dim:
        raise ValueError(f"a constant input of {len(values)} value(s) for a model with {model.input_dim} input(s); "
                         f"give {model.input_dim} value(s), or none for zero input")
    return torch.tensor(values, dtype=torch.float64) if values else None


def check_input_kind(kind: str) -> None:
    """Raises ConfigError for an ``input.kind`` not in :data:`INPUT_KINDS`."""
    if kind not in INPUT_KINDS:
        raise ConfigError(f"unknown input kind {kind!r}; choose one of: {', '.join(INPUT_KINDS)}")


def build_input(spec: Mapping[str, Any], system: System, t_end: float) -> Input | None:
    """The input an ``input`` section describes, the same on every input channel.

    Arguments:
        spec: ``kind`` (one of :data:`INPUT_KINDS`), ``amplitude``, and ``start`` / ``stop`` (times) for a step
            (on from ``start``) or a pulse (on from ``start`` to ``stop``).
        system: the model it drives.
        t_end: the end of the time span.

    Returns:
        An input object of :mod:`ctrnn.inputs`, or ``None`` for ``kind = "none"``.

    Raises:
        ConfigError: an unknown kind; ValueError: an input for a model without inputs.
    """
    check_input_kind(spec["kind"])
    if spec["kind"] == "none":
        return None
    if system.input_dim == 0:
        raise ValueError(f"input.kind = {spec['kind']!r} but the model has no inputs "
                         "(for a rate model set model.n_inputs)")
    amplitude = [float(spec["amplitude"])] * system.input_dim
    if spec["kind"] == "constant":
        return Constant(amplitude)
    if spec["kind"] == "step":
        return step(spec["start"], amplitude, t_span=(0.0, t_end))
    return pulse(spec["start"], spec["stop"], amplitude, t_span=(0.0, t_end))


def check_gradient_targets(targets: Mapping[str, tuple[System | DiscreteMap, torch.Tensor]], horizon: float,
                           dt: float, part: str = "all") -> None:
    """Check what :func:`gradient_results` would run, before it runs: the ``part`` and the sizes.

    Arguments:
        targets, horizon, dt, part: as for :func:`gradient_results`.

    Raises:
        ConfigError: a ``part`` that none of the models has (the message lists the valid ones).
        ValueError: the states kept over the horizon (its steps x batch x n) are above the size limit.
    """
    valid = dict.fromkeys(["all", *(name for obj, _ in targets.values() for name in state_parts(obj))])
    if part not in valid:
        which = "any model here" if len(targets) > 1 else "this model"
        raise ConfigError(f"gradients.part = {part!r} is not a part of the state of {which}; "
                          f"choose one of: {', '.join(valid)}")
    for name, (obj, x0) in targets.items():
        check_size(_gradient_steps(obj, horizon, dt) * x0.numel(), f"{name}'s states over the horizon "
                   "(gradients.horizon / its step x batch x n)", "lower gradients.horizon or the batch")


def _gradient_steps(obj: System | DiscreteMap, horizon: float, dt: float) -> float:
    """The steps of a gradient propagation over ``horizon`` time units: a map's own, a flow's of ``dt``."""
    return horizon / (map_time_step(obj) or 1.0) if isinstance(obj, DiscreteMap) else horizon / dt


def gradient_results(targets: Mapping[str, tuple[System | DiscreteMap, torch.Tensor]], horizon: float,
                     t_transient: float, dt: float, part: str = "all",
                     progress: bool = False) -> dict[str, Any]:
    """:func:`~ctrnn.gradient_propagation` of several models or maps at zero input, times in time units.

    Arguments:
        targets: ``name: (model or map, x0)`` with ``x0`` of shape ``(batch, n)``.
        horizon: the largest lag, in time units (a map counts iterations of its ``dt``).
        t_transient: time run before measuring, in time units.
        dt: the step a flow is advanced with (a map takes its own step).
        part: the part of the state to follow (``"all"``, or a name from ``state_parts``); a model without it
            is followed through its whole state (at least one model must have it). With ``"all"`` an LSTM is also
            followed through its cell path.
        progress: show progress bars.

    Returns:
        ``label: GradientPropagation``; the label is the name, or ``"name (part)"``.

    Raises:
        ConfigError, ValueError: a ``part`` that no model has, or sizes above the limit (see
            :func:`check_gradient_targets`).
    """
    check_gradient_targets(targets, horizon, dt, part)
    results = {}
    for name, (obj, x0) in targets.items():
        per_step = (map_time_step(obj) or 1.0) if isinstance(obj, DiscreteMap) else 1.0
        u = torch.zeros(obj.input_dim, dtype=torch.float64) if obj.input_dim else None  # held zero: autonomous
        named = state_parts(obj)
        chosen = part if part in named else "all"
        parts = [chosen] + (["c"] if chosen == "all" and "c" in named else [])
        step_size = {} if isinstance(obj, DiscreteMap) else {"dt": dt}  # a map steps once per iteration
        for p in parts:
            label = name if p == "all" else f"{name} ({'cell path c' if p == 'c' and chosen == 'all' else p})"
            results[label] = gradient_propagation(obj, x0, horizon=horizon / per_step,
                                                  t_transient=t_transient / per_step, part=p, inputs=u,
                                                  progress=progress, **step_size)
    return results
