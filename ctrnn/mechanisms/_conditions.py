"""The fixed points a trained network uses, per held input condition of its task, with their readouts, the
unstable manifolds of their saddles and their slow modes (Sussillo & Barak 2013; Mante et al. 2013)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import torch

from .._progress import ProgressBar
from .._results import Result, plot_result
from ..analysis import (FixedPoints, LimitCycle, NoCycleError, find_fixed_points, find_limit_cycle, sample_starts)
from ..analysis._common import residual
from ..analysis.stability import SlowModes, UnstableManifolds, slow_manifold, slow_modes, unstable_manifolds
from ..discretize import DiscreteMap, discretize
from ..systems._rate import make_generator
from ..tasks import check_task
from ..training import TaskMap, TaskModel, TrainingRun, task_trajectories, trial_generator

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: what :func:`task_fixed_points` analyses: the trained flow itself, or the map it was trained through
DYNAMICS = ("flow", "map")


@dataclass(frozen=True, eq=False, repr=False)
class TaskFixedPoints(Result):
    """A trained network's fixed points per held input condition of its task, and what they do.

    Attributes:
        task: the task's name.
        conditions: the condition names (``task.conditions()``'s keys, in order).
        inputs: ``(C, m)`` the input held in each condition.
        fixed_points: per condition, the :class:`~ctrnn.FixedPoints` found at its input.
        readouts: per condition, ``(K_c, p)`` the network's output at each fixed point.
        slow_readouts: per condition, ``(S_c, p)`` the output at each slow point.
        manifolds: per condition, the :class:`~ctrnn.analysis.stability.UnstableManifolds` of its unstable points.
        slow: per condition, the :class:`~ctrnn.analysis.stability.SlowModes` of its fixed and slow points.
        cycles: the limit cycles found (for conditions whose trials do not settle on a fixed point).
        cycle_conditions: the condition index of each cycle.
        states: ``(T, B, n)`` the task trajectories the starts were drawn from.
        membership: ``(C, B)`` which trials belong to each condition (their input equals it at some step).
        is_map: whether the dynamics analysed is a map.
    """

    task: str
    conditions: list[str]
    inputs: torch.Tensor
    fixed_points: list[FixedPoints]
    readouts: list[torch.Tensor]
    slow_readouts: list[torch.Tensor]
    manifolds: list[UnstableManifolds]
    slow: list[SlowModes]
    cycles: list[LimitCycle]
    cycle_conditions: list[int]
    states: torch.Tensor
    membership: torch.Tensor
    is_map: bool
    metadata: dict[str, Any] = field(default_factory=dict)

    def index(self, condition: str | int) -> int:
        """The index of a condition given by name or index.

        Raises:
            ValueError: a condition this result does not have (the ones it has are named).
        """
        if isinstance(condition, int) and not isinstance(condition, bool) and 0 <= condition < len(self.conditions):
            return condition
        if isinstance(condition, str) and condition in self.conditions:
            return self.conditions.index(condition)
        raise ValueError(f"no condition {condition!r}; choose one of: {', '.join(self.conditions)}")

    def stable_readouts(self, condition: str | int = 0) -> torch.Tensor:
        """``(k, p)`` the outputs at the stable fixed points of a condition."""
        i = self.index(condition)
        return self.readouts[i][self.fixed_points[i].stable.to(self.readouts[i].device)]

    def counts(self, condition: str | int = 0) -> dict[str, int]:
        """The number of fixed points of each kind in a condition (``saddle (1 unstable)`` etc.), and of slow
        points under ``"slow point"``."""
        fps = self.fixed_points[self.index(condition)]
        out: dict[str, int] = {}
        for kind in fps.kinds:
            out[kind] = out.get(kind, 0) + 1
        if fps.slow_points.shape[0]:
            out["slow point"] = int(fps.slow_points.shape[0])
        return out

    def summary(self) -> str:
        lines = [f"{self.task}: fixed points of the trained {'map' if self.is_map else 'flow'} in "
                 f"{len(self.conditions)} condition(s)"]
        for i, name in enumerate(self.conditions):
            fps = self.fixed_points[i]
            kinds = ", ".join(f"{v} {k}" for k, v in sorted(self.counts(i).items()))
            lines.append(f"  {name}: {int(fps.stable.sum())} stable of {len(fps)} fixed point(s) ({kinds or 'none'})")
            graph = self.manifolds[i].connections()
            if graph:
                joined = sum(1 for ends in graph.values() if len(set(ends)) == 2 and min(ends) >= 0)
                lines.append(f"    {joined} of {len(graph)} saddle(s) with one unstable direction join two stable "
                             "points")
        for c, cycle in zip(self.cycle_conditions, self.cycles):
            lines.append(f"  {self.conditions[c]}: a {'stable' if cycle.stable else 'unstable'} limit cycle of "
                         f"period {cycle.period:.6g}")
        return "\n".join(lines)

    def plot(self, *, condition: str | int | None = None, title: str | None = None) -> Figure:
        """Each condition's (or one ``condition``'s) task trajectories in their top two principal components, its
        fixed points by kind, the unstable manifolds of its saddles and its limit cycles. Returns a Figure."""
        return plot_result(self, condition=condition, title=title)


def task_fixed_points(model: TaskModel | TaskMap | TrainingRun, task: Any, *,
                      conditions: Sequence[str] | None = None, trials: int = 128, starts: int = 512,
                      noise: float = 0.0, refine: int = 1, dynamics: str = "flow", scheme: str | None = None,
                      manifolds: bool = True, cycles: bool | None = None, max_iter: int = 200,
                      slow_tol: float = 1e-3, seed: int = 0, progress: bool = False) -> TaskFixedPoints:
    """Find a trained network's fixed and slow points in each held input condition of its task.

    For each condition (``task.conditions()``: the flip-flop's zero input, each frequency's input level of the sine
    generator, each context of context integration), draws ``starts`` states from the network's own trajectories
    on ``trials`` task trials that belong to the condition (whose input equals the condition's at some step) plus
    Gaussian ``noise`` (Sussillo & Barak 2013), runs :func:`~ctrnn.find_fixed_points` at the condition's input
    with ``refine`` refinement rounds, and reports each point's readout, the unstable manifolds of its unstable
    points (:func:`~ctrnn.analysis.stability.unstable_manifolds`) and the slow modes of all of them
    (:func:`~ctrnn.analysis.stability.slow_modes`). Where the trials do not settle on a stable fixed point, the
    limit cycle they approach is found too (flows only).

    Arguments:
        model: a trained :class:`~ctrnn.TaskModel` or :class:`~ctrnn.TaskMap`, or the :class:`~ctrnn.TrainingRun`
            that holds one (its trials then run the way it was trained).
        task: the task it was trained on (any object of the task protocol; ``conditions()`` optional: without it,
            the zero input is the one condition).
        conditions: the names of the conditions to analyse (default: all of the task's).
        trials: task trials run to draw starts from (drawn from the run's ``"analysis"`` stream of ``seed``).
        starts: starts per condition. noise: the standard deviation of the noise added to them (state units).
        refine: refinement rounds of the search (see :func:`~ctrnn.find_fixed_points`).
        dynamics: ``"flow"`` (the trained model as a flow; a :class:`~ctrnn.TaskMap` is always a map) or ``"map"``
            (the map it was trained through: ``discretize(model, task.dt, scheme)``).
        scheme: the discretization of ``dynamics="map"`` (default: the run's, else ``euler``).
        manifolds: follow the unstable manifolds. cycles: look for limit cycles (default: where trials do not
            settle; ``False``: never).
        max_iter, slow_tol: as in :func:`~ctrnn.find_fixed_points`.
        seed: the trials, the starts and their noise.
        progress: show progress (as inside :func:`~ctrnn.show_progress`).

    Returns:
        :class:`TaskFixedPoints`.

    Raises:
        TypeError: a model without a readout (not a trained model), or a task without the task protocol.
        ValueError: a task whose input or output size differs from the model's (both named), a condition the task
            does not have (its conditions named), a condition no trial belongs to, or a bad setting (named).
    """
    run = model if isinstance(model, TrainingRun) else None
    net = run.model if run is not None else model
    check_task_model(net, task)
    name = getattr(task, "name", type(task).__name__)
    if dynamics not in DYNAMICS:
        raise ValueError(f"unknown dynamics {dynamics!r}; choose one of: {', '.join(DYNAMICS)}")
    held = _conditions(task)
    chosen = list(held) if conditions is None else list(conditions)
    unknown = [c for c in chosen if c not in held]
    if unknown:
        raise ValueError(f"the task {name} has no condition {unknown[0]!r}; choose from: {', '.join(held)}")
    if not chosen:
        raise ValueError("conditions is empty: name at least one, or leave it None for all of the task's")
    for what, value in (("trials", trials), ("starts", starts)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{what} must be an int >= 1, got {value!r}")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    settings = run.settings if run is not None else {}
    flow_or_map: Any = net
    if isinstance(net, TaskModel) and dynamics == "map":
        flow_or_map = discretize(net, float(task.dt), scheme=scheme or settings.get("scheme") or "euler")
    is_map = isinstance(flow_or_map, DiscreteMap)
    param = next(iter(net.parameters()))
    batch = task.sample(trials, trial_generator(seed, "analysis"))
    with torch.no_grad():
        if run is not None:
            states, _ = run.respond(batch)
        else:
            states, _ = task_trajectories(net, batch)
    states = states.detach()
    inputs = batch.inputs.to(param.dtype)
    gen, _ = make_generator(seed)
    out: dict[str, list[Any]] = {k: [] for k in ("fps", "readouts", "slow_readouts", "manifolds", "slow")}
    cycle_list: list[LimitCycle] = []
    cycle_of: list[int] = []
    members = []
    with ProgressBar("fixed points per condition", len(chosen), unit="conditions", enabled=progress) as bar:
        for c, cname in enumerate(chosen):
            u = held[cname].to(dtype=param.dtype, device=param.device)
            belongs = (inputs - u.cpu()).abs().amax(-1).le(1e-9 * (1 + float(u.abs().max()))).any(0)
            if not bool(belongs.any()):
                raise ValueError(f"no trial of {trials} belongs to the condition {cname!r} (none holds its input "
                                 f"{u.tolist()}): give more trials")
            members.append(belongs)
            visited = states[:, belongs.to(states.device)]
            x0 = sample_starts(visited, starts, noise=noise, seed=gen)
            search = dict(inputs=u, max_iter=max_iter, slow_tol=slow_tol, progress=progress)
            fps = find_fixed_points(flow_or_map, x0, refine=refine, **search)
            followed = unstable_manifolds(flow_or_map, fps if manifolds else _stable_only(fps), inputs=u,
                                          progress=progress)
            for _ in range(_ROUNDS):
                missed = _missed_ends(flow_or_map, followed, u)
                if missed.shape[0] == 0:
                    break
                # a branch that comes to rest away from every known stable point found one the search missed
                fps = _merge(fps, find_fixed_points(flow_or_map, torch.cat([fps.points, fps.slow_points.to(fps.points),
                                                                           missed]), refine=0, **search))
                followed = unstable_manifolds(flow_or_map, fps if manifolds else _stable_only(fps), inputs=u,
                                              progress=progress)
            with torch.no_grad():
                out["readouts"].append(net.output(fps.points).detach())
                out["slow_readouts"].append(net.output(fps.slow_points.to(fps.points)).detach())
            out["fps"].append(fps)
            out["manifolds"].append(followed)
            # the slow modes along the lines the saddles' manifolds trace between attractors, and at the points
            points = torch.cat([fps.points, fps.slow_points.to(fps.points), _along_manifolds(followed),
                                _along_slow_modes(flow_or_map, fps, visited, u, states.shape[0] * (
                                    1.0 if is_map else float(task.dt)))])
            out["slow"].append(slow_modes(flow_or_map, points, inputs=u))
            if not is_map and cycles is not False:
                cycle = _cycle(flow_or_map, fps, visited[-1], u, force=bool(cycles))
                if cycle is not None:
                    cycle_list.append(cycle)
                    cycle_of.append(c)
            bar.update(c + 1)
    return TaskFixedPoints(task=name, conditions=chosen, inputs=torch.stack([held[c] for c in chosen]).to(param.dtype),
                           fixed_points=out["fps"], readouts=out["readouts"], slow_readouts=out["slow_readouts"],
                           manifolds=out["manifolds"], slow=out["slow"], cycles=cycle_list, cycle_conditions=cycle_of,
                           states=states.cpu(), membership=torch.stack(members), is_map=is_map,
                           metadata={"system": flow_or_map.describe(), "trials": trials, "starts": starts,
                                     "noise": noise, "refine": refine, "seed": seed, "dynamics": dynamics})


def check_task_model(model: Any, task: Any) -> None:
    """Refuse a model that is not a trained one (a network with a readout), or a task it was not trained on.

    Arguments:
        model: the model to analyse. task: the task it should have been trained on.

    Returns:
        nothing.

    Raises:
        TypeError: not a :class:`~ctrnn.TaskModel` / :class:`~ctrnn.TaskMap`, or a task without the task protocol.
        ValueError: the model's and the task's input or output sizes differ (both named).
    """
    if not isinstance(model, (TaskModel, TaskMap)):
        raise TypeError(f"the task analysis needs a trained model with a readout (a TaskModel or TaskMap, as "
                        f"ctrnn.train returns and `ctrnn train` writes to model.safetensors), got "
                        f"{type(model).__name__}: train one first, or wrap a network and its readout in ctrnn.TaskModel")
    check_task(task)
    name = getattr(task, "name", type(task).__name__)
    for what, mine, theirs in (("inputs", model.input_dim, task.input_dim),
                               ("outputs", model.output_dim, task.output_dim)):
        if mine != theirs:
            raise ValueError(f"the model has {mine} {what} but the task {name} has {theirs}: give the task the "
                             "model was trained on, with its parameters")


def _conditions(task: Any) -> dict[str, torch.Tensor]:
    """The task's held conditions (``{"zero input": 0}`` for a task without ``conditions()``), checked."""
    found = task.conditions() if callable(getattr(task, "conditions", None)) else {
        "zero input": torch.zeros(task.input_dim, dtype=torch.float64)}
    if not isinstance(found, dict) or not found:
        raise ValueError(f"{type(task).__name__}.conditions() must return a non-empty dict of name -> (m,) input")
    checked = {}
    for key, value in found.items():
        u = torch.as_tensor(value, dtype=torch.float64).reshape(-1)
        if u.shape != (task.input_dim,) or not bool(torch.isfinite(u).all()):
            raise ValueError(f"{type(task).__name__}.conditions()[{key!r}] must be {task.input_dim} finite numbers, "
                             f"got {value!r}")
        checked[str(key)] = u
    return checked


#: the most times the search is re-run from where unstable manifolds came to rest
_ROUNDS = 2


def _missed_ends(system: Any, followed: UnstableManifolds, u: torch.Tensor) -> torch.Tensor:
    """``(k, n)`` the last states of branches that end on no known stable point yet no longer move."""
    last = followed.paths[-1][followed.ends < 0]
    if last.shape[0] == 0:
        return last
    with torch.no_grad():
        speed = residual(system, followed.is_map, last, u).abs().amax(-1)
    return last[speed <= 1e-6 * (1 + last.abs().amax(-1))]


#: states kept along each branch of a saddle's unstable manifold for the slow-mode analysis
_ALONG = 8


def _along_manifolds(followed: UnstableManifolds) -> torch.Tensor:
    """``(k, n)`` states spread evenly (in arc length) along every branch of a one-unstable-direction saddle that
    ends on a stable point: the approximate line or ring of slow states that joins its attractors (a line
    attractor's chain of fixed points, Mante et al. 2013)."""
    keep = [b for b in range(len(followed)) if int(followed.n_unstable[followed.origins[b]]) == 1
            and int(followed.ends[b]) >= 0]
    if not keep:
        return followed.points.new_zeros(0, followed.points.shape[-1])
    out = []
    for b in keep:
        path = followed.paths[:, b]
        arc = torch.cat([path.new_zeros(1).real, (path[1:] - path[:-1]).abs().norm(dim=-1).cumsum(0)])
        targets = torch.linspace(0, float(arc[-1]), _ALONG + 2, dtype=arc.dtype)[1:-1]  # not the two end points
        out.append(path[torch.searchsorted(arc.contiguous(), targets.contiguous()).clamp(max=path.shape[0] - 1)])
    return torch.cat(out)


def _along_slow_modes(system: Any, fps: FixedPoints, visited: torch.Tensor, u: torch.Tensor,
                      duration: float) -> torch.Tensor:
    """``(k, n)`` states along the slow manifold of each stable fixed point whose slow mode is real and outlasts
    the trial (``duration``: a map's in iterations), over the stretch of it the condition's trials ``(T, B, n)``
    span (their 2nd to 98th percentile along the mode): a line attractor's line of slow points (Mante et al.
    2013), which need not hold a second fixed point."""
    stable = [k for k in range(len(fps)) if bool(fps.stable[k])]
    if not stable:
        return fps.points.new_zeros(0, fps.points.shape[-1])
    modes = slow_modes(system, fps.points[stable], inputs=u)
    states = visited.reshape(-1, visited.shape[-1]).to(fps.points)
    out = []
    for k in range(len(modes)):
        if not float(modes.time_constants[k]) > duration or bool(modes.eigenvalues[k].imag != 0):
            continue
        x, left = modes.points[k], modes.left[k]
        along = (states - x) @ left  # the coordinate along r (unit length, l^T r = 1): state units
        # the follower goes forward along r with its largest component positive
        sign = float(torch.sign(modes.right[k][modes.right[k].abs().argmax()]))
        low, high = (sign * along).quantile(torch.tensor([0.02, 0.98], dtype=along.dtype)).tolist()
        line = slow_manifold(system, x, inputs=u, extent=(max(-low, 0.0), max(high, 0.0)), steps=_ALONG)
        keep = torch.ones(len(line), dtype=torch.bool)
        keep[line.metadata["start"]] = False  # the fixed point itself is already among the points
        out.append(line.points[keep])
    return torch.cat(out) if out else fps.points.new_zeros(0, fps.points.shape[-1])


def _merge(first: FixedPoints, again: FixedPoints) -> FixedPoints:
    """The re-run search ``again`` (from ``first``'s points and new starts), counting ``first``'s starts too; every
    start of ``again`` is one the analysis made."""
    return dataclasses.replace(again, n_starts=first.n_starts + again.n_starts,
                               n_diverged=first.n_diverged + again.n_diverged,
                               n_converged=first.n_converged + again.n_converged,
                               n_refinement_starts=first.n_refinement_starts + again.n_starts)  # all made here


def _stable_only(fps: FixedPoints) -> FixedPoints:
    """``fps`` as if no point were unstable (no branches are followed)."""
    return dataclasses.replace(fps, n_unstable=torch.zeros_like(fps.n_unstable))


def _cycle(system: Any, fps: FixedPoints, ends: torch.Tensor, u: torch.Tensor, *, force: bool) -> LimitCycle | None:
    """The limit cycle the trials' last states ``(B, n)`` approach, when they settle on no stable fixed point
    (always tried with ``force``); ``None`` when there is none."""
    stable = fps.points[fps.stable]
    if not force and stable.shape[0]:
        near = (ends[:, None].to(stable) - stable[None]).abs().amax(-1).amin(-1)
        # most trials end on a stable point (a few may be on their way after a late event): nothing periodic
        if float((near <= 1e-2 * (1 + stable.abs().amax())).double().mean()) >= 0.5:
            return None
    try:
        # shooting at rtol 1e-8 (tol 1e-6 stays above its error): periods to about 1e-7 relative, at half the
        # cost of find_limit_cycle's 1e-10 on a network's n + n^2 monodromy system
        return find_limit_cycle(system, ends[0].to(fps.points), inputs=u, rtol=1e-8, atol=1e-8, tol=1e-6)
    except NoCycleError:
        return None
