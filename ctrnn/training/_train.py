"""``ctrnn.train``: fit a network and its readout to a task, by backpropagation through time.

Two paths, one argument (``through``): the discrete map (``discretize(model, task.dt, scheme)``, plain BPTT through
the rollout: the fast default) or ``simulate`` (any torchdiffeq method; the adjoint optional). Every step draws a
fresh batch of trials from the run's own generator, so a run is a function of its seed; checkpoints hold the model,
the optimizer, the schedule and the generator, so a resumed run ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .._errors import DivergenceError
from .._identity import content_digest
from .._progress import ProgressBar
from .._registry import Registry
from .._results import Result, plot_result
from .._simulate import METHODS, simulate
from .._validation import check_nonnegative, check_positive, check_positive_int, check_seed
from ..analysis import gradient_propagation
from ..discretize import DiscreteMap, discretize
from ..systems import System
from ..tasks import TaskBatch, check_task
from ._checkpoint import read_checkpoint, write_checkpoint
from ._losses import LOSSES
from ._models import TaskMap, TaskModel, readout_features

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: optimizers by name; each takes ``(parameters, lr, weight_decay)``
OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optimizer")
OPTIMIZERS.register("adam", lambda params, lr, wd: torch.optim.Adam(params, lr=lr, weight_decay=wd))
OPTIMIZERS.register("adamw", lambda params, lr, wd: torch.optim.AdamW(params, lr=lr, weight_decay=wd))
OPTIMIZERS.register("sgd", lambda params, lr, wd: torch.optim.SGD(params, lr=lr, weight_decay=wd))
OPTIMIZERS.register("rmsprop", lambda params, lr, wd: torch.optim.RMSprop(params, lr=lr, weight_decay=wd))
#: learning-rate schedules by name (``None``: constant)
SCHEDULES = ("cosine", "exponential")
#: the paths a network is trained through
THROUGH = ("map", "simulate")
#: a run's own streams of random numbers, offset from its seed so that they never coincide with each other
_STREAMS = {"training": 0, "validation": 0x9E3779B97F4A7C15, "tracking": 0x6A09E667F3BCC909,
            "examples": 0xBB67AE8584CAA73B, "analysis": 0x3C6EF372FE94F82B}


def trial_generator(seed: int, stream: str, offset: int = 0) -> torch.Generator:
    """The generator of one of a run's streams of trials: ``"training"`` (a fresh batch every step),
    ``"validation"`` (the held-out trials, drawn once), ``"tracking"`` (the trials the dynamics are measured on;
    ``offset``: the step, for the perturbations), ``"examples"`` (trials to show, seen by none of the others),
    ``"analysis"`` (the trials whose states seed the fixed-point searches of
    :func:`ctrnn.mechanisms.task_fixed_points`).

    Raises:
        ValueError: an unknown stream.
    """
    if stream not in _STREAMS:
        raise ValueError(f"unknown stream {stream!r}; choose one of: {', '.join(_STREAMS)}")
    return torch.Generator().manual_seed((check_seed(seed) + _STREAMS[stream] + offset) % 2**64)


@dataclasses.dataclass(frozen=True, repr=False)
class TrainingRun(Result):
    """A finished training run: the trained model and the curves that led to it.

    Attributes:
        model: the trained :class:`TaskModel` (a flow) or :class:`TaskMap`.
        task: the task's name. score_name: what the score measures. score_is_error: lower is better.
        steps: ``(S,)`` optimizer steps 1..S. loss: ``(S,)`` training loss of each step's batch (before the step).
        grad_norm: ``(S,)`` the gradient's norm before clipping. learning_rate: ``(S,)`` the rate each step used.
        validation_steps: ``(V,)`` steps at which the held-out trials were scored; validation_loss and
            validation_score: ``(V,)``.
        tracking_steps: ``(K,)`` steps at which the network's dynamics were measured on task inputs;
            lyapunov: ``(K,)`` its largest finite-time Lyapunov exponent along the task trials (per unit time;
            iterations for a map without a ``dt``), lyapunov_stderr ``(K,)`` over trials; gradient_rate: ``(K,)``
            the fitted rate of ``log |d x_T / d x_{T-k}|`` per unit time (negative: gradients vanish).
        stopped: why training ended: ``"steps"``, ``"target score"``.
        settings: the training options (JSON).
        wall_time: seconds spent training (this process and the runs it resumed).
    """

    model: Any
    task: str
    score_name: str
    score_is_error: bool
    steps: torch.Tensor
    loss: torch.Tensor
    grad_norm: torch.Tensor
    learning_rate: torch.Tensor
    validation_steps: torch.Tensor
    validation_loss: torch.Tensor
    validation_score: torch.Tensor
    tracking_steps: torch.Tensor
    lyapunov: torch.Tensor
    lyapunov_stderr: torch.Tensor
    gradient_rate: torch.Tensor
    stopped: str
    settings: dict[str, Any]
    wall_time: float
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def final_score(self) -> float:
        """The last validation score (NaN if the run never validated)."""
        return float(self.validation_score[-1]) if len(self.validation_score) else math.nan

    def summary(self) -> str:
        done = int(self.steps[-1]) if len(self.steps) else 0
        score = f"{self.score_name} {self.final_score:.4g}" if len(self.validation_score) else "not validated"
        loss = f"{float(self.loss[-1]):.4g}" if len(self.loss) else "-"
        why = "all steps done" if self.stopped == "steps" else f"stopped at the {self.stopped}"
        return (f"{self.task}: {done} steps ({why}), training loss {loss}, held-out {score}; "
                f"{self.wall_time:.1f} s")

    def respond(self, batch: TaskBatch, x0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(states (T, B, n), outputs (T, B, p))`` of the trained model on ``batch``, run the way it was trained
        (the same path, scheme and solver settings; see :func:`task_trajectories`)."""
        s = self.settings
        options = {k: s[k] for k in ("method", "adjoint", "rtol", "atol") if s.get(k) is not None}
        with torch.no_grad():
            return task_trajectories(self.model, batch, x0=x0, through=s["through"], scheme=s["scheme"], **options)

    def plot(self, *, title: str | None = None) -> Figure:
        """The training and held-out loss, the held-out score, the gradient norm and, where tracked, the largest
        Lyapunov exponent and the gradient-propagation rate, against training steps. Returns a Figure."""
        return plot_result(self, title=title)


def _diverged(what: str, step: int, checkpoint_every: int, folder: Path | None) -> DivergenceError:
    """The error that stops a run at ``step`` (0-based) whose loss or states became non-finite."""
    kept = (f"; the last good checkpoint (step {_last_checkpoint(step, checkpoint_every)}) is in {folder}"
            if folder is not None else "")
    return DivergenceError(f"{what} at step {step + 1}{kept}: lower lr, clip gradients (clip_grad_norm) or shorten "
                           f"the trials", time=step)


@dataclasses.dataclass
class _Curves:
    """The growing histories of a run (lists of floats), as checkpoints store them."""

    loss: list[float] = dataclasses.field(default_factory=list)
    grad_norm: list[float] = dataclasses.field(default_factory=list)
    learning_rate: list[float] = dataclasses.field(default_factory=list)
    validation_steps: list[float] = dataclasses.field(default_factory=list)
    validation_loss: list[float] = dataclasses.field(default_factory=list)
    validation_score: list[float] = dataclasses.field(default_factory=list)
    tracking_steps: list[float] = dataclasses.field(default_factory=list)
    lyapunov: list[float] = dataclasses.field(default_factory=list)
    lyapunov_stderr: list[float] = dataclasses.field(default_factory=list)
    gradient_rate: list[float] = dataclasses.field(default_factory=list)


def task_model(model: System | DiscreteMap, task: Any, *, source: str | None = None, seed: int = 0) -> TaskModel | TaskMap:
    """``model`` with a readout sized for ``task`` (``model`` itself when it already has one that fits).

    Raises:
        ValueError: the model's input or output size differs from the task's (both named).
        TypeError: not a System or DiscreteMap.
    """
    if isinstance(model, (TaskModel, TaskMap)):
        wrapped = model
    elif isinstance(model, System):
        wrapped = TaskModel(model, task.output_dim, source=source, seed=seed)
    elif isinstance(model, DiscreteMap):
        wrapped = TaskMap(model, task.output_dim, source=source, seed=seed)
    else:
        raise TypeError(f"train takes a ctrnn.System or DiscreteMap, got {type(model).__name__}")
    name = getattr(task, "name", type(task).__name__)
    if wrapped.input_dim != task.input_dim:
        raise ValueError(f"the model takes {wrapped.input_dim} inputs but the task {name} gives {task.input_dim}: "
                         f"build the model with n_inputs={task.input_dim}")
    if wrapped.output_dim != task.output_dim:
        raise ValueError(f"the model's readout has {wrapped.output_dim} outputs but the task {name} asks for "
                         f"{task.output_dim}")
    return wrapped


class _Forward:
    """Runs trials through the model: states ``(T, B, n)`` after each step and the readout's outputs."""

    def __init__(self, model: TaskModel | TaskMap, dt: float, through: str, scheme: str, method: str,
                 adjoint: bool, rtol: float, atol: float):
        self.model, self.through, self.dt = model, through, float(dt)
        self.method, self.adjoint, self.rtol, self.atol = method, adjoint, rtol, atol
        if isinstance(model, TaskMap):
            if through != "map":
                raise ValueError("a DiscreteMap trains through its own map: use through='map'")
            dt = getattr(model, "dt", None)
            if dt is not None and isinstance(dt, (int, float)) and not math.isclose(float(dt), self.dt, rel_tol=1e-9):
                raise ValueError(f"the map steps dt = {dt:g} but the task's step is {self.dt:g}: discretize with "
                                 f"dt = {self.dt:g}")
            self.map = model
        elif through == "map":
            self.map = discretize(model, self.dt, scheme=scheme)
        else:
            self.map = None

    def states(self, batch: TaskBatch, x0: torch.Tensor) -> torch.Tensor:
        if self.map is not None:
            return self.map.rollout(x0, batch.inputs)
        T = batch.steps
        t = torch.arange(T + 1, dtype=x0.dtype, device=x0.device) * self.dt
        inputs = torch.cat([batch.inputs, batch.inputs[-1:]])  # sample k holds on [t_k, t_k+1): the last is unused
        fixed = self.method in ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
        traj = simulate(self.model, x0, t, inputs=inputs, method=self.method, rtol=self.rtol, atol=self.atol,
                        step_size=self.dt if fixed else None, adjoint=self.adjoint, grad=True)
        return traj.x[1:]

    def __call__(self, batch: TaskBatch, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.states(batch, x0)
        return states, self.model.output(states)


def task_trajectories(model: TaskModel | TaskMap, batch: TaskBatch, *, x0: torch.Tensor | None = None,
                      through: str = "map", scheme: str = "euler", method: str = "rk4", adjoint: bool = False,
                      rtol: float = 1e-6, atol: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a batch of trials through a model with a readout, the way :func:`train` runs them.

    Arguments:
        model: a :class:`TaskModel` or :class:`TaskMap` (a trained ``run.model``).
        batch: the trials (moved to the model's dtype and device here); its ``dt`` is the step.
        x0: ``(B, n)`` initial states (default: zeros, as in training).
        through, scheme, method, adjoint, rtol, atol: as in :func:`train` (``run.respond`` uses the run's own).

    Returns:
        ``(states, outputs)``: ``(T, B, n)`` the state after each step and ``(T, B, p)`` the readout of it.

    Raises:
        ValueError: an unknown ``through``, a map whose step is not the batch's ``dt``, an ``x0`` of another shape.
    """
    if through not in THROUGH:
        raise ValueError(f"unknown through {through!r}; choose one of: {', '.join(THROUGH)}")
    param = next(iter(model.parameters()), None)
    dtype = param.dtype if param is not None else torch.get_default_dtype()
    batch = batch.to(dtype, param.device if param is not None else None)
    if x0 is None:
        x0 = torch.zeros(batch.batch_size, model.state_dim, dtype=dtype, device=batch.inputs.device)
    elif tuple(x0.shape) != (batch.batch_size, model.state_dim):
        raise ValueError(f"x0 must have shape ({batch.batch_size}, {model.state_dim}), got {tuple(x0.shape)}")
    return _Forward(model, batch.dt, through, scheme, method, adjoint, rtol, atol)(batch, x0)


def _weights(model: TaskModel | TaskMap) -> list[torch.Tensor]:
    """The weight matrices (parameters with two or more axes) the L2 weight penalty applies to."""
    return [p for p in model.parameters() if p.ndim >= 2 and p.requires_grad]


def _check_connectivity(model: torch.nn.Module, connectivity: Mapping[str, Any] | None) -> dict[str, torch.Tensor]:
    """The masks as tensors on the parameters' dtype and device, checked against the parameters they hold to zero."""
    if not connectivity:
        return {}
    params = dict(model.named_parameters())
    masks = {}
    for name, mask in connectivity.items():
        if name not in params:
            raise ValueError(f"connectivity names the parameter {name!r}, which the model does not have; choose "
                             f"from: {', '.join(params)}")
        mask = torch.as_tensor(mask)
        if tuple(mask.shape) != tuple(params[name].shape):
            raise ValueError(f"the connectivity mask of {name} has shape {tuple(mask.shape)}; the parameter has "
                             f"{tuple(params[name].shape)}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"the connectivity mask of {name} must hold only 0 and 1")
        masks[name] = mask.to(dtype=params[name].dtype, device=params[name].device)
    return masks


def finite_time_lyapunov(dmap: DiscreteMap, x0: torch.Tensor, inputs: torch.Tensor, dt: float | None,
                         generator: torch.Generator) -> tuple[float, float]:
    """The largest finite-time Lyapunov exponent along driven trials, and its standard error over the trials.

    One tangent vector per trial advances with the map's exact derivative and is renormalised every step; the
    exponent is the mean of ``log`` growth over the trial's duration.

    Arguments:
        dmap: the map. x0: ``(B, n)``. inputs: ``(T, B, m)`` the task's inputs. dt: time per iteration (``None``:
            per iteration). generator: for the initial vectors.

    Returns:
        ``(exponent, stderr)`` per unit time.
    """
    x = x0
    v = torch.randn(x0.shape, generator=generator, dtype=torch.float64).to(x0)
    v = v / v.norm(dim=-1, keepdim=True)
    log_growth = torch.zeros(x0.shape[0], dtype=torch.float64, device=x0.device)
    with torch.no_grad():
        for k in range(inputs.shape[0]):
            x, v = dmap.step_with_tangent(x, v, inputs[k])
            norm = v.norm(dim=-1, keepdim=True)
            log_growth += torch.log(norm[:, 0]).to(torch.float64)
            v = v / norm
    per_trial = log_growth / (inputs.shape[0] * (dt or 1.0))
    B = per_trial.numel()
    stderr = float(per_trial.std() / math.sqrt(B)) if B > 1 else math.nan
    return float(per_trial.mean()), stderr


def _settings(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items()}


def train(model: System | DiscreteMap, task: Any, *, steps: int = 2000, batch_size: int = 64, lr: float = 1e-3,
          optimizer: str = "adam", schedule: str | None = None, lr_final: float | None = None,
          weight_decay: float = 0.0, clip_grad_norm: float | None = 1.0, loss: str | None = None,
          l2_rates: float = 0.0, l2_weights: float = 0.0, connectivity: Mapping[str, Any] | None = None,
          through: str = "map", scheme: str = "euler", method: str = "rk4", adjoint: bool = False,
          rtol: float = 1e-6, atol: float = 1e-8, source: str | None = None,
          validate_every: int = 50, validation_trials: int = 256, target_score: float | None = None,
          track_every: int = 0, tracking_trials: int = 16, checkpoint_every: int = 100,
          path: str | Path | None = None, resume: bool = False, seed: int = 0, dtype: torch.dtype | None = None,
          device: torch.device | str | None = None, progress: bool = False,
          _check_only: bool = False) -> TrainingRun:
    """Train ``model`` (and a linear readout) on ``task`` by backpropagation through time.

    Each step draws ``batch_size`` fresh trials, runs them from ``x = 0`` through the model, and takes one optimizer
    step on the masked loss plus the L2 penalties ``l2_rates * mean(s(x)^2) + l2_weights * sum_W mean(W^2)``
    (PsychRNN's rate and weight regularisers; ``s(x)`` is what the readout reads). Gradients are clipped to
    ``clip_grad_norm`` (their norm before clipping is recorded). Dale's law (a :class:`~ctrnn.RateRNN` built with
    ``dale=``) holds throughout by construction; ``connectivity`` masks hold chosen weights at zero throughout.

    Arguments:
        model: a :class:`~ctrnn.System` or :class:`~ctrnn.DiscreteMap` (a readout with the task's number of outputs
            is added; a :class:`TaskModel` / :class:`TaskMap` keeps its own). It is copied: the caller's object is
            never changed.
        task: a task of ``ctrnn.tasks``, or any object with ``input_dim``, ``output_dim``, ``dt``,
            ``sample(batch, generator)`` and ``score(outputs, batch)``.
        steps: optimizer steps. batch_size: trials per step.
        lr: learning rate. optimizer: ``adam`` (default), ``adamw``, ``sgd``, ``rmsprop``. schedule: ``None``
            (constant), ``"cosine"`` or ``"exponential"`` decay from ``lr`` to ``lr_final`` (default ``lr / 100``)
            over ``steps``. weight_decay: the optimizer's own.
        clip_grad_norm: the largest gradient norm (``None``: no clipping).
        loss: ``"mse"`` or ``"cross_entropy"`` (default: the task's ``loss``, else ``mse``).
        l2_rates, l2_weights: penalty coefficients (>= 0).
        connectivity: ``{parameter name: 0/1 mask}`` (names as in ``model.named_parameters()`` of the
            :class:`TaskModel`, e.g. ``"system.W"``).
        through: ``"map"`` (BPTT through ``discretize(model, task.dt, scheme)``) or ``"simulate"`` (through
            :func:`~ctrnn.simulate` with ``method``, ``rtol``, ``atol``; ``adjoint=True`` for the adjoint method;
            fixed-step methods step ``task.dt``).
        scheme: ``euler`` (default; with ``dt = tau`` a rate network's r-form is ``torch.nn.RNN``), ``exp_euler``
            or ``rk4``.
        source: what the readout reads (see :class:`TaskModel`).
        validate_every: score ``validation_trials`` held-out trials (a fixed set, drawn once) every this many steps
            and at the end. target_score: stop once the held-out score reaches it (an accuracy at or above it, an
            error at or below it).
        track_every: every this many steps (0: never), measure the dynamics on ``tracking_trials`` task trials: the
            largest finite-time Lyapunov exponent and the gradient-propagation rate (:func:`~ctrnn.gradient_propagation`).
        checkpoint_every: with ``path``, write a checkpoint every this many steps and at the end.
        path: a folder for ``checkpoint.safetensors`` (``None``: no checkpoints).
        resume: continue from the checkpoint in ``path``, which must be of the same run (model, task and
            settings); the result is bit-identical to an uninterrupted run.
        seed: the run's randomness: the readout's initial weights, the training trials, the held-out trials.
        dtype, device: where to train (default: the model's).
        progress: show a progress bar (as inside :func:`~ctrnn.show_progress`).

    Returns:
        a :class:`TrainingRun`.

    Raises:
        ValueError: bad settings (named), a model and task whose sizes disagree (both named), ``resume`` without a
            checkpoint of this run (the differing settings named).
        TypeError: a task without the task protocol.
        DivergenceError: the loss became NaN or infinite (the step is named; the last good checkpoint is kept).
    """
    check_task(task)
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    validate_every, validation_trials = (check_positive_int(validate_every, "validate_every"),
                                         check_positive_int(validation_trials, "validation_trials"))
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if isinstance(track_every, bool) or not isinstance(track_every, int) or track_every < 0:
        raise ValueError(f"track_every must be an int >= 0 (0: no tracking), got {track_every!r}")
    tracking_trials = check_positive_int(tracking_trials, "tracking_trials")
    for value, name in ((l2_rates, "l2_rates"), (l2_weights, "l2_weights"), (weight_decay, "weight_decay")):
        check_nonnegative(value, name)
    if clip_grad_norm is not None:
        clip_grad_norm = check_positive(clip_grad_norm, "clip_grad_norm")
    if through not in THROUGH:
        raise ValueError(f"unknown through {through!r}; choose one of: {', '.join(THROUGH)}")
    if through == "simulate" and method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    if schedule is not None and schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of: {', '.join(SCHEDULES)} (or None)")
    lr_final = lr / 100 if lr_final is None else check_positive(lr_final, "lr_final")
    loss_name = loss if loss is not None else getattr(task, "loss", "mse")
    loss_fn = LOSSES[loss_name]
    OPTIMIZERS[optimizer]  # noqa: B018  (an unknown name is refused here, before anything is built)
    seed = check_seed(seed)
    if target_score is not None and not math.isfinite(float(target_score)):
        raise ValueError(f"target_score must be a finite number, got {target_score!r}")
    if resume and path is None:
        raise ValueError("resume=True needs the path of the run's checkpoint folder")
    folder = None if path is None else Path(path)
    if folder is not None and not folder.is_dir():
        raise FileNotFoundError(f"the checkpoint folder {folder} does not exist: create it first")

    trained = task_model(copy.deepcopy(model), task, source=source, seed=seed)
    trained = trained.to(dtype=dtype or trained.dtype, device=device)
    work_dtype = trained.dtype
    work_device = next(iter(trained.parameters())).device if any(True for _ in trained.parameters()) else None
    masks = _check_connectivity(trained, connectivity)
    forward = _Forward(trained, task.dt, through, scheme, method, adjoint, rtol, atol)
    if _check_only:  # check_training: every setting is checked, nothing is trained
        return None  # type: ignore[return-value]
    score_is_error = bool(getattr(task, "score_is_error", False))
    task_name = getattr(task, "name", type(task).__name__)
    settings = _settings(
        task=task_name, task_config=task.config() if hasattr(task, "config") else None, steps=steps,
        batch_size=batch_size, lr=lr, optimizer=optimizer, schedule=schedule, lr_final=lr_final,
        weight_decay=weight_decay, clip_grad_norm=clip_grad_norm, loss=loss_name, l2_rates=l2_rates,
        l2_weights=l2_weights, connectivity=sorted(masks), through=through, scheme=scheme,
        method=method if through == "simulate" else None, adjoint=adjoint if through == "simulate" else None,
        rtol=rtol if through == "simulate" else None, atol=atol if through == "simulate" else None,
        source=trained.source, validate_every=validate_every, validation_trials=validation_trials,
        target_score=None if target_score is None else float(target_score), track_every=track_every,
        tracking_trials=tracking_trials, seed=seed, dtype=str(work_dtype).removeprefix("torch."),
        model=trained.describe(), initial_model=content_digest(trained),
        connectivity_masks=content_digest({k: v for k, v in masks.items()}))

    with torch.no_grad():
        for name, mask in masks.items():
            dict(trained.named_parameters())[name].mul_(mask)
    params = [p for p in trained.parameters() if p.requires_grad]
    opt = OPTIMIZERS[optimizer](params, lr, weight_decay)
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr_final)
    elif schedule == "exponential":
        scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(lr_final / lr) ** (1.0 / steps))

    generator = trial_generator(seed, "training")
    held_out = task.sample(validation_trials, trial_generator(seed, "validation"))
    held_out = held_out.to(work_dtype, work_device)
    tracked = task.sample(tracking_trials, trial_generator(seed, "tracking"))
    tracked = tracked.to(work_dtype, work_device)
    n = trained.state_dim

    def zeros(batch: TaskBatch) -> torch.Tensor:
        return torch.zeros(batch.batch_size, n, dtype=work_dtype, device=work_device)

    curves, done, wall_before, stopped = _Curves(), 0, 0.0, "steps"
    if resume:
        state = read_checkpoint(folder, settings)
        trained.load_state_dict(state.model)
        opt.load_state_dict(state.optimizer)
        if scheduler is not None:
            scheduler.load_state_dict(state.scheduler)
        generator.set_state(state.generator)
        curves, done, wall_before = _Curves(**state.curves), state.step, state.wall_time

    def checkpoint(step: int, wall: float) -> None:
        if folder is not None:
            write_checkpoint(folder, settings=settings, step=step, model=trained, optimizer=opt,
                             scheduler=scheduler, generator=generator, curves=dataclasses.asdict(curves),
                             wall_time=wall, model_record={"class": type(trained).__name__,
                                                           "config": _config_or_none(trained)})

    def evaluate(batch: TaskBatch) -> tuple[float, float]:
        with torch.no_grad():
            _, outputs = forward(batch, zeros(batch))
            return float(loss_fn(outputs, batch.targets, batch.mask)), float(task.score(outputs, batch))

    def reached(score: float) -> bool:
        if target_score is None:
            return False
        return score <= target_score if score_is_error else score >= target_score

    def track(step: int) -> None:
        dmap = forward.map if forward.map is not None else discretize(trained, forward.dt, scheme="rk4")
        x0 = zeros(tracked)
        stream = trial_generator(seed, "tracking", step)
        dt = getattr(dmap, "dt", None)
        lam, err = finite_time_lyapunov(dmap, x0, tracked.inputs, float(dt) if isinstance(dt, (int, float)) else None,
                                        stream)
        with torch.no_grad():
            rate = gradient_propagation(dmap, x0, horizon=tracked.steps, inputs=tracked.inputs, n_singular=1).rate
        curves.tracking_steps.append(step)
        curves.lyapunov.append(lam)
        curves.lyapunov_stderr.append(err)
        curves.gradient_rate.append(float(rate))

    start = time.perf_counter()
    with ProgressBar(f"training on {task_name}", steps, start=0, unit="steps", enabled=progress) as bar:
        bar.update(done)
        if done == 0 and track_every:
            track(0)
        step = done
        while step < steps and stopped == "steps":
            batch = task.sample(batch_size, generator).to(work_dtype, work_device)
            try:
                states, outputs = forward(batch, zeros(batch))
            except DivergenceError as exc:  # the solver (simulate path, or a map's own check) saw the blow-up first
                raise _diverged(f"the network's states blew up ({str(exc).splitlines()[0][:160]})", step,
                                checkpoint_every, folder) from None
            value = loss_fn(outputs, batch.targets, batch.mask)
            if l2_rates:
                value = value + l2_rates * readout_features(trained._core(), trained.source, states).pow(2).mean()
            if l2_weights:
                value = value + l2_weights * sum(w.pow(2).mean() for w in _weights(trained))
            if not torch.isfinite(value.detach()):
                raise _diverged(f"the training loss became {float(value.detach())}", step, checkpoint_every, folder)
            opt.zero_grad(set_to_none=True)
            value.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, clip_grad_norm if clip_grad_norm is not None else math.inf)
            curves.learning_rate.append(opt.param_groups[0]["lr"])
            opt.step()
            if scheduler is not None:
                scheduler.step()
            if masks:
                with torch.no_grad():
                    named = dict(trained.named_parameters())
                    for name, mask in masks.items():
                        named[name].mul_(mask)
            step += 1
            curves.loss.append(float(value.detach()))
            curves.grad_norm.append(float(norm))
            if step % validate_every == 0 or step == steps:
                v_loss, v_score = evaluate(held_out)
                curves.validation_steps.append(step)
                curves.validation_loss.append(v_loss)
                curves.validation_score.append(v_score)
                if reached(v_score):
                    stopped = "target score"
                bar.note(f"loss {v_loss:.3g} · {getattr(task, 'score_name', 'score')} {v_score:.4g}")
            if track_every and step % track_every == 0:
                track(step)
            if step % checkpoint_every == 0 or step == steps or stopped != "steps":
                checkpoint(step, wall_before + time.perf_counter() - start)
            bar.update(step)

    wall = wall_before + time.perf_counter() - start
    as_tensor = lambda values: torch.tensor(values, dtype=torch.float64)  # noqa: E731
    trained.eval()
    for p in trained.parameters():
        p.requires_grad_(True)
    return TrainingRun(
        model=trained, task=task_name, score_name=getattr(task, "score_name", "score"), score_is_error=score_is_error,
        steps=torch.arange(1, len(curves.loss) + 1, dtype=torch.float64), loss=as_tensor(curves.loss),
        grad_norm=as_tensor(curves.grad_norm), learning_rate=as_tensor(curves.learning_rate),
        validation_steps=as_tensor(curves.validation_steps), validation_loss=as_tensor(curves.validation_loss),
        validation_score=as_tensor(curves.validation_score), tracking_steps=as_tensor(curves.tracking_steps),
        lyapunov=as_tensor(curves.lyapunov), lyapunov_stderr=as_tensor(curves.lyapunov_stderr),
        gradient_rate=as_tensor(curves.gradient_rate), stopped=stopped, settings=settings, wall_time=wall)


def check_training(model: System | DiscreteMap, task: Any, **options: Any) -> None:
    """Raise what :func:`train` would raise for ``model``, ``task`` and ``options`` (its keyword arguments, without
    ``path`` and ``resume``) before it trains: the settings, the task protocol, the sizes of model and task, the
    connectivity masks. Nothing is trained or written (``ctrnn train`` checks here before it makes its folder).

    Raises:
        ValueError, TypeError: as :func:`train`.
    """
    train(model, task, **options, _check_only=True)


def _last_checkpoint(step: int, every: int) -> int:
    return (step // every) * every


def _config_or_none(model: Any) -> dict[str, Any] | None:
    try:
        return model.config()
    except (NotImplementedError, AttributeError):  # a map of one's own: its checkpoint holds its tensors, not how to rebuild it
        return None
