"""``simulate``: a System, initial states and a time grid to a Trajectory, with torchdiffeq underneath."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import torch
import torchdiffeq
from torch import nn
from torchdiffeq._impl.odeint import SOLVERS  # the solver table: tells fixed-grid from adaptive methods
from torchdiffeq._impl.solvers import FixedGridODESolver

from ._errors import DivergenceError, SolverError, locate_divergence
from ._fused import FUSED_METHODS, fused_fixed_grid
from ._progress import ProgressBar
from ._registry import Registry
from ._results import Result, plot_result
from ._validation import as_state, as_tensor, check_finite, check_positive, check_size, reference_tensor
from ._version import versions
from .inputs import Input, as_input
from .systems._base import System

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: every torchdiffeq method, by name
METHODS: Registry[type] = Registry("method")
for _name, _solver in SOLVERS.items():
    METHODS.register(_name, _solver)


#: adaptive methods whose torchdiffeq dense output (one generic 4th-order polynomial per step) is much
#: less accurate than the step itself; simulate makes them step onto every output time instead
LOW_ORDER_DENSE_OUTPUT = frozenset({"dopri8"})


def is_fixed_step(method: str) -> bool:
    """True for fixed-grid methods (euler, rk4, ...), which take ``step_size`` instead of tolerances."""
    return issubclass(METHODS[method], FixedGridODESolver)


@dataclass(frozen=True)
class SolverStats:
    """What the solve cost.

    Attributes:
        nfe: right-hand-side evaluations in the forward solve.
        n_accepted: accepted steps (adaptive methods; ``None`` where the method does not report them).
        n_rejected: rejected steps (adaptive methods; ``None`` otherwise).
        n_steps: steps taken (fixed-grid: grid steps; adaptive: accepted + rejected).
        wall_time: seconds of wall-clock time for the forward solve.
    """

    nfe: int
    n_accepted: int | None
    n_rejected: int | None
    n_steps: int | None
    wall_time: float


@dataclass(frozen=True, eq=False, repr=False)
class Trajectory(Result):
    """A solved trajectory.

    Attributes:
        t: ``(T,)`` output times (model time units).
        x: ``(T, *batch, n)`` states; ``x[0]`` is the initial state.
        u: ``(T, *batch, m)`` the input evaluated at the output times, or ``None`` (autonomous).
        stats: :class:`SolverStats`.
        method: solver name; ``rtol``/``atol`` (adaptive) and ``step_size`` (fixed-grid) as used.
        metadata: the system's class, config and description, library versions, creation time and
            anything the caller passed (e.g. the seed).
    """

    t: torch.Tensor
    x: torch.Tensor
    u: torch.Tensor | None
    stats: SolverStats
    method: str
    rtol: float | None
    atol: float | None
    step_size: float | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:-1])

    @property
    def state_dim(self) -> int:
        return self.x.shape[-1]

    def plot(self, *, max_traces: int = 8, title: str | None = None) -> Figure:
        """Time courses and a phase portrait (the states for n <= 3, else the top two principal
        components). Returns a matplotlib ``Figure``."""
        return plot_result(self, max_traces=max_traces, title=title)


class _Dynamics(nn.Module):
    """``f(t, x) = system(t, x, u(t))`` for torchdiffeq, counting evaluations and steps through its callbacks."""

    def __init__(self, system: System, u: Input | None, solver: type, progress: ProgressBar | None):
        super().__init__()
        self.system, self.u, self.progress = system, u, progress
        self.nfe = self.n_accepted = self.n_rejected = self.n_steps = 0
        self.last_t: torch.Tensor | None = None
        self.last_x: torch.Tensor | None = None
        # torchdiffeq warns about callbacks a solver does not support, so attach only the valid ones
        valid = solver.valid_callbacks()
        self.on_step = self._on_step
        if "callback_step" in valid:
            self.callback_step = self._on_step
        if "callback_accept_step" in valid:
            self.callback_accept_step = self._on_accept
            self.callback_reject_step = self._on_reject

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return self.system(t, x, None if self.u is None else self.u(t))

    def _on_step(self, t0: torch.Tensor, x0: torch.Tensor, dt: torch.Tensor) -> None:
        # references only: no host sync on the hot path
        self.n_steps += 1
        self.last_t, self.last_x = t0, x0
        if self.progress is not None:
            self.progress.update(float(t0))

    def _on_accept(self, t0: torch.Tensor, x0: torch.Tensor, dt: torch.Tensor) -> None:
        self.n_accepted += 1

    def _on_reject(self, t0: torch.Tensor, x0: torch.Tensor, dt: torch.Tensor) -> None:
        self.n_rejected += 1


def _time_grid(t: Any, dtype: torch.dtype, device: torch.device | None) -> torch.Tensor:
    t = as_tensor(t, "t", dtype=dtype, device=device)
    if t.ndim != 1 or t.shape[0] < 2:
        raise ValueError(f"t must be a 1-D grid of at least 2 times, got shape {tuple(t.shape)}")
    check_finite(t, "t")
    steps = t[1:] - t[:-1]
    if not bool((steps > 0).all()):
        k = int((steps <= 0).nonzero()[0])
        raise ValueError(f"t must be strictly increasing; t[{k + 1}] = {float(t[k + 1])} <= t[{k}] = "
                         f"{float(t[k])}; sort the grid (integrating backwards in time is not supported)")
    return t


def _fixed_grid(t: torch.Tensor, step_size: float | None, breakpoints: torch.Tensor | None) -> torch.Tensor:
    """The integration grid of a fixed-step method: every output time and input breakpoint is a grid
    point, and each interval between them is cut into equal steps of at most ``step_size``."""
    if t[0] > t[-1]:  # the adjoint's backward pass asks for decreasing spans
        return _fixed_grid(t.flip(0), step_size, breakpoints).flip(0)
    knots = t
    if breakpoints is not None:
        breakpoints = breakpoints[(breakpoints > t[0]) & (breakpoints < t[-1])]
        if breakpoints.numel():
            knots = torch.unique(torch.cat([t, breakpoints]))  # sorted; keeps the exact values of t
    if step_size is None:
        return knots
    lengths = knots[1:] - knots[:-1]
    # the slack keeps an interval of k steps from becoming k + 1 through the rounding of the grid
    # (float32 grids are off by ~1e-5 relative): a step may exceed step_size by at most 0.1%
    counts = torch.ceil(lengths / step_size - 1e-3).clamp(min=1).to(torch.long)
    interval = torch.repeat_interleave(torch.arange(len(lengths), device=t.device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    frac = (torch.arange(int(counts.sum()), device=t.device) - offsets[interval]).to(t.dtype) / counts[interval]
    return torch.cat([knots[interval] + lengths[interval] * frac, knots[-1:]])


def describe_system(system: System) -> dict[str, Any]:
    """Class name, config (``None`` when the model cannot be saved) and a description in words."""
    try:
        config = system.config()
    except NotImplementedError:
        config = None
    return {"class": type(system).__name__, "config": config, "description": system.describe()}


def provenance(system: System, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a trajectory records of where it came from: the system, the library versions, the creation time, and
    the caller's ``extra`` facts (seed, command, ...)."""
    return {"system": describe_system(system), "versions": versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(extra or {})}


def prepare_problem(system: System, x0: Any, t: Any, inputs: Any) -> tuple[torch.Tensor, torch.Tensor, Input | None]:
    """Check and convert ``simulate``'s problem: ``x0`` and ``t`` to the system's dtype and device,
    ``inputs`` to an :class:`~ctrnn.inputs.Input` covering ``t`` (see :func:`simulate` for the rules)."""
    if not isinstance(system, System) and callable(getattr(system, "rollout", None)):  # a DiscreteMap
        raise TypeError("simulate integrates continuous-time Systems; for a DiscreteMap use dmap.rollout(x0, inputs)")
    if not isinstance(system, System):
        raise TypeError(f"system must be a ctrnn.System (wrap a callable with ctrnn.VectorField(fn, n)), "
                        f"got {type(system).__name__}")
    x0 = as_state(x0, "x0", system.state_dim, reference_tensor(system))  # a model without tensors: x0's dtype
    dtype, device = x0.dtype, x0.device
    real = dtype.to_real()  # times and inputs are real even for a complex state
    t = _time_grid(t, real, device)
    check_size(t.shape[0] * x0.numel(), f"the trajectory ({t.shape[0]} times x {x0.numel()} state values of x0)",
               "use a shorter or coarser time grid t, or fewer initial states")
    t0, t1 = float(t[0]), float(t[-1])

    u = as_input(inputs, t, system.input_dim)
    if u is not None:
        u = u.to(dtype=real, device=device)
        if not u.covers(t0, t1):
            raise ValueError(f"the input covers t in [{u.t_min:g}, {u.t_max:g}] but the solve needs [{t0:g}, {t1:g}];"
                             " give samples over the whole span (inputs never extrapolate)")
        try:
            torch.broadcast_shapes(u.batch_shape, tuple(x0.shape[:-1]))
        except RuntimeError:
            raise ValueError(f"input batch shape {u.batch_shape} does not broadcast with the batch shape "
                             f"{tuple(x0.shape[:-1])} of x0") from None
    return x0, t, u


def simulate(system: System, x0: torch.Tensor | Sequence[float], t: torch.Tensor | Sequence[float], *,
             inputs: Input | torch.Tensor | Callable | float | None = None, method: str = "dopri5",
             rtol: float = 1e-7, atol: float = 1e-9, step_size: float | None = None, adjoint: bool = False,
             max_steps: int | None = None, grad: bool | None = None, fused: bool | None = None,
             progress: bool = False, metadata: dict[str, Any] | None = None) -> Trajectory:
    """Solve ``dx/dt = f(t, x, u(t))`` from ``x0`` and return the states on the grid ``t``.

    Arguments:
        system: a :class:`~ctrnn.System` (a model, a reference system or a ``VectorField``).
        x0: initial states ``(*batch, n)``; converted to the system's dtype and device (those of
            ``x0`` for a system without tensors).
        t: ``(T,)`` strictly increasing output times, ``T >= 2``, in the system's time units.
        inputs: ``None`` (zero input), samples ``(T, *batch, m)`` on ``t`` (held piecewise constant:
            sample k on ``[t_k, t_{k+1})``), an :class:`~ctrnn.inputs.Input`, a constant, or a callable
            ``u(t)``. Input discontinuities become solver breakpoints, so steps never straddle a jump.
        method: any torchdiffeq method (``dopri5``, ``dopri8``, ``bosh3``, ``adaptive_heun``,
            ``fehlberg2``, ``euler``, ``midpoint``, ``heun2``, ``heun3``, ``rk4``, ``explicit_adams``,
            ``implicit_adams``, ...).
        rtol, atol: tolerances of adaptive methods.
        step_size: largest step of a fixed-grid method; each interval between output times (and input
            breakpoints) is cut into equal steps no longer than this (up to 0.1%, for rounding). ``None``: step from output time
            to output time.
        adjoint: backpropagate with the adjoint method (memory independent of the number of steps).
            Gradients reach ``x0``, the system's parameters and input tensors as they are when
            ``backward`` runs (so under ``torch.func.functional_call``, call ``backward`` inside it).
        max_steps: bound on adaptive steps between two output times (``None``: torchdiffeq's default).
        grad: whether the solve records the autograd graph that ``backward`` needs. ``None`` (the default): only
            when it is asked for by ``x0`` or a tensor of ``inputs`` that requires grad, or by ``adjoint`` (a
            model's parameters require grad by default, and recording through them alone would make every plain
            simulation slower and its memory grow with the number of steps); ``True``: record it, so that
            gradients reach the parameters too (what training does, and a callable input whose tensors require
            grad needs); ``False``: never. Nothing is recorded under ``torch.no_grad()`` whatever ``grad`` says.
        fused: run ``euler``, ``midpoint`` and ``rk4`` in ctrnn's fused fixed-grid loop (in-place stages, the
            output preallocated; equal to torchdiffeq's loop to rounding). ``None`` (the default): wherever it
            applies, that is without ``adjoint`` and without a recorded graph; ``False``: torchdiffeq's loop
            always; ``True``: the fused loop, or a ``ValueError`` saying why it does not apply.
        progress: show a progress bar over model time.
        metadata: extra JSON-able facts to keep with the result (seed, command, ...).

    Returns:
        :class:`Trajectory` with ``x`` of shape ``(T, *batch, n)`` and ``x[0] == x0``.

    Raises:
        TypeError: ``system`` is not a ``System``.
        ValueError: ``fused=True`` where the fused loop does not apply; wrong shapes, non-finite or non-increasing ``t``, non-finite ``x0`` or one with an empty
            batch, complex ``x0`` for a real system, a dtype other than float32 / float64 (complex64 / complex128),
            unknown ``method``, non-positive tolerances or ``step_size``, inputs that do not cover ``t``, a
            trajectory or fixed-step grid above the size limit (:data:`~ctrnn.MAX_ELEMENTS`,
            :class:`~ctrnn.size_limit`).
        DivergenceError: the state became NaN/Inf (or the step size underflowed as it grew without
            bound), naming the time and the batch elements.
        SolverError: the solver exceeded ``max_steps``.
    """
    if grad is not None and not isinstance(grad, bool):
        raise TypeError(f"grad must be True, False or None, got {grad!r}")
    if adjoint and grad is False:
        raise ValueError("adjoint=True computes gradients, which grad=False turns off: drop one of them")
    solver = METHODS[method]
    fixed = is_fixed_step(method)
    if fixed:
        if step_size is not None:
            step_size = check_positive(step_size, "step_size")
    else:
        if step_size is not None:
            raise ValueError(f"step_size applies to fixed-step methods (euler, rk4, ...); {method!r} is "
                             "adaptive: set rtol/atol instead")
        rtol, atol = check_positive(rtol, "rtol"), check_positive(atol, "atol")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive int or None, got {max_steps!r}")

    x0, t, u = prepare_problem(system, x0, t, inputs)
    if fixed and step_size is not None:  # the integration grid is allocated whole
        check_size(float(t[-1] - t[0]) / step_size + t.shape[0], f"the fixed-step grid of step_size = {step_size:g}",
                   "raise step_size")
    real = t.dtype
    device = t.device
    t0, t1 = float(t[0]), float(t[-1])
    breaks = None if u is None else u.breakpoints
    if breaks is not None:
        breaks = breaks.to(dtype=real, device=device)
        breaks = breaks[(breaks > t[0]) & (breaks < t[-1])]

    options: dict[str, Any] = {}
    if fixed:
        if step_size is not None or (breaks is not None and breaks.numel()):
            # built for the span asked: the adjoint's backward pass integrates one output interval at a time
            options["grid_constructor"] = lambda f, y0, span: _fixed_grid(span, step_size, breaks)
        if breaks is not None:
            options["perturb"] = True  # evaluate u on the correct side of each jump
    else:
        if breaks is not None and breaks.numel():
            options["jump_t"] = breaks
        if method in LOW_ORDER_DENSE_OUTPUT and len(t) > 2:
            options["step_t"] = t[1:-1]
        if max_steps is not None:
            options["max_num_steps"] = max_steps

    bar = ProgressBar("simulating", t1, start=t0, enabled=progress)
    func = _Dynamics(system, u, solver, bar if bar.enabled else None)
    kwargs: dict[str, Any] = {"method": method, "options": options}
    if not fixed:
        kwargs.update(rtol=rtol, atol=atol)
    if adjoint:
        extra = [] if u is None else [p for p in u.tensors() if p.requires_grad]
        kwargs["adjoint_params"] = tuple(system.parameters()) + tuple(extra)
    integrate = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint

    asked = adjoint or x0.requires_grad or (u is not None and any(p.requires_grad for p in u.tensors()))
    record = torch.is_grad_enabled() and (grad if grad is not None else asked)
    obstacle = (f"method {method!r} is not one of {sorted(FUSED_METHODS)}" if method not in FUSED_METHODS
                else "adjoint=True integrates in torchdiffeq" if adjoint
                else "an autograd graph is recorded (grad=True, or x0 or an input requires grad)" if record
                else None)
    if fused and obstacle is not None:
        raise ValueError(f"fused=True does not apply: {obstacle}; leave fused unset")
    start = time.perf_counter()
    with bar, torch.set_grad_enabled(record):
        if obstacle is None and fused is not False:
            x = fused_fixed_grid(func, x0, t, _fixed_grid(t, step_size, breaks), method, perturb=breaks is not None,
                                 on_step=func.on_step)
        else:
            try:
                x = integrate(func, x0, t, **kwargs)
            except AssertionError as exc:
                raise _solver_failure(exc, func, system, u, max_steps) from None
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    wall = time.perf_counter() - start

    error = locate_divergence(x.detach(), t, what=f"simulate ({method})")
    if error is not None:
        raise error
    reported = solver.valid_callbacks()  # counts exist only where torchdiffeq reports the steps
    stats = SolverStats(
        nfe=func.nfe,
        n_accepted=func.n_accepted if "callback_accept_step" in reported else None,
        n_rejected=func.n_rejected if "callback_reject_step" in reported else None,
        n_steps=func.n_steps if "callback_step" in reported else None,
        wall_time=wall)
    u_on_grid = None
    if u is not None:
        with torch.no_grad():
            u_on_grid = u.sample(t)
    return Trajectory(t=t, x=x, u=u_on_grid, stats=stats, method=method,
                      rtol=None if fixed else rtol, atol=None if fixed else atol,
                      step_size=step_size, metadata=provenance(system, metadata))


def _solver_failure(exc: AssertionError, func: _Dynamics, system: System, u: Input | None,
                    max_steps: int | None) -> SolverError:
    """Turn torchdiffeq's assertions into errors that say when and where the solve failed."""
    message = str(exc)
    t_last = math.nan if func.last_t is None else float(func.last_t)
    if "max_num_steps" in message:
        return SolverError(
            f"the solver needed more than max_steps={max_steps} steps between two output times (stuck near "
            f"t = {t_last:.6g}); the problem may be stiff or blowing up: raise max_steps, loosen rtol/atol, "
            "or use a finer output grid")
    x = func.last_x
    batch: list[int] = []
    detail = ""
    if x is not None:
        flat = x.detach().reshape(-1, x.shape[-1])
        with torch.no_grad():
            dx = system(func.last_t, x, None if u is None else u(func.last_t)).reshape(-1, x.shape[-1])
        bad = ~(torch.isfinite(flat).all(-1) & torch.isfinite(dx).all(-1))
        if bool(bad.any()):
            batch = bad.nonzero().flatten().tolist()
            detail = "the state or its derivative is NaN/Inf"
        else:
            size = flat.abs().amax(-1)
            batch = (size >= size.max() / 10).nonzero().flatten().tolist()
            detail = f"the largest |x| there is {float(size.max()):.3g}"
    return DivergenceError(
        f"simulate diverged near t = {t_last:.6g}: the step size underflowed ({detail}) in batch element(s) "
        f"{batch[:10]}{' ...' if len(batch) > 10 else ''} (flattened batch index); the solution is probably "
        "blowing up: check the weights, inputs and initial states, or shorten the run",
        time=t_last, batch_indices=batch)
