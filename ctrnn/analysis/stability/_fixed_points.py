"""Fixed and slow points (Sussillo & Barak 2013) of flows and maps, with their stability."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._progress import ProgressBar
from ..._results import Result, plot_result
from ..._validation import check_nonempty, check_positive_int, check_size
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
        n_starts, n_diverged: starts used (given and made by ``refine``), and starts that ran away or became
            non-finite (dropped).
        n_converged: starts that reached a fixed point (before merging duplicates).
        n_refinement_starts: the starts among ``n_starts`` that the search made from the points found (``refine``,
            and the further rounds of :func:`~ctrnn.mechanisms.task_fixed_points`).
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
    n_refinement_starts: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.points.shape[0]

    def plot(self, *, trajectory: Any = None, title: str | None = None) -> Figure:
        """Fixed points by kind (over ``trajectory`` if given) and their eigenvalues against the stability
        boundary. Returns a matplotlib Figure."""
        return plot_result(self, trajectory=trajectory, title=title)

    def summary(self) -> str:
        made = self.n_refinement_starts
        given = (f" ({self.n_starts - made} given, {made} made from the points found)" if made else "")
        short = self.n_starts - self.n_converged - self.n_diverged
        lines = [f"{len(self)} fixed point(s), {self.slow_points.shape[0]} slow point(s) from {self.n_starts} "
                 f"start{'' if self.n_starts == 1 else 's'}{given}: {self.n_converged} converged, {self.n_diverged} "
                 f"ran away" + (f", {short} stopped short of a fixed point" if short else "")]
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
        eigenvalues: ``(K, n)`` complex, one row per point.
        is_map: the boundary is ``|lambda| = 1`` (map) or ``Re lambda = 0`` (flow).
        tol: the width of the marginal band.

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
                      max_norm: float = 1e6, patience: int = 30, refine: int = 0,
                      progress: bool = False) -> FixedPoints:
    """Find the fixed points reachable from many starts at once.

    Minimises ``q(x) = |g(x)|^2 / 2`` (``g = f`` for a flow, ``F - x`` for a map) from every start
    together by damped Gauss-Newton steps (Levenberg-Marquardt, one damping per start), which become
    Newton steps near a root and so polish it to machine precision; then drops starts that ran away,
    merges duplicates, and classifies each point by the eigenvalues of its Jacobian. With ``refine``, the
    search goes on from the points it found: starts along the unstable eigenvectors of every unstable point
    and midway between found points (where a saddle separating two attractors sits), round after round until
    a round finds nothing new.

    Arguments:
        sys_or_map: a flow (:class:`~ctrnn.System`) or a map (:class:`~ctrnn.DiscreteMap`).
        x_init: ``(K, n)`` starts (e.g. from :func:`fixed_point_starts`).
        inputs: constant input ``(m,)`` (fixed points as a function of input).
        max_iter: Levenberg-Marquardt iterations.
        tol: a point is fixed when ``|g| <= tol * (1 + |x|)`` and, after Newton polishing, the Newton step that
            remains is within ``unique_tol * (1 + |x|)`` (its place is known better than two points are told
            apart: not so on a nearly flat region, whose points are slow points). Default from the state's dtype:
            ``max(1e-12, 256 eps)`` (``eps = torch.finfo(dtype).eps``): ``1e-12`` in float64, ``3.1e-5`` in
            float32, whose Newton iterates stall at a few eps times the size of ``f``'s terms.
        slow_tol: a non-fixed local minimum with ``|g| <= slow_tol`` is reported as a slow point.
        unique_tol: points closer than ``unique_tol * (1 + |x|)`` are the same point. Default
            ``max(1e-6, sqrt(eps))``: ``1e-6`` in float64, ``3.5e-4`` in float32 (two Newton roots of one
            point differ by about eps times the Jacobian's condition number).
        max_norm: starts whose iterate leaves ``|x| <= max_norm`` ran away.
        patience: a start whose ``q`` has not fallen by 0.1% in this many iterations stops (a slow
            point or a runaway); the others go on.
        refine: at most this many further rounds from the points found (0: none); each round uses at most
            ``3 max(K, 64)`` starts (``max(K, 64)`` each along eigenvectors, on the unstable manifolds and between
            points; see :func:`fixed_point_starts` with ``found``), and ``n_starts`` counts them. Its sizes are
            checked before the first search (:func:`check_search_size`).
        progress: show a progress bar of the starts done (also shown inside :func:`~ctrnn.show_progress`).

    Returns:
        :class:`FixedPoints` (possibly empty, never silently wrong: unconverged minima are slow points).

    Raises:
        TypeError: not a flow or a map. ValueError: starts of the wrong shape, empty, complex for a real model,
            in an unsupported dtype or non-finite; ``refine < 0``; more Jacobians than the size limit
            (:class:`~ctrnn.size_limit`), for the first search or for a refinement round.
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
    if refine < 0:
        raise ValueError(f"refine must be >= 0, got {refine}")
    K, n = x.shape
    check_search_size(K, n, refine)  # the refinement rounds too, before the first search is spent
    eps = torch.finfo(x.real.dtype).eps  # residuals below ~eps |f| are rounding: the tolerances follow the dtype
    tol = max(1e-12, 256 * eps) if tol is None else tol
    unique_tol = max(1e-6, math.sqrt(eps)) if unique_tol is None else unique_tol
    kind_tol = max(1e-9, math.sqrt(tol))
    search = dict(max_iter=max_iter, tol=tol, slow_tol=slow_tol, unique_tol=unique_tol, max_norm=max_norm,
                  patience=patience, progress=progress)
    with torch.no_grad():
        points, res, slow_points, slow_speeds, n_div, n_conv = _search(sys_or_map, is_map, x, u, **search)
        points, res = _unique(points, res, unique_tol)
        slow_points, slow_speeds = _unique(slow_points, slow_speeds, unique_tol * 1e3)
        jac, evals, evecs = _spectrum(sys_or_map, is_map, points, u, x)
        n_starts, n_made = K, 0
        box = x.detach()
        for round_ in range(refine):
            if points.shape[0] == 0:
                break
            _, n_unst, _ = classify(evals, is_map, tol=kind_tol)
            starts = _refinement_starts(sys_or_map, is_map, u, points, evals, evecs, n_unst, box,
                                        max(K, _MIN_ROUND_STARTS))
            if starts.shape[0] == 0:
                break
            p2, r2, s2, v2, d2, c2 = _search(sys_or_map, is_map, starts, u, **search,
                                             label=f"fixed points, refinement {round_ + 1}")
            n_starts, n_div, n_conv = n_starts + starts.shape[0], n_div + d2, n_conv + c2
            n_made += starts.shape[0]
            slow_points, slow_speeds = _unique(torch.cat([slow_points, s2]), torch.cat([slow_speeds, v2]),
                                               unique_tol * 1e3)
            merged, merged_res = _unique(torch.cat([points, p2]), torch.cat([res, r2]), unique_tol)
            if merged.shape[0] == points.shape[0]:
                break  # nothing new: later rounds would start from the same points
            points, res = merged, merged_res
            jac, evals, evecs = _spectrum(sys_or_map, is_map, points, u, x)
        if slow_points.shape[0] and points.shape[0]:  # a slow point that a later round polished into a fixed point
            near = (slow_points[:, None] - points[None]).abs().amax(-1).amin(-1)
            keep = near > unique_tol * 1e3 * (1 + slow_points.abs().amax(-1))
            slow_points, slow_speeds = slow_points[keep], slow_speeds[keep]
        stable, n_unst, kinds = classify(evals, is_map, tol=kind_tol)
    return FixedPoints(points=points, residuals=res, jacobians=jac, eigenvalues=evals, eigenvectors=evecs,
                       stable=stable, kinds=kinds, n_unstable=n_unst, slow_points=slow_points, slow_speeds=slow_speeds,
                       is_map=is_map, n_starts=n_starts, n_diverged=n_div, n_converged=n_conv,
                       n_refinement_starts=n_made,
                       metadata={"inputs": None if u is None else u.tolist(), "system": sys_or_map.describe()})


def check_search_size(k: int, n: int, refine: int, *, starts: str = "x_init", rounds: str = "refine") -> None:
    """Refuse, before anything is searched, a :func:`find_fixed_points` call whose arrays would pass the size limit
    (:class:`~ctrnn.size_limit`): the first search's Jacobians (``k x n x n``) and, with ``refine >= 1``, the most a
    refinement round may hold: the Jacobians of its ``3 max(k, 64)`` starts and the states it keeps along the
    unstable manifolds (up to ``400`` steps of ``max(k, 64) / 6`` states). These depend on ``k``, ``n`` and
    ``refine`` alone, so a caller (the CLI) checks them before it makes anything.

    Arguments:
        k: the starts (``x_init.shape[0]``). n: the state's size. refine: the refinement rounds.
        starts, rounds: the names of ``k`` and ``refine`` in the messages (the CLI's config keys).

    Returns:
        nothing.

    Raises:
        ValueError: above the limit, naming what, ``starts`` or ``rounds``, and the fix.
    """
    check_size(k * n * n, f"the Jacobians of the fixed-point search ({starts} = {k} starts x n x n, n = {n})",
               f"give fewer starts ({starts})")
    if refine < 1:
        return
    cap = max(k, _MIN_ROUND_STARTS)
    fix = f"lower {rounds} to 0 or give fewer starts ({starts})"
    check_size(3 * cap * n * n, f"the Jacobians of a fixed-point refinement round ({rounds} = {refine}: up to "
               f"3 max({starts}, {_MIN_ROUND_STARTS}) = {3 * cap} starts x n x n, n = {n})", fix)
    seeds = max(1, cap // _MANIFOLD_SAMPLES)
    check_size(_MAX_FOLLOW_STEPS * seeds * n, f"the states a fixed-point refinement round keeps along the unstable "
               f"manifolds ({rounds} = {refine}: up to {_MAX_FOLLOW_STEPS} steps x {seeds} starts x n, n = {n})", fix)


def _search(sys_or_map: Any, is_map: bool, x: torch.Tensor, u: torch.Tensor | None, *, max_iter: int, tol: float,
            slow_tol: float, unique_tol: float, max_norm: float, patience: int, progress: bool = False,
            label: str = "fixed points") -> tuple[torch.Tensor, ...]:
    """Levenberg-Marquardt from every start of ``x`` ``(K, n)`` (modified in place); returns the converged
    iterates and their speeds, the slow ones and theirs (duplicates not merged), and the counts of starts that
    ran away and that converged."""
    n = x.shape[-1]  # the Levenberg-Marquardt steps hold a Jacobian per start: checked before any is made
    check_size(x.shape[0] * n * n, f"the Jacobians of the {label} search ({x.shape[0]} starts x n x n, n = {n})",
               "give fewer starts")
    with ProgressBar(label, x.shape[0], unit="starts done", enabled=progress) as bar:
        return _levenberg_marquardt(sys_or_map, is_map, x, u, max_iter=max_iter, tol=tol, slow_tol=slow_tol,
                                    unique_tol=unique_tol, max_norm=max_norm, patience=patience, bar=bar)


def _levenberg_marquardt(sys_or_map: Any, is_map: bool, x: torch.Tensor, u: torch.Tensor | None, *, max_iter: int,
                         tol: float, slow_tol: float, unique_tol: float, max_norm: float, patience: int,
                         bar: ProgressBar) -> tuple[torch.Tensor, ...]:
    K = x.shape[0]
    x = x.clone()
    # nearly undamped at first: Gauss-Newton (= Newton for this square system) converges quadratically
    damping = torch.full((K,), 1e-8, dtype=x.real.dtype, device=x.device)
    stalled = torch.zeros(K, dtype=torch.long, device=x.device)
    g = residual(sys_or_map, is_map, x, u).clone()  # owned: updated in place
    q = 0.5 * (g.abs() ** 2).sum(-1)
    for _ in range(max_iter):
        done = g.abs().amax(-1) <= tol * (1 + x.abs().amax(-1))
        # iterate only on starts still improving: converged and stalled ones cost nothing more
        active = (~done & (stalled < patience) & torch.isfinite(q)).nonzero().flatten()
        bar.update(K - active.numel())
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
    fixed = finite & (g.abs().amax(-1) <= tol * (1 + x.abs().amax(-1)))
    if bool(fixed.any()):
        x[fixed], g[fixed], newton_step = _polish(sys_or_map, is_map, x[fixed], g[fixed], u)
        # a point whose remaining Newton step is longer than the distance that tells two points apart is not
        # placed well enough to be one: a small |g| on a nearly flat region (a saturated GRU's float32 |g| of
        # 3e-4 passes 256 eps (1 + |x|), with a Newton step of order 1), reported as a slow point instead
        placed = newton_step <= unique_tol * (1 + x[fixed].abs().amax(-1))
        fixed[fixed.clone()] = placed
    speed = g.abs().norm(dim=-1)
    slow = finite & ~fixed & (speed <= slow_tol)
    return x[fixed], speed[fixed], x[slow], speed[slow], int((~finite).sum()), int(fixed.sum())


#: a Newton step this many eps (relative to 1 + |x|) long is rounding: the polish stops there
_ROUNDING_STEPS = 16


def _polish(sys_or_map: Any, is_map: bool, x: torch.Tensor, g: torch.Tensor, u: torch.Tensor | None,
            iterations: int = 4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Newton steps on accepted points ``(K, n)`` (residuals ``g``), each kept only where it lowers ``|g|``;
    returns the points, their residuals and the length (max norm) of the Newton step that remains at each
    (``inf`` where the Jacobian is singular).

    A start stops as soon as ``|g|`` is under the tolerance, which in float32 (``256 eps``) leaves a point off
    by up to ``|g| / |lambda|`` along a slow direction: more than the de-duplication distance, so one point could
    be reported twice. From there Newton converges quadratically, to the dtype's rounding in a step or two."""
    for i in range(iterations + 1):
        _, J = residual_and_jacobian(sys_or_map, is_map, x, u)
        sol, info = torch.linalg.solve_ex(J, -g[..., None])
        ok = (info == 0) & torch.isfinite(sol).all(dim=(-2, -1))
        step = torch.where(ok[:, None], sol[..., 0], 0.0)
        length = torch.where(ok, step.abs().amax(-1).real, torch.inf)
        # done once every step is down to the dtype's rounding: more steps would only move the last bits
        if i == iterations or bool((length <= _ROUNDING_STEPS * torch.finfo(length.dtype).eps
                                    * (1 + x.abs().amax(-1).real)).all()):
            break
        trial = x + step
        g_t = residual(sys_or_map, is_map, trial, u)
        better = torch.isfinite(g_t).all(-1) & (g_t.abs().norm(dim=-1) < g.abs().norm(dim=-1))
        if not bool(better.any()):
            break
        x = torch.where(better[:, None], trial, x)
        g = torch.where(better[:, None], g_t, g)
    return x, g, length


def _spectrum(sys_or_map: Any, is_map: bool, points: torch.Tensor, u: torch.Tensor | None,
              like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Jacobians ``(K, n, n)`` of ``f`` (flow) or ``F`` (map) at the points, their eigenvalues sorted by
    decreasing real part (flow) or modulus (map), and the matching eigenvectors (columns)."""
    n = like.shape[-1]
    if points.shape[0] == 0:  # nothing converged: empty results of the right shapes
        jac = torch.zeros(0, n, n, dtype=like.dtype, device=like.device)
        evals, evecs = torch.linalg.eig(jac)
        return jac, evals, evecs
    jac = sys_or_map.jacobian(points, u).detach().clone()
    evals, evecs = torch.linalg.eig(jac)
    key = evals.abs() if is_map else evals.real
    order = torch.argsort(key, dim=-1, descending=True)
    evals = torch.gather(evals, -1, order)
    evecs = torch.gather(evecs, -1, order[:, None, :].expand_as(evecs))
    return jac, evals, evecs


#: distances along an unstable eigenvector, as fractions of the search box's width along it
_MANIFOLD_STEPS = (0.05, 0.2, 0.5, 1.0)
#: unstable directions followed per point (the leading ones): a high-dimensional saddle has many
_MAX_DIRECTIONS = 3
#: states kept along each followed unstable manifold
_MANIFOLD_SAMPLES = 6
#: the most steps along an unstable manifold (see :func:`_follow`)
_MAX_FOLLOW_STEPS = 400
#: a refinement round from K starts takes up to max(K, this) of each kind of start
_MIN_ROUND_STARTS = 64


def _refinement_starts(sys_or_map: Any, is_map: bool, u: torch.Tensor | None, points: torch.Tensor,
                       eigenvalues: torch.Tensor, eigenvectors: torch.Tensor, n_unstable: torch.Tensor,
                       box: torch.Tensor, cap: int) -> torch.Tensor:
    """Second-round starts from found points ``(P, n)``, at most ``cap`` of each kind (spread evenly over the
    candidates when there are more):

    - along the leading unstable eigenvectors of each unstable point, both ways, at ``_MANIFOLD_STEPS`` of the
      box's width along the vector (the box of ``box`` and the points together);
    - on the unstable manifolds themselves: the dynamics run from the nearest of those offsets, sampled
      ``_MANIFOLD_SAMPLES`` times (a manifold curves, so the straight line can miss the point it leads to);
    - midway between every pair of points (a saddle often separates two attractors).
    """
    P, n = points.shape
    span = torch.cat([box.reshape(-1, n), points]).real
    width = span.amax(0) - span.amin(0)
    along, seeds, rates, fast = [], [], [], 0.0
    for i in range(P):
        for j in range(min(int(n_unstable[i]), _MAX_DIRECTIONS)):
            v = eigenvectors[i, :, j]
            # a flow's escape rate Re(lambda), a map's log|lambda|; floored at a tenth of the point's fastest rate
            lam = eigenvalues[i, j]
            fastest = float(eigenvalues[i].abs().max().clamp_min(1e-12).log().abs()) if is_map else \
                float(eigenvalues[i].real.abs().max())
            rate = max(float(lam.abs().log()) if is_map else float(lam.real), 0.1 * fastest, 1e-6)
            fast = max(fast, fastest)
            # a complex pair spans a plane: its real and imaginary parts (real states take real directions)
            for w in ((v.real, v.imag) if v.is_complex() and not points.is_complex() else (v,)):
                w = w.to(points.dtype)
                if float(w.abs().max()) == 0:
                    continue
                w = w / w.abs().norm()
                reach = max(float((w.abs() * width).sum()), 1e-3)  # the box's width along w
                for s in _MANIFOLD_STEPS:
                    along += [points[i] + s * reach * w, points[i] - s * reach * w]
                seeds += [points[i] + _MANIFOLD_STEPS[0] * reach * w, points[i] - _MANIFOLD_STEPS[0] * reach * w]
                rates += [rate, rate]
    out = [_spread(torch.stack(along), cap)] if along else []
    if seeds:
        out.append(_follow(sys_or_map, is_map, u, _spread(torch.stack(seeds), max(1, cap // _MANIFOLD_SAMPLES)),
                           min(rates), fast))
    pairs = torch.triu_indices(P, P, offset=1, device=points.device)
    out.append(_spread(0.5 * (points[pairs[0]] + points[pairs[1]]), cap))
    return torch.cat(out)


def _follow(sys_or_map: Any, is_map: bool, u: torch.Tensor | None, x0: torch.Tensor, rate: float,
            fastest: float) -> torch.Tensor:
    """States along the dynamics from ``x0`` ``(B, n)`` for about ``8 / rate`` time units (iterations of a map;
    at most 400 steps): long enough to leave a point whose escape rate is ``rate`` and approach where it leads.
    A flow takes fixed RK4 steps of ``0.5 / fastest`` (its fastest rate near the point): these are only starts
    for Newton, so accuracy is not needed. States that run away or turn non-finite are dropped."""
    horizon = 8.0 / rate
    if is_map:
        steps = int(min(_MAX_FOLLOW_STEPS, max(_MANIFOLD_SAMPLES, math.ceil(horizon))))
        drive = None if u is None else u.expand(steps, *x0.shape[:-1], -1)
        path = sys_or_map.rollout(x0, drive, steps=None if drive is not None else steps)
    else:
        steps = int(min(_MAX_FOLLOW_STEPS, max(_MANIFOLD_SAMPLES, math.ceil(horizon * 2 * max(fastest, rate)))))
        dt = horizon / steps
        t = torch.zeros((), dtype=x0.real.dtype, device=x0.device)
        f = lambda x: sys_or_map(t, x, u)
        x, states = x0, []
        for _ in range(steps):
            k1 = f(x)
            k2 = f(x + 0.5 * dt * k1)
            k3 = f(x + 0.5 * dt * k2)
            k4 = f(x + dt * k3)
            x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            states.append(x)
        path = torch.stack(states)
    path = path[torch.linspace(0, steps - 1, _MANIFOLD_SAMPLES, device=path.device).round().long()]
    flat = path.reshape(-1, x0.shape[-1])
    return flat[torch.isfinite(flat).all(-1) & (flat.abs().amax(-1) < 1e6)]


def _spread(rows: torch.Tensor, k: int) -> torch.Tensor:
    """``k`` rows evenly spaced through ``rows`` (all of them when ``k`` is at least their number)."""
    if k >= rows.shape[0]:
        return rows
    return rows[torch.linspace(0, rows.shape[0] - 1, k, device=rows.device).round().long()]


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

    Raises:
        TypeError: ``k`` not an int. ValueError: ``k < 1``, no states, or more starts than the size limit.
    """
    from ...systems._rate import make_generator

    k = check_positive_int(k, "k")
    check_size(k * trajectory_states.shape[-1], f"the starts (k = {k} x n = {trajectory_states.shape[-1]})",
               "give a smaller k")
    gen, _ = make_generator(seed)
    flat = trajectory_states.detach().reshape(-1, trajectory_states.shape[-1])
    check_nonempty(flat, "trajectory_states")
    idx = torch.randint(flat.shape[0], (k,), generator=gen)
    starts = flat[idx].clone()
    if noise > 0:
        starts = starts + noise * torch.randn(starts.shape, generator=gen, dtype=torch.float64).to(starts)
    return starts


def fixed_point_starts(sys_or_map: System | DiscreteMap, visited_states: torch.Tensor, k: int, *,
                       seed: int | torch.Generator | None = 0, noise: float = 0.0, design_share: float = 0.5,
                       margin: float = 1.0, found: FixedPoints | None = None) -> torch.Tensor:
    """Starts for :func:`find_fixed_points` that do not depend on the trajectories alone.

    Trajectories settle on attractors and rarely pass near saddles or repellers, so starts drawn from them
    (Sussillo & Barak 2013) miss the points in between. This mixes three kinds:

    - visited states drawn at random, plus Gaussian noise (:func:`sample_starts`);
    - a scrambled Sobol design (``scipy.stats.qmc``) filling the box the visited states span, each side widened
      by ``margin`` times the box's widest side;
    - with ``found`` (the result of a first search): points along the leading unstable eigenvectors of each
      unstable point, both ways, and midpoints between pairs of found points (a saddle often sits between two
      attractors). ``find_fixed_points(..., refine=r)`` runs such rounds itself.

    Arguments:
        sys_or_map: the flow or map whose fixed points are sought (gives the state dimension, dtype, device).
        visited_states: ``(..., n)`` visited states, e.g. ``Trajectory.x``.
        k: starts of the first two kinds together (state units throughout).
        seed: an int or a ``torch.Generator`` (``None``: a fresh random seed); no global RNG state is touched.
        noise: standard deviation of the noise added to the sampled visited states (state units).
        design_share: the share of the ``k`` starts from the space-filling design, in ``[0, 1]``.
        margin: each side of the design's box is widened by this fraction of the box's widest side.
        found: a first search's :class:`FixedPoints`; adds at most ``k`` starts of each of its three kinds.

    Returns:
        ``(k', n)`` starts in the model's dtype and device: ``k`` (``4k`` at most with ``found``).

    Raises:
        TypeError: ``k`` not an int. ValueError: ``k < 1``, ``design_share`` outside ``[0, 1]``, ``margin < 0``,
            states of the wrong shape or an empty batch of them, or more starts than the size limit
            (:class:`~ctrnn.size_limit`).
    """
    from scipy.stats import qmc

    from ...systems._rate import make_generator

    k = check_positive_int(k, "k")
    if not 0.0 <= design_share <= 1.0:
        raise ValueError(f"design_share must be in [0, 1], got {design_share}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    visited = check_states(sys_or_map, visited_states, "visited_states").detach()
    n = visited.shape[-1]
    check_size(4 * k * n if found is not None else k * n, f"the starts (k = {k} x n = {n})", "give a smaller k")
    flat = visited.reshape(-1, n)
    gen, _ = make_generator(seed)
    k_design = round(design_share * k)
    parts = [sample_starts(flat, k - k_design, noise=noise, seed=gen)] if k > k_design else []
    if k_design:
        # complex states: the design fills the box of the real and the imaginary parts
        real = torch.view_as_real(flat).reshape(flat.shape[0], -1) if flat.is_complex() else flat
        lo, hi = real.double().amin(0).cpu(), real.double().amax(0).cpu()
        # every side widened by the widest coordinate's width: the states share units, and a coordinate the
        # trajectories barely moved in says nothing about where that coordinate's other fixed points lie
        pad = margin * float((hi - lo).max().clamp_min(1e-3))
        lo, hi = lo - pad, hi + pad
        sobol = qmc.Sobol(d=real.shape[1], scramble=True, seed=int(torch.randint(2**31, (1,), generator=gen)))
        # a whole power of two keeps the sequence balanced; its first k_design points are still spread out
        unit = torch.from_numpy(sobol.random_base2(max(0, math.ceil(math.log2(k_design))))[:k_design])
        design = (lo + unit * (hi - lo)).to(device=flat.device, dtype=real.dtype)
        if flat.is_complex():
            design = torch.view_as_complex(design.reshape(k_design, n, 2).contiguous())
        parts.append(design)
    if found is not None and len(found):
        pts = check_states(sys_or_map, found.points, "found.points")
        u = check_input(sys_or_map, found.metadata.get("inputs"), pts)
        with torch.no_grad():  # starts only: no graph through the model's parameters
            parts.append(_refinement_starts(sys_or_map, found.is_map, u, pts, found.eigenvalues.to(pts.device),
                                            found.eigenvectors.to(pts.device), found.n_unstable, flat, k))
    return torch.cat(parts)
