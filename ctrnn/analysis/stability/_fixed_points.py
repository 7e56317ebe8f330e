"""Fixed and slow points (Sussillo & Barak 2013) of flows and maps, with their stability."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ...discretize._base import DiscreteMap
from ...systems._base import System
from .._common import check_dynamics, check_input, check_states, residual, residual_and_jacobian

if TYPE_CHECKING:
    from matplotlib.figure import Figure



@dataclass(frozen=True, eq=False, repr=False)
class FixedPoints(Result):
    """Fixed points (and slow points) of a flow ``f(x*, u) = 0`` or a map ``F(x*, u) = x*``.

    Attributes:
        points: ``(K, n)`` distinct fixed points.
        residuals: ``(K,)`` ``|f(x*)|`` (flow) or ``|F(x*) - x*|`` (map) after polishing.
        jacobians: ``(K, n, n)`` of ``f`` (flow) or ``F`` (map) at each point.
        eigenvalues: ``(K, n)`` complex, sorted by decreasing real part (flow) or modulus (map).
        eigenvectors: ``(K, n, n)`` complex, column ``j`` for eigenvalue ``j``.
        stable: ``(K,)``: all ``Re(lambda) < 0`` (flow) or all ``|lambda| < 1`` (map).
        kinds: per point: ``stable node``, ``stable focus``, ``unstable node``, ``unstable focus``,
            ``saddle (k unstable)`` or ``marginal``.
        n_unstable: ``(K,)`` count of unstable directions.
        slow_points: ``(S, n)`` local minima of ``q = |g|^2 / 2`` that are not fixed points.
        slow_speeds: ``(S,)`` ``|g|`` there.
        is_map: whether the dynamics is a map.
        n_starts, n_diverged: starts used, and starts that ran away or became non-finite (dropped).
        n_converged: starts that reached a fixed point (before merging duplicates).
    """

    points: torch.Tensor
    residuals: torch.Tensor
    jacobians: torch.Tensor
    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    stable: torch.Tensor
    kinds: list[str]
    n_unstable: torch.Tensor
    slow_points: torch.Tensor
    slow_speeds: torch.Tensor
    is_map: bool
    n_starts: int
    n_diverged: int
    n_converged: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.points.shape[0]

    def plot(self, *, trajectory: Any = None, title: str | None = None) -> Figure:
        """Fixed points by kind (over ``trajectory`` if given) and their eigenvalues against the stability
        boundary. Returns a matplotlib Figure."""
        return plot_result(self, trajectory=trajectory, title=title)

    def summary(self) -> str:
        lines = [f"{len(self)} fixed point(s), {self.slow_points.shape[0]} slow point(s) from {self.n_starts} starts"
                 f" ({self.n_converged} converged, {self.n_diverged} ran away)"]
        for i, kind in enumerate(self.kinds):
            lead = self.eigenvalues[i, 0]
            lines.append(f"  #{i}: {kind:22s} |g| = {float(self.residuals[i]):.1e}, leading eigenvalue "
                         f"{lead.real:+.6g}{lead.imag:+.6g}i")
        return "\n".join(lines)


def classify(eigenvalues: torch.Tensor, is_map: bool, tol: float = 1e-9) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Stability, unstable-direction count and kind from eigenvalues ``(K, n)``.

    A flow's eigenvalue is unstable if ``Re > tol``, stable if ``Re < -tol``; a map's if ``|lambda| > 1 + tol``
    or ``< 1 - tol``; anything in between is marginal.

    Arguments:
        eigenvalues: ``(K, n)`` complex, one row per point. is_map: the boundary is ``|lambda| = 1`` (map) or
            ``Re lambda = 0`` (flow). tol: the width of the marginal band.

    Returns:
        ``(stable (K,) bool, n_unstable (K,) int, kinds)``; a kind is ``stable node``, ``stable focus``,
        ``unstable node``, ``unstable focus``, ``saddle (k unstable)`` or ``marginal``.
    """
    margin = eigenvalues.abs() - 1 if is_map else eigenvalues.real
    unstable = margin > tol
    marginal = margin.abs() <= tol
    # oscillation: a complex pair (a map's negative real eigenvalues alternate, which is no rotation)
    rotating = eigenvalues.imag.abs() > tol
    kinds = []
    for k in range(eigenvalues.shape[0]):
        n_unst = int(unstable[k].sum())
        if bool(marginal[k].any()):
            kinds.append("marginal")
        elif n_unst == 0 or n_unst == eigenvalues.shape[1]:
            shape = "focus" if bool(rotating[k].any()) else "node"
            kinds.append(f"{'stable' if n_unst == 0 else 'unstable'} {shape}")
        else:
            kinds.append(f"saddle ({n_unst} unstable)")
    stable = ~(unstable | marginal).any(dim=-1)
    return stable, unstable.sum(dim=-1), kinds


def find_fixed_points(sys_or_map: System | DiscreteMap, x_init: torch.Tensor, *, inputs: Any = None,
                      max_iter: int = 200, tol: float | None = None, slow_tol: float = 1e-3,
                      unique_tol: float | None = None,
                      max_norm: float = 1e6, patience: int = 30) -> FixedPoints:
    """Find the fixed points reachable from many starts at once.

    Minimises ``q(x) = |g(x)|^2 / 2`` (``g = f`` for a flow, ``F - x`` for a map) from every start
    together by damped Gauss-Newton steps (Levenberg-Marquardt, one damping per start), which become
    Newton steps near a root and so polish it to machine precision; then drops starts that ran away,
    merges duplicates, and classifies each point by the eigenvalues of its Jacobian.

    Arguments:
        sys_or_map: a flow (:class:`~ctrnn.System`) or a map (:class:`~ctrnn.DiscreteMap`).
        x_init: ``(K, n)`` starts (e.g. from :func:`sample_starts`).
        inputs: constant input ``(m,)`` (fixed points as a function of input).
        max_iter: Levenberg-Marquardt iterations.
        tol: a point is fixed when ``|g| <= tol * (1 + |x|)``. Default from the state's dtype:
            ``max(1e-12, 256 eps)`` (``eps = torch.finfo(dtype).eps``): ``1e-12`` in float64, ``3.1e-5`` in
            float32, whose Newton iterates stall at a few eps times the size of ``f``'s terms.
        slow_tol: a non-fixed local minimum with ``|g| <= slow_tol`` is reported as a slow point.
        unique_tol: points closer than ``unique_tol * (1 + |x|)`` are the same point. Default
            ``max(1e-6, sqrt(eps))``: ``1e-6`` in float64, ``3.5e-4`` in float32 (two Newton roots of one
            point differ by about eps times the Jacobian's condition number).
        max_norm: starts whose iterate leaves ``|x| <= max_norm`` ran away.
        patience: a start whose ``q`` has not fallen by 0.1% in this many iterations stops (a slow
            point or a runaway); the others go on.

    Returns:
        :class:`FixedPoints` (possibly empty, never silently wrong: unconverged minima are slow points).

    Raises:
        TypeError: not a flow or a map. ValueError: starts of the wrong shape or non-finite.
    """
    is_map = check_dynamics(sys_or_map, "find_fixed_points")
    x = check_states(sys_or_map, x_init, "x_init").clone()
    if x.ndim != 2:
        raise ValueError(f"x_init must be (K, n) starts, got shape {tuple(x.shape)}")
    u = check_input(sys_or_map, inputs, x)
    if u is not None and u.ndim != 1:
        raise ValueError(f"inputs must be one constant input of shape (m,), got {tuple(u.shape)}; "
                         "call find_fixed_points once per input value")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    K, n = x.shape
    eps = torch.finfo(x.real.dtype).eps  # residuals below ~eps |f| are rounding: the tolerances follow the dtype
    tol = max(1e-12, 256 * eps) if tol is None else tol
    unique_tol = max(1e-6, math.sqrt(eps)) if unique_tol is None else unique_tol
    # nearly undamped at first: Gauss-Newton (= Newton for this square system) converges quadratically
    damping = torch.full((K,), 1e-8, dtype=x.real.dtype, device=x.device)
    stalled = torch.zeros(K, dtype=torch.long, device=x.device)
    with torch.no_grad():
        g = residual(sys_or_map, is_map, x, u).clone()  # owned: updated in place
        q = 0.5 * (g.abs() ** 2).sum(-1)
        for _ in range(max_iter):
            done = g.abs().amax(-1) <= tol * (1 + x.abs().amax(-1))
            # iterate only on starts still improving: converged and stalled ones cost nothing more
            active = (~done & (stalled < patience) & torch.isfinite(q)).nonzero().flatten()
            if active.numel() == 0:
                break
            xa, ga, qa, da = x[active], g[active], q[active], damping[active]
            # the Jacobian is computed for the active starts only, never stored for the whole batch
            _, Ja = residual_and_jacobian(sys_or_map, is_map, xa, u)
            step = torch.zeros_like(xa)
            newton = da <= 1e-6  # negligible damping: solve J dx = -g directly, without forming J^T J
            if bool(newton.any()):
                sol, info = torch.linalg.solve_ex(Ja[newton], -ga[newton][..., None])
                solved = (info == 0) & torch.isfinite(sol).all(dim=(-2, -1))
                step[newton] = torch.where(solved[:, None], sol[..., 0], 0.0)
                newton[newton.clone()] = solved  # singular Jacobians take the damped step instead
            lm = ~newton
            if bool(lm.any()):
                Jl = Ja if bool(lm.all()) else Ja[lm]  # no copy in the common all-damped case
                JtJ = Jl.mH @ Jl
                scale = torch.diagonal(JtJ, dim1=-2, dim2=-1).real.mean(-1).clamp_min(1e-30)
                JtJ.diagonal(dim1=-2, dim2=-1).add_((da[lm] * scale)[:, None])
                # (batched Cholesky measured no faster than LU here: both loop LAPACK per matrix)
                sol = torch.linalg.solve(JtJ, -(Jl.mH @ ga[lm][..., None]))
                step[lm] = sol[..., 0]
            trial = xa + step
            g_t = residual(sys_or_map, is_map, trial, u)
            q_t = 0.5 * (g_t.abs() ** 2).sum(-1)
            better = torch.isfinite(q_t) & (q_t < qa)
            x[active] = torch.where(better[:, None], trial, xa)
            g[active] = torch.where(better[:, None], g_t, ga)
            q[active] = torch.where(better, q_t, qa)
            # accepted: trust the quadratic model more (towards Newton); rejected: damp harder
            damping[active] = torch.where(better, da / 10, da * 10).clamp(1e-15, 1e15)
            stalled[active] = torch.where(q_t < 0.999 * qa, 0, stalled[active] + 1)
        finite = torch.isfinite(x).all(-1) & (x.abs().amax(-1) <= max_norm) & torch.isfinite(q)
        speed = g.abs().norm(dim=-1)
        size = 1 + x.abs().amax(-1)
        fixed = finite & (g.abs().amax(-1) <= tol * size)
        slow = finite & ~fixed & (speed <= slow_tol)
        points, res = _unique(x[fixed], speed[fixed], unique_tol)
        slow_points, slow_speeds = _unique(x[slow], speed[slow], unique_tol * 1e3)
        if points.shape[0]:
            jac = sys_or_map.jacobian(points, u).detach().clone()  # of f (flow) or F (map)
            evals, evecs = torch.linalg.eig(jac)
            key = evals.abs() if is_map else evals.real
            order = torch.argsort(key, dim=-1, descending=True)
            evals = torch.gather(evals, -1, order)
            evecs = torch.gather(evecs, -1, order[:, None, :].expand_as(evecs))
        else:  # nothing converged: empty results of the right shapes
            jac = torch.zeros(0, n, n, dtype=x.dtype, device=x.device)
            evals, evecs = torch.linalg.eig(jac)
        stable, n_unst, kinds = classify(evals, is_map, tol=max(1e-9, math.sqrt(tol)))
    return FixedPoints(points=points, residuals=res, jacobians=jac, eigenvalues=evals, eigenvectors=evecs,
                       stable=stable, kinds=kinds, n_unstable=n_unst, slow_points=slow_points, slow_speeds=slow_speeds,
                       is_map=is_map, n_starts=K, n_diverged=int((~finite).sum()), n_converged=int(fixed.sum()),
                       metadata={"inputs": None if u is None else u.tolist(), "system": sys_or_map.describe()})


def _unique(points: torch.Tensor, speeds: torch.Tensor, tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy de-duplication keeping, per cluster, the point with the smallest residual."""
    if points.shape[0] == 0:
        return points, speeds
    order = torch.argsort(speeds)
    points, speeds = points[order], speeds[order]
    keep: list[int] = []
    for i in range(points.shape[0]):
        p = points[i]
        if not keep or bool(((points[keep] - p).abs().amax(-1) > tol * (1 + p.abs().max())).all()):
            keep.append(i)
    return points[keep], speeds[keep]


def sample_starts(trajectory_states: torch.Tensor, k: int, *, noise: float = 0.0,
                  seed: int | torch.Generator | None = 0) -> torch.Tensor:
    """Starts for :func:`find_fixed_points`: visited states drawn at random, plus Gaussian noise (the sampling of
    Sussillo & Barak 2013).

    Arguments:
        trajectory_states: ``(..., n)`` visited states, e.g. ``Trajectory.x``.
        k: how many starts. noise: the noise's standard deviation (state units).
        seed: an int or a ``torch.Generator`` (``None``: a fresh random seed); no global RNG state is touched.

    Returns:
        ``(k, n)`` starts in the states' dtype and device.
    """
    from ...systems._rate import make_generator

    gen, _ = make_generator(seed)
    flat = trajectory_states.detach().reshape(-1, trajectory_states.shape[-1])
    idx = torch.randint(flat.shape[0], (k,), generator=gen)
    starts = flat[idx].clone()
    if noise > 0:
        starts = starts + noise * torch.randn(starts.shape, generator=gen, dtype=torch.float64).to(starts)
    return starts
