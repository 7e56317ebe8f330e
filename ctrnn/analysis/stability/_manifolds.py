"""Unstable manifolds of saddles: where a trajectory leaving a saddle along each of its unstable directions ends,
so which stable states the saddle separates (Sussillo & Barak 2013, figure 3)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._progress import ProgressBar
from ..._results import Result, plot_result
from ..._simulate import simulate
from ...inputs import Constant
from ...discretize._base import DiscreteMap
from ...systems._base import System
from .._common import check_dynamics, check_input, residual
from ._fixed_points import FixedPoints

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True, eq=False, repr=False)
class UnstableManifolds(Result):
    """Branches of the unstable manifolds of a flow's or a map's unstable fixed points, followed to where they end.

    One branch leaves an unstable point ``x*`` from ``x* + sign * distance * v`` along one of its unstable
    directions ``v`` (a real eigenvector, or the real or imaginary part of a complex pair's) and follows the
    dynamics; it *ends* on a stable fixed point when its last state lies within ``end_tol (1 + |p|)`` of it.

    Attributes:
        points: ``(K, n)`` the fixed points (those of the :class:`FixedPoints` analysed).
        stable: ``(K,)`` which of them are stable. kinds: their kinds. n_unstable: ``(K,)`` their unstable
            directions.
        origins: ``(M,)`` int64, the index of the point each branch leaves.
        directions: ``(M,)`` int64, the index of the eigenvalue whose eigenvector it leaves along.
        signs: ``(M,)`` ``+1`` or ``-1``: which way along it.
        t: ``(T,)`` the times of the samples along each branch (model time units; iterations for a map).
        paths: ``(T, M, n)`` states along each branch, ``paths[0]`` the displaced start.
        ends: ``(M,)`` int64, the stable point each branch ends on (its index in ``points``), ``-1`` for none (a
            branch that runs away, reaches a limit cycle, a slow region or another unstable set).
        end_distances: ``(M,)`` the distance (max norm) from each branch's last state to the nearest stable point.
        is_map: whether the dynamics is a map.
    """

    points: torch.Tensor
    stable: torch.Tensor
    kinds: list[str]
    n_unstable: torch.Tensor
    origins: torch.Tensor
    directions: torch.Tensor
    signs: torch.Tensor
    t: torch.Tensor
    paths: torch.Tensor
    ends: torch.Tensor
    end_distances: torch.Tensor
    is_map: bool
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.origins.shape[0])

    def connections(self, *, unstable: int | None = 1) -> dict[int, tuple[int, ...]]:
        """The saddle graph: for each point with ``unstable`` unstable directions (``None``: any number), the
        sorted stable points its branches end on (``-1`` for a branch that ends on none).

        Returns:
            ``{point index: (end, end, ...)}``, one end per branch, sorted.
        """
        out: dict[int, list[int]] = {}
        for origin, end in zip(self.origins.tolist(), self.ends.tolist()):
            if unstable is None or int(self.n_unstable[origin]) == unstable:
                out.setdefault(origin, []).append(end)
        return {k: tuple(sorted(v)) for k, v in sorted(out.items())}

    def summary(self) -> str:
        graph = self.connections(unstable=None)
        lines = [f"{len(self)} branch(es) of the unstable manifolds of {len(graph)} unstable point(s); "
                 f"{int((self.ends >= 0).sum())} end on a stable point"]
        for origin, ends in graph.items():
            named = ", ".join(f"#{e}" if e >= 0 else "none" for e in ends)
            lines.append(f"  #{origin} ({self.kinds[origin]}) -> {named}")
        return "\n".join(lines)

    def plot(self, *, title: str | None = None) -> Figure:
        """The branches and the points in the plane of the points' two leading principal components. Returns a
        matplotlib Figure."""
        return plot_result(self, title=title)


def unstable_manifolds(sys_or_map: System | DiscreteMap, fixed_points: FixedPoints, *, inputs: Any = None,
                       distance: float = 1e-3, end_tol: float = 1e-2, max_directions: int = 2,
                       horizon: float | None = None, extensions: int = 4, samples: int = 100,
                       rtol: float = 1e-6, atol: float = 1e-8, progress: bool = False) -> UnstableManifolds:
    """Follow the unstable manifolds of every unstable point of ``fixed_points`` and say where each branch ends.

    From each unstable point ``x*`` and each of its leading ``max_directions`` unstable directions ``v`` (unit
    length; a complex pair gives its real and imaginary parts, a plane), two branches start at ``x* +- distance
    (1 + |x*|) v`` and follow the dynamics: a flow with ``dopri5`` (``rtol``, ``atol``), a map by iterating it.
    They run for ``horizon`` (default: ``log(1 / distance) + 20`` over the slowest escape rate followed, the time
    to leave the point and settle), then again, up to ``extensions`` more times, while some branch is still
    slowing down and near no stable point (one that keeps its speed over a leg circles a cycle or wanders a
    chaotic set; one that has stopped sits on a slow region). A branch ends on the stable point its last state lies
    within ``end_tol (1 + |p|)`` of (max norms).

    Arguments:
        sys_or_map: the flow or map whose points these are.
        fixed_points: the result of :func:`find_fixed_points` on it (at the same ``inputs``).
        inputs: the constant input ``(m,)`` the points were found at (default: the one they record).
        distance: the start's offset from the point, relative to ``1 + |x*|``.
        end_tol: how near a stable point a branch must end, relative to ``1 + |p|``.
        max_directions: unstable directions followed per point (the leading ones).
        horizon: the time (iterations for a map) of each leg. extensions: the most extra legs.
        samples: states kept per leg along each branch.
        rtol, atol: the flow's solver tolerances (where a branch ends needs no more: its last state is compared with
            the stable points to ``end_tol``).
        progress: show a progress bar (as inside :func:`~ctrnn.show_progress`).

    Returns:
        :class:`UnstableManifolds` (no branches when no point is unstable).

    Raises:
        TypeError: not a flow or a map, or ``fixed_points`` not a :class:`FixedPoints`.
        ValueError: ``fixed_points`` of another state size or kind of dynamics, or a setting out of range.
    """
    is_map = check_dynamics(sys_or_map, "unstable_manifolds")
    if not isinstance(fixed_points, FixedPoints):
        raise TypeError(f"fixed_points must be the FixedPoints of find_fixed_points, got {type(fixed_points).__name__}")
    if fixed_points.is_map != is_map:
        raise ValueError(f"fixed_points are those of a {'map' if fixed_points.is_map else 'flow'} but a "
                         f"{'map' if is_map else 'flow'} was given: pass the dynamics they were found for")
    if fixed_points.points.shape[-1] != sys_or_map.state_dim:
        raise ValueError(f"fixed_points have states of size {fixed_points.points.shape[-1]}, the model "
                         f"{sys_or_map.state_dim}")
    for name, value, low in (("distance", distance, 0.0), ("end_tol", end_tol, 0.0)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > low):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    for name, value, low in (("max_directions", max_directions, 1), ("extensions", extensions, 0),
                             ("samples", samples, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    points = fixed_points.points.detach()
    u = check_input(sys_or_map, fixed_points.metadata.get("inputs") if inputs is None else inputs, points)
    starts, origins, directions, signs, rates = _branch_starts(fixed_points, distance, max_directions)
    n = points.shape[-1]
    stable_idx = fixed_points.stable.nonzero().flatten()
    base = dict(points=points, stable=fixed_points.stable, kinds=list(fixed_points.kinds),
                n_unstable=fixed_points.n_unstable, is_map=is_map,
                metadata={"inputs": None if u is None else u.tolist(), "system": sys_or_map.describe(),
                          "distance": distance, "end_tol": end_tol})
    if starts.shape[0] == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return UnstableManifolds(origins=empty, directions=empty, signs=empty.clone(),
                                 t=torch.zeros(1, dtype=points.real.dtype), paths=points.new_zeros(1, 0, n),
                                 ends=empty.clone(), end_distances=points.real.new_zeros(0), **base)
    if horizon is None:
        slowest = max(min(rates), 1e-6)
        horizon = (math.log(1 / distance) + 20.0) / slowest
    elif not (math.isfinite(horizon) and horizon > 0):
        raise ValueError(f"horizon must be a finite number > 0, got {horizon!r}")
    stable_points = points[stable_idx]
    legs, times, x, t0 = [starts[None]], [torch.zeros(1, dtype=points.real.dtype)], starts, 0.0
    previous = torch.zeros(starts.shape[0], dtype=points.real.dtype)
    with torch.no_grad(), ProgressBar("unstable manifolds", extensions + 1, unit="legs", enabled=progress) as bar:
        for leg in range(extensions + 1):
            t_leg, path = _leg(sys_or_map, is_map, x, u, horizon, samples, rtol, atol)
            legs.append(path)
            times.append(t0 + t_leg)
            t0, x = t0 + float(t_leg[-1]), path[-1]
            bar.update(leg + 1)
            settled = _ends(x, stable_points, stable_idx, end_tol)[0] >= 0
            # a branch far from every stable point that no longer moves sits on a slow region: it is done too; so is
            # one that has not slowed down over a whole leg (it circles a limit cycle or wanders a chaotic set)
            speed = residual(sys_or_map, is_map, x, u).abs().amax(-1).cpu()
            still = speed <= end_tol * 1e-3 * (1 + x.abs().amax(-1))
            moving = speed >= 0.5 * previous if leg else torch.zeros_like(still)
            previous = speed
            if bool((settled | still | moving | ~torch.isfinite(x).all(-1)).all()):
                break
    paths = torch.cat(legs)
    ends, dist = _ends(paths[-1], stable_points, stable_idx, end_tol)
    return UnstableManifolds(origins=origins, directions=directions, signs=signs, t=torch.cat(times), paths=paths,
                             ends=ends, end_distances=dist, **base)


def _branch_starts(fps: FixedPoints, distance: float,
                   max_directions: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[float]]:
    """The displaced starts ``(M, n)`` of every branch, with their origin, eigen-index, sign and escape rate."""
    points = fps.points.detach()
    starts, origins, directions, signs, rates = [], [], [], [], []
    for i in fps.n_unstable.nonzero().flatten().tolist():
        lam, vecs = fps.eigenvalues[i], fps.eigenvectors[i]
        taken, j = 0, 0
        while taken < max_directions and j < int(fps.n_unstable[i]):
            v, ev = vecs[:, j], lam[j]
            rate = float(ev.abs().log()) if fps.is_map else float(ev.real)
            pair = bool(ev.imag.abs() > 0) and not points.is_complex()
            parts = (v.real, v.imag) if pair else (v.real if not points.is_complex() else v,)
            for w in parts:
                w = w.to(points.dtype)
                if float(w.abs().max()) == 0 or taken >= max_directions:
                    continue
                w = w / w.abs().norm()
                offset = distance * (1 + float(points[i].abs().max())) * w
                for s in (1, -1):
                    starts.append(points[i] + s * offset)
                    origins.append(i)
                    directions.append(j)
                    signs.append(s)
                    rates.append(rate)
                taken += 1
            j += 2 if pair else 1  # a complex pair's conjugate is the next eigenvalue: one plane for both
    if not starts:
        return points.new_zeros(0, points.shape[-1]), *(torch.zeros(0, dtype=torch.long),) * 3, []
    as_long = lambda v: torch.tensor(v, dtype=torch.long)  # noqa: E731
    return torch.stack(starts), as_long(origins), as_long(directions), as_long(signs), rates


def _leg(sys_or_map: Any, is_map: bool, x0: torch.Tensor, u: torch.Tensor | None, horizon: float, samples: int,
         rtol: float, atol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``samples`` times in ``(0, horizon]`` and the states there ``(samples, M, n)``, from ``x0``."""
    if is_map:
        steps = max(1, math.ceil(horizon))
        drive = None if u is None else u.expand(steps, *x0.shape[:-1], -1)
        path = sys_or_map.rollout(x0, drive, steps=None if drive is not None else steps)
        keep = torch.linspace(0, steps - 1, min(samples, steps), device=path.device).round().long()
        return (keep + 1).to(x0.real.dtype).cpu(), path[keep]
    t = torch.linspace(0, horizon, samples + 1, dtype=x0.real.dtype, device=x0.device)
    traj = simulate(sys_or_map, x0, t, inputs=None if u is None else Constant(u), rtol=rtol, atol=atol)
    return t[1:].cpu(), traj.x[1:]


def _ends(x: torch.Tensor, stable_points: torch.Tensor, stable_idx: torch.Tensor,
          end_tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """For each state of ``x`` ``(M, n)``: the index (among all points) of the stable point it lies within ``end_tol
    (1 + |p|)`` of, ``-1`` for none, and its distance to the nearest stable point (max norm)."""
    nearest, dist = _nearest(x, stable_points)
    if stable_points.shape[0] == 0:
        return torch.full((x.shape[0],), -1, dtype=torch.long), dist
    hit = dist <= end_tol * (1 + stable_points[nearest].abs().amax(-1).cpu())
    return torch.where(hit, stable_idx.cpu()[nearest], -1), dist


def _nearest(x: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each state of ``x`` ``(M, n)``: the index of the nearest of ``points`` ``(P, n)`` and the distance (max
    norm; infinite when there are no points)."""
    if points.shape[0] == 0:
        return torch.zeros(x.shape[0], dtype=torch.long), torch.full((x.shape[0],), math.inf, dtype=x.real.dtype)
    d = (x[:, None] - points[None].to(x.device)).abs().amax(-1)
    d = torch.where(torch.isfinite(d), d, math.inf)
    dist, idx = d.min(-1)
    return idx.cpu(), dist.cpu()
