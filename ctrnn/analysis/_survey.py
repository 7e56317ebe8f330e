"""``survey``: the standard analysis of one model or map, the numbers behind the standard report.

A survey simulates (or iterates) trajectories from random states and then runs every analysis that applies:
fixed and slow points from starts on and around the trajectories, the Lyapunov spectrum, limit cycles, basins of
the attractors found, eigenvalue spectra, gradient propagation and the discretization error. Every size it uses
is a field of :class:`SurveySettings`. It never asks what concrete model it holds: a flow is any
:class:`~ctrnn.System`, a map any :class:`~ctrnn.DiscreteMap`, a user's ``VectorField`` and ``IteratedMap``
included. An analysis that cannot run on a model leaves a note saying why instead of stopping the survey.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .._errors import DivergenceError
from .._progress import ProgressBar
from .._results import Result, plot_result
from .._simulate import SolverStats, Trajectory, simulate
from .._validation import (as_tensor, check_nonnegative, check_positive, check_positive_int, check_size,
                          default_dtype, reference_tensor)
from ..discretize import DiscreteMap
from ..inputs import Constant
from ..systems import RateRNN, System
from ..systems._rate import make_generator
from ._common import check_dynamics, check_states
from ._projection import pca_plane, principal_components, state_plane
from .accuracy import DiscretizationError, discretization_error
from .chaos import LyapunovSpectrum, lyapunov_spectrum
from .gradients import GradientPropagation, gradient_propagation
from .periodic import LimitCycle, NoCycleError, find_limit_cycle
from .stability import (Basins, ConnectivitySpectrum, FixedPoints, JacobianSpectra, basins, connectivity_spectrum,
                        find_fixed_points, fixed_point_starts, spectra_along)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class SurveySettings:
    """Every size the standard survey uses. ``SurveySettings.quick()`` gives the reduced ones of ``--quick``.

    Times are in the model's time units (a map counts iterations).

    Attributes:
        t_end: length of the trajectories (a map: iterations).
        batch: initial states drawn when none are given (``N(0, x0_scale^2)`` from the seed).
        output_spacing: spacing of a flow's saved time points, kept between ``min_points`` and ``max_points``.
        min_points, max_points: bounds on the number of saved time points.
        starts: fixed-point starts (the initial states are added to them): sampled on the trajectories and, a
            share ``start_design`` of them, from a space-filling design over the box they visit
            (:func:`~ctrnn.analysis.fixed_point_starts`).
        start_noise: standard deviation of the Gaussian noise added to each sampled start.
        start_design: see ``starts``. refine_rounds: further rounds of the search from the points found (along
            the saddles' unstable manifolds and between points; ``find_fixed_points(refine=...)``).
        lyapunov_k: exponents computed (at most the state dimension).
        lyapunov_states: trajectory end states the spectrum is averaged over.
        lyapunov_transient, lyapunov_total: the spectrum's transient and measured time.
        max_step: the largest RK4 step of the tangent dynamics; the step is also at most ``step_safety`` over
            the largest Jacobian eigenvalue modulus seen on the trajectories (well inside RK4's stability region).
        step_safety: see ``max_step``.
        cycle_max_dim: limit cycles are searched for up to this state dimension.
        cycle_attempts: at most this many searches, from the fastest-moving trajectory ends.
        cycle_min_speed: trajectory ends slower than this are taken to sit on a fixed point.
        cycle_transient, cycle_search: the limit-cycle search's transient and the cap on its search (it finds
            the period itself; see :func:`~ctrnn.find_limit_cycle`).
        cycle_tol: Newton shooting tolerance of the limit-cycle search.
        basins_resolution: grid points per axis of the basins for n > 2; ``basins_resolution_2d`` for n = 2.
        basins_t_end: how long each grid start runs before it is labelled.
        basins_tol, basins_tol_cycle: distance within which an end state belongs to a fixed point, or to a cycle
            (which is known at sampled points only, so its tolerance covers half their spacing).
        spectra_states: states along the first trajectory whose Jacobian spectra are computed.
        gradient_states, gradient_horizon, gradient_transient: gradient propagation from this many trajectory
            ends, up to this lag, after this transient.
        discretization_states: initial states of the discretization-error study.
        discretization_steps: the study's steps as multiples of the tangent step (largest first).
        discretization_span: the study's span as a multiple of its largest step.
    """

    t_end: float = 100.0
    batch: int = 8
    output_spacing: float = 0.05
    min_points: int = 50
    max_points: int = 4000
    starts: int = 256
    start_noise: float = 0.1
    start_design: float = 0.5
    refine_rounds: int = 2
    lyapunov_k: int = 10
    lyapunov_states: int = 4
    lyapunov_transient: float = 20.0
    lyapunov_total: float = 200.0
    max_step: float = 0.05
    step_safety: float = 0.5
    cycle_max_dim: int = 20
    cycle_attempts: int = 3
    cycle_min_speed: float = 1e-3
    cycle_transient: float = 0.0
    cycle_search: float = 5000.0
    cycle_tol: float = 1e-8
    basins_resolution: int = 40
    basins_resolution_2d: int = 60
    basins_t_end: float = 60.0
    basins_tol: float = 1e-2
    basins_tol_cycle: float = 5e-2
    spectra_states: int = 60
    gradient_states: int = 2
    gradient_horizon: float = 40.0
    gradient_transient: float = 10.0
    discretization_states: int = 2
    discretization_steps: tuple[int, ...] = (8, 4, 2, 1)
    discretization_span: float = 40.0

    def __post_init__(self) -> None:
        """Every size checked at construction (``ValueError`` / ``TypeError`` naming the field)."""
        for f in dataclasses.fields(self):
            value, name = getattr(self, f.name), f"SurveySettings.{f.name}"
            if f.name in _COUNTS_FROM_ZERO:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be an int >= 0, got {value!r}")
            elif f.type in ("int", int):
                check_positive_int(value, name)
            elif f.name == "discretization_steps":
                if not value:
                    raise ValueError(f"{name} must hold at least one step multiple, got {value!r}")
                for v in value:
                    check_positive_int(v, name)
            elif f.name in _FROM_ZERO:
                check_nonnegative(value, name)
            else:
                check_positive(value, name)
        if self.start_design > 1:
            raise ValueError(f"SurveySettings.start_design is a share in [0, 1], got {self.start_design}")
        if self.min_points > self.max_points:
            raise ValueError(f"SurveySettings.min_points ({self.min_points}) must not exceed max_points "
                             f"({self.max_points})")

    @classmethod
    def quick(cls, **changes: Any) -> SurveySettings:
        """The reduced sizes of ``--quick`` (shorter runs, fewer starts, coarser grids), with ``changes`` applied."""
        reduced = dict(t_end=30.0, batch=4, starts=64, lyapunov_k=4, lyapunov_transient=5.0, lyapunov_total=20.0,
                       basins_resolution=20, basins_resolution_2d=20, basins_t_end=30.0, gradient_horizon=10.0,
                       gradient_transient=2.0, discretization_span=20.0, refine_rounds=1)
        return cls(**{**reduced, **changes})

    def replace(self, **changes: Any) -> SurveySettings:
        """A copy with ``changes``; unknown names raise ``TypeError`` naming them."""
        return dataclasses.replace(self, **changes)


#: settings that may be 0 (no refinement, no cycle search; no noise, no transient); the other ints are counts >= 1
#: and the other floats are > 0
_COUNTS_FROM_ZERO = frozenset({"refine_rounds", "cycle_attempts", "cycle_max_dim"})
_FROM_ZERO = frozenset({"start_noise", "start_design", "cycle_min_speed", "cycle_transient", "gradient_transient"})


@dataclass(frozen=True, eq=False, repr=False)
class Survey(Result):
    """What the standard survey found. Fields of analyses that did not apply are ``None`` (or empty), and
    ``notes`` says why.

    Attributes:
        description: the model in words; is_map: a map (time in iterations) or a flow; n: state dimension.
        settings: the :class:`SurveySettings` used.
        inputs: the constant input ``(m,)`` every analysis ran at, or ``None`` (zero input).
        trajectory: the trajectories (a map's iterates as a :class:`~ctrnn.Trajectory` over iterations).
        fixed_points: fixed and slow points from starts on and around the trajectories.
        step: the tangent dynamics' RK4 step (flows; a map steps once per iteration: 1).
        lyapunov: the spectrum of the ``lyapunov_k`` leading exponents, or ``None``.
        cycles: the distinct limit cycles the trajectories approach.
        attractors: name -> states ``(P, n)`` of each stable fixed point and stable cycle found.
        basins: their basins on the state plane (n = 2) or the trajectories' top-2 PCA plane, or ``None``.
        connectivity: a rate network's connectivity spectrum against the circular law, or ``None``.
        spectra: Jacobian eigenvalues at ``spectra_states`` states along the first trajectory.
        gradients: gradient propagation from the trajectory ends, or ``None``.
        discretization: each scheme's error against the continuous solution (flows), or ``None``.
        explained_variance: ``(min(n, 10),)`` share of the trajectories' variance on their leading principal
            components.
        notes: analysis name -> why it was not computed (or what limits it).
    """

    description: str
    is_map: bool
    n: int
    settings: SurveySettings
    inputs: torch.Tensor | None
    trajectory: Trajectory
    fixed_points: FixedPoints
    step: float
    lyapunov: LyapunovSpectrum | None
    cycles: list[LimitCycle]
    attractors: dict[str, torch.Tensor]
    basins: Basins | None
    connectivity: ConnectivitySpectrum | None
    spectra: JacobianSpectra
    gradients: GradientPropagation | None
    discretization: DiscretizationError | None
    explained_variance: torch.Tensor
    notes: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def chaotic(self) -> bool:
        """The largest Lyapunov exponent is positive by more than two standard errors (``ZERO_STDERRS``)."""
        return self.lyapunov is not None and self.lyapunov.chaotic

    def attractor_names(self) -> list[str]:
        """The attractors found, a chaotic one included (it has no finite set of states to list)."""
        return [*self.attractors, *(["a chaotic attractor"] if self.chaotic else [])]

    def summary(self) -> str:
        fp = self.fixed_points
        kinds = ", ".join(f"{fp.kinds.count(k)} {k}" for k in dict.fromkeys(fp.kinds)) or "none found"
        lines = [self.description, f"fixed points: {len(fp)} ({kinds}); slow points: {fp.slow_points.shape[0]}"]
        if self.lyapunov is not None:
            lines.append(self.lyapunov.summary())
        lines.append("limit cycles: " + (", ".join(f"period {c.period:.6g}" for c in self.cycles) or "none"))
        lines.append("attractors: " + (", ".join(self.attractor_names()) or "none found"))
        lines += [f"{name}: {why}" for name, why in self.notes.items()]
        return "\n".join(lines)

    def plot(self, *, title: str | None = None) -> Figure:
        """The overview: the fixed and slow points over the trajectories (the state plane for n <= 2, else the
        top two principal components) with their Jacobians' eigenvalues. Returns a matplotlib Figure."""
        return plot_result(self, title=title)


# the analyses in the order they run (the progress bar's stages)
SECTIONS = ("simulating trajectories", "finding fixed points", "Lyapunov spectrum", "limit cycles", "basins",
            "gradient propagation", "discretization error")


def survey(model: System | DiscreteMap, x0: Any = None, *, inputs: Any = None, seed: int = 0,
           settings: SurveySettings | None = None, x0_scale: float = 1.0,
           log: Callable[[str], None] | None = None, progress: bool = False) -> Survey:
    """Run the standard analysis of a flow or a map.

    Arguments:
        model: a :class:`~ctrnn.System` (flow) or :class:`~ctrnn.DiscreteMap` (map).
        x0: ``(B, n)`` or ``(n,)`` initial states (default: ``settings.batch`` states ``N(0, x0_scale^2)``
            drawn from ``seed``).
        inputs: a constant input ``(m,)`` at which everything is computed, or ``None`` (zero input).
        seed: seeds the initial states, the fixed-point starts and the tangent vectors (no global RNG state).
        settings: the sizes (default :class:`SurveySettings`; ``SurveySettings.quick()`` for a fast look).
        log: called with one line as each analysis starts.
        progress: show a progress bar of the analyses, with each analysis's own bar under it (also shown
            inside :func:`~ctrnn.show_progress`).

    Returns:
        :class:`Survey`, computed in the model's precision (a model without tensors: that of ``x0``, float64
        by default).

    Raises:
        TypeError: ``model`` is neither a flow nor a map. ValueError: states or inputs of the wrong shape.
        DivergenceError: the trajectories themselves blow up (the later analyses' failures become notes).
    """
    is_map = check_dynamics(model, "survey")
    settings = settings if settings is not None else SurveySettings()
    if not isinstance(settings, SurveySettings):
        raise TypeError(f"settings must be a ctrnn.SurveySettings, got {type(settings).__name__}")
    check_positive(settings.t_end, "settings.t_end")
    ref = reference_tensor(model)
    given = x0.dtype if isinstance(x0, torch.Tensor) and x0.is_floating_point() else torch.float64
    # tensors the analyses make without a dtype follow the model's precision, never a float32 default
    with default_dtype(ref.real.dtype if ref is not None else given), \
            ProgressBar("survey", len(SECTIONS), unit="analyses", enabled=progress) as bar:
        def say(line: str) -> None:
            if log is not None:
                log(line)
            bar.stage(line, SECTIONS.index(line))

        return _survey(model, is_map, x0, inputs, seed, settings, x0_scale, say)


def _survey(model: Any, is_map: bool, x0: Any, inputs: Any, seed: int, s: SurveySettings, x0_scale: float,
            say: Callable[[str], None]) -> Survey:
    n = model.state_dim
    ref = reference_tensor(model)
    dtype = torch.get_default_dtype()
    device = ref.device if ref is not None else torch.device("cpu")
    if x0 is None:
        gen, _ = make_generator(seed)
        check_size(s.batch * n, f"the initial states (settings.batch = {s.batch} x n = {n})", "lower settings.batch")
        x0 = x0_scale * torch.randn(s.batch, n, generator=gen, dtype=torch.float64)
    # shape, empty batch, complex states of a real model, dtype, finiteness; then the survey's precision
    x0 = check_states(model, x0, "x0").to(device=device, dtype=dtype).reshape(-1, n)
    u = None if inputs is None else as_tensor(inputs, "inputs").to(device=device, dtype=dtype)
    if u is not None and (u.ndim != 1 or u.shape[0] != model.input_dim):
        raise ValueError(f"inputs must be one constant input of shape ({model.input_dim},), got {tuple(u.shape)}")
    notes: dict[str, str] = {}

    say("simulating trajectories")
    traj = _trajectories(model, is_map, x0, u, s)

    say("finding fixed points")
    # not from the trajectories alone: they settle on attractors and miss the saddles between them
    starts = fixed_point_starts(model, traj.x, s.starts, noise=s.start_noise, seed=seed, design_share=s.start_design)
    fp = find_fixed_points(model, torch.cat([starts, x0]), inputs=u, refine=s.refine_rounds)

    step = 1.0 if is_map else _tangent_step(model, traj, u, s)
    say("Lyapunov spectrum")
    les = None
    k = min(n, s.lyapunov_k)
    try:
        options = {} if is_map else {"dt": step}
        les = lyapunov_spectrum(model, traj.x[-1, :s.lyapunov_states], k=k, inputs=u, seed=seed,
                                t_transient=s.lyapunov_transient, t_total=s.lyapunov_total, **options)
    except (DivergenceError, ValueError) as error:
        notes["lyapunov"] = _first_line(error)
    if les is not None and les.kaplan_yorke_is_bound:
        notes["kaplan-yorke"] = f"a lower bound (≥ {k}): {k} of {n} exponents computed, every partial sum non-negative"

    say("limit cycles")
    cycles, why = ([], "a map's periodic orbits are fixed points of its iterates") if is_map else \
        _limit_cycles(model, traj, u, les, s)
    if why:
        notes["limit cycles"] = why
    attractors = {f"fixed point #{i}": fp.points[i:i + 1] for i in range(len(fp)) if bool(fp.stable[i])}
    attractors |= {f"cycle {j + 1}": c.orbit for j, c in enumerate(cycles) if c.stable}

    say("basins")
    basins_result = None
    if is_map:
        notes["basins"] = "computed for flows only"
    elif n < 2:
        notes["basins"] = "need a state of dimension 2 or more"
    elif len(attractors) < (1 if n == 2 else 2):
        notes["basins"] = f"{len(attractors)} attractor(s) with a finite set of states: nothing to separate"
    else:
        # the grid covers every fixed point and cycle found, not only where the trajectories went
        cover = [fp.points, *(c.orbit for c in cycles)]
        plane = state_plane(traj.x, include=cover) if n == 2 else pca_plane(traj.x, include=cover)
        res = s.basins_resolution_2d if n == 2 else s.basins_resolution
        try:
            basins_result = basins(model, attractors, **plane, resolution=(res, res), inputs=u, t_end=s.basins_t_end,
                                   tol=s.basins_tol_cycle if cycles else s.basins_tol)
        except (DivergenceError, ValueError) as error:
            notes["basins"] = _first_line(error)

    target = model.source_system if is_map else model  # a rate network's map has its connectivity too
    connectivity = connectivity_spectrum(target) if isinstance(target, RateRNN) else None
    with torch.no_grad():
        along = traj.x[::max(1, traj.x.shape[0] // s.spectra_states), 0]
        spectra = spectra_along(model, along, inputs=u)

    say("gradient propagation")
    gp = None
    try:
        options = {} if is_map else {"dt": step}
        gp = gradient_propagation(model, traj.x[-1, :s.gradient_states], horizon=s.gradient_horizon, inputs=u,
                                  t_transient=s.gradient_transient, **options)
    except (DivergenceError, ValueError) as error:
        notes["gradients"] = _first_line(error)

    say("discretization error")
    err = None
    if is_map:
        notes["discretization"] = "a map is already discrete"
    else:
        err, why = _discretization(model, x0[:s.discretization_states], step, u, s)
        if why:
            notes["discretization"] = why

    ratio = principal_components(traj.x.detach().cpu(), min(n, 10))[2]
    return Survey(description=model.describe(), is_map=is_map, n=n, settings=s, inputs=u, trajectory=traj,
                  fixed_points=fp, step=step, lyapunov=les, cycles=cycles, attractors=attractors, basins=basins_result,
                  connectivity=connectivity, spectra=spectra, gradients=gp, discretization=err,
                  explained_variance=ratio, notes=notes, metadata={"seed": seed})


def _trajectories(model: Any, is_map: bool, x0: torch.Tensor, u: torch.Tensor | None, s: SurveySettings) -> Trajectory:
    """A flow's solution on a grid of ``t_end / output_spacing`` points (clamped), or a map's iterates as a
    trajectory over iterations ``0 .. t_end``."""
    if not is_map:
        points = max(s.min_points, min(s.max_points, int(s.t_end / s.output_spacing)))
        with torch.no_grad():
            return simulate(model, x0, torch.linspace(0.0, s.t_end, points + 1, dtype=torch.float64),
                            inputs=None if u is None else Constant(u), rtol=1e-7, atol=1e-9)
    steps = max(1, round(s.t_end))
    with torch.no_grad():
        drive = None if u is None else u.expand(steps, *x0.shape[:-1], -1)
        x = torch.cat([x0[None], model.rollout(x0, drive, steps=steps if drive is None else None)])
    return Trajectory(t=torch.arange(steps + 1, dtype=torch.float64), x=x,
                      u=None if u is None else u.expand(steps + 1, *x0.shape[:-1], -1),
                      stats=SolverStats(nfe=steps, n_accepted=None, n_rejected=None, n_steps=steps, wall_time=0.0),
                      method="iterate", rtol=None, atol=None, step_size=1.0,
                      metadata={"system": {"description": model.describe()}, "time_unit": "iterations"})


def _tangent_step(model: System, traj: Trajectory, u: torch.Tensor | None, s: SurveySettings) -> float:
    """An RK4 step for the tangent dynamics, rounded to one significant digit so time spans divide evenly."""
    samples = traj.x[:: max(1, traj.x.shape[0] // 10)].reshape(-1, model.state_dim)[:64]
    with torch.no_grad():
        rho = float(torch.linalg.eigvals(model.jacobian(samples, u)).abs().max())
    return float(f"{min(s.max_step, s.step_safety / max(rho, 1e-12)):.1g}")


def _limit_cycles(model: System, traj: Trajectory, u: torch.Tensor | None, les: LyapunovSpectrum | None,
                  s: SurveySettings) -> tuple[list[LimitCycle], str]:
    """Distinct limit cycles the trajectories approach (searched from the fastest-moving ends), and a note when
    none is found or looked for."""
    if model.state_dim > s.cycle_max_dim:
        return [], f"not searched for n > {s.cycle_max_dim}"
    if les is not None and les.chaotic:
        return [], "not searched: the dynamics is chaotic"
    ends = traj.x[-1]
    with torch.no_grad():
        f = model(torch.zeros((), dtype=ends.dtype, device=ends.device), ends, u)
        top = f.abs().amax(-1, keepdim=True).clamp_min(torch.finfo(f.real.dtype).tiny)
        speeds = (f / top).norm(dim=-1) * top[..., 0]  # scaled: the squares of a huge (finite) speed overflow
    if not bool(torch.isfinite(speeds).all()):
        return [], "not searched: the trajectory ends move at a non-finite speed (the state grows without bound)"
    cycles: list[LimitCycle] = []
    failures: list[str] = []
    attempts = 0
    for i in speeds.argsort(descending=True).tolist():
        if float(speeds[i]) < s.cycle_min_speed or attempts >= s.cycle_attempts:
            break
        end = ends[i:i + 1].to(torch.float64)
        if any(float(torch.cdist(end, c.orbit.to(torch.float64)).min()) < 0.1 * _diameter(c.orbit) for c in cycles):
            continue  # on a cycle already found
        attempts += 1
        try:
            cycles.append(find_limit_cycle(model, ends[i], inputs=u, t_transient=s.cycle_transient,
                                           t_search=s.cycle_search, rtol=1e-10, atol=1e-10, tol=s.cycle_tol))
        except (NoCycleError, DivergenceError, ValueError) as error:
            failures.append(_first_line(error))
            continue
    if cycles:
        return cycles, ""
    if not failures:  # every end was slower than cycle_min_speed
        return [], "none found: every trajectory settles on a fixed point"
    return [], f"none found from the {attempts} fastest-moving trajectory end(s): {failures[0]}"


def _diameter(points: torch.Tensor) -> float:
    p = points.detach().double()
    return float((p.amax(0) - p.amin(0)).norm())


def _discretization(model: System, x0: torch.Tensor, step: float, u: torch.Tensor | None,
                    s: SurveySettings) -> tuple[DiscretizationError | None, str]:
    """Euler, RK4 (and exponential Euler where the model has a leak) against the continuous solution; a
    (scheme, step) whose rollout diverges is recorded as such by the study and the rest measured, so only a
    diverging reference (or bad input) leaves a note instead of a result."""
    schemes = ["euler", "rk4"] + (["exp_euler"] if model.leak(x0, u) is not None else [])
    dts = [m * step for m in s.discretization_steps]
    span = s.discretization_span * dts[0]
    try:
        err = discretization_error(model, x0, span, schemes=schemes, dts=dts, inputs=u)
    except (DivergenceError, ValueError) as error:
        return None, _first_line(error)
    return err, ""  # the diverged steps are in err.diverged / err.notes, which the report prints


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
