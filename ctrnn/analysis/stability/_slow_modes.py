"""Slow modes of fixed and slow points: the eigenvalue nearest the stability boundary, its right and left
eigenvectors, and how strongly each input drives it (the selection vectors of Mante et al. 2013)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ...discretize._base import DiscreteMap
from ...systems._base import System
from .._common import check_dynamics, check_input, check_states, residual, residual_and_jacobian
from .._projection import principal_components
from ._fixed_points import FixedPoints, classify

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True, eq=False, repr=False)
class SlowModes(Result):
    """The slowest mode of the linearization at each of a set of points, and the inputs' projections on it.

    At each point the *slow mode* is the eigenvalue of the Jacobian nearest the stability boundary (the smallest
    ``|Re lambda|`` of a flow, the smallest ``| |lambda| - 1 |`` of a map): along a line attractor it is near 0
    (a map's near 1) and every other mode is stable. Its right eigenvector ``r`` is the direction the state
    drifts along; its left eigenvector ``l`` (``l^T r = 1``) is the *selection vector* (Mante, Sussillo, Shenoy &
    Newsome 2013): a small input ``du`` moves the state along the mode by ``l^T (dg/du) du``, so
    ``input_projections[:, j] = l^T dg/du_j`` measures how strongly input ``j`` is integrated there.

    Attributes:
        points: ``(P, n)`` where the linearization was taken.
        eigenvalues: ``(P,)`` complex, the slow eigenvalue at each point.
        right: ``(P, n)`` its right eigenvector (unit length). left: ``(P, n)`` its left eigenvector, ``l^T r = 1``.
        others_stable: ``(P,)`` every other eigenvalue is stable.
        time_constants: ``(P,)`` the slow mode's time scale ``1 / |Re lambda|`` (a map: ``1 / |log |lambda||``, in
            iterations), whether it decays or grows; ``inf`` for a rate within rounding of 0.
        input_projections: ``(P, m)`` ``l^T dg/du_j`` (``g = f`` for a flow, ``F`` for a map), complex when the
            slow eigenvalue is.
        line_direction: ``(n,)`` the points' first principal component, the line they lie along.
        line_fraction: the share of the points' variance along it (1 for points on a straight line; 0 when
            fewer than 2 points).
        alignment: ``(P,)`` ``|cos|`` of the angle between each point's ``r`` and the line.
        speeds: ``(P,)`` how fast the state moves at each point: ``|f(x)|`` (a map: ``|F(x) - x|`` per iteration);
            0 at a fixed point.
        is_map: whether the dynamics is a map.
    """

    points: torch.Tensor
    eigenvalues: torch.Tensor
    right: torch.Tensor
    left: torch.Tensor
    others_stable: torch.Tensor
    time_constants: torch.Tensor
    input_projections: torch.Tensor
    line_direction: torch.Tensor
    line_fraction: float
    alignment: torch.Tensor
    speeds: torch.Tensor
    is_map: bool
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def mean_projections(self) -> torch.Tensor:
        """``(m,)`` the mean over the points of ``|l^T dg/du_j|``, per input."""
        return self.input_projections.abs().mean(0) if len(self) else self.input_projections.real.new_zeros(
            self.input_projections.shape[-1])

    def summary(self) -> str:
        if not len(self):
            return "no points"
        tc = self.time_constants
        lines = [f"{len(self)} point(s): {float(self.line_fraction):.1%} of their variance along one line; slow "
                 f"time constants {float(tc.min()):.3g} .. {float(tc.max()):.3g}; "
                 f"{int(self.others_stable.sum())} with every other mode stable"]
        proj = self.mean_projections()
        lines.append("  mean |l^T dg/du| per input: " + ", ".join(f"u{j}: {float(p):.3g}" for j, p in enumerate(proj)))
        return "\n".join(lines)

    def plot(self, *, title: str | None = None) -> Figure:
        """Slow time constants along the line and each input's projection on the selection vector. Returns a
        matplotlib Figure."""
        return plot_result(self, title=title)


def slow_modes(sys_or_map: System | DiscreteMap, points: FixedPoints | torch.Tensor, *,
               inputs: Any = None) -> SlowModes:
    """The slow mode at each point: its eigenvalue, right and left eigenvectors and the inputs' projections on it.

    Arguments:
        sys_or_map: a flow or a map.
        points: ``(P, n)`` states, or a :class:`FixedPoints` (its fixed and its slow points together).
        inputs: the constant input ``(m,)`` held there (default: the one a :class:`FixedPoints` records; else zero).

    Returns:
        :class:`SlowModes`.

    Raises:
        TypeError: not a flow or a map. ValueError: points of the wrong shape, or an input of the wrong size.
    """
    is_map = check_dynamics(sys_or_map, "slow_modes")
    if isinstance(points, FixedPoints):
        if inputs is None:
            inputs = points.metadata.get("inputs")
        points = torch.cat([points.points, points.slow_points.to(points.points)])
    if isinstance(points, torch.Tensor) and points.ndim == 2 and points.shape[0] == 0:
        x = points.detach()  # nothing found: an empty result of the right shapes
    else:
        x = check_states(sys_or_map, points, "points").detach()
    if x.ndim != 2:
        raise ValueError(f"points must be (P, n), got shape {tuple(x.shape)}")
    u = check_input(sys_or_map, inputs, x)
    P, n = x.shape
    m = sys_or_map.input_dim
    with torch.no_grad():
        jac = sys_or_map.jacobian(x, u).detach() if P else x.new_zeros(0, n, n)
        evals, lam, right, left, k = _slowest(jac, is_map)
        rows = torch.arange(P)
        speeds = residual(sys_or_map, is_map, x, u).norm(dim=-1) if P else x.real.new_zeros(0)
        others = evals.clone()
        others[rows, k] = -1 if not is_map else 0
        others_stable, _, _ = classify(others, is_map)
        rate = lam.abs().log() if is_map else lam.real
        # a rate within rounding of 0 (eps times the Jacobian's scale) is no decay at all
        floor = math.sqrt(torch.finfo(x.real.dtype).eps) * (1 + jac.abs().flatten(1).amax(-1)) if P else rate
        time_constants = torch.where(rate.abs() > floor, 1 / rate.abs(), torch.full_like(rate, float("inf")))
    real = not x.is_complex() and bool((lam.imag == 0).all())
    projections = _input_projections(sys_or_map, is_map, x, u, left.real if real else left, m)
    if real:
        right, left = right.real.to(x.dtype), left.real.to(x.dtype)
    if P >= 2:
        _, components, shares = principal_components(x.real, k=1)
        direction, fraction = components[0].to(x.real.dtype), float(shares[0])
        cos = (right.real if right.is_complex() else right) @ direction.to(right.real.dtype)
        alignment = cos.abs()
    else:
        direction, fraction = x.real.new_zeros(n), 0.0
        alignment = x.real.new_zeros(P)
    return SlowModes(points=x, eigenvalues=lam, right=right, left=left, others_stable=others_stable,
                     time_constants=time_constants, input_projections=projections, line_direction=direction,
                     line_fraction=fraction, alignment=alignment, speeds=speeds.real.to(x.real.dtype), is_map=is_map,
                     metadata={"inputs": None if u is None else u.tolist(), "system": sys_or_map.describe()})


def slow_manifold(sys_or_map: System | DiscreteMap, point: Any, *, extent: float | tuple[float, float],
                  inputs: Any = None, steps: int = 8, tol: float | None = None, max_iter: int = 50) -> SlowModes:
    """The one-dimensional slow manifold through ``point``, followed along its slow mode in both directions.

    A line attractor of a trained network is seldom a line of exact fixed points: it is a curve the state falls
    onto fast and drifts along slowly (Mante et al. 2013 found such lines of slow points). This follows that curve
    as the *intrinsic low-dimensional manifold* of Maas & Pope (1992): the states where the motion ``g(x)`` has no
    component outside the slow mode, ``(I - r(x) l(x)^T) g(x) = 0`` with ``r(x)``, ``l(x)`` the slow mode's right
    and left eigenvectors at ``x`` (itself, not the start's: the curve may bend). It agrees with the invariant slow
    manifold to first order in the ratio of the slow to the fast rates, and holds every fixed point on it.
    Each step moves ``extent / steps`` along the last point's slow direction (a predictor), then returns to the
    manifold by Gauss-Newton iterations (a corrector) with the step's length held; where the corrector fails, the
    step is halved (down to 1/32 of it) and grows back after a success.

    Arguments:
        sys_or_map: a flow or a map.
        point: ``(n,)`` where to start: a fixed or slow point whose slow mode is real.
        extent: how far to follow the curve, in state units along it (the sum of the chords between its points;
            each arm ends at the first point at or past it): one number for both directions, or ``(back,
            forward)`` (forward is the start's ``r``, with its largest component made positive).
        inputs: the constant input ``(m,)`` held (default zero).
        steps: points per direction.
        tol: the corrector's tolerance on ``|(I - r l^T) g|`` (default ``sqrt(eps) (1 + max |x|)`` of the dtype).
        max_iter: corrector iterations per point.

    Returns:
        :class:`SlowModes` at the points in order along the curve (``2 steps + 1`` of them; more where steps were
        halved, fewer where an arm ended early: the corrector failed even at the shortest step, or the slow mode
        turned complex); ``metadata["arc"]`` is each point's signed distance from the start along the curve,
        ``metadata["start"]`` the start's index, ``metadata["ends"]`` why the backward and the forward arm ended,
        in words (``"reached the extent"``, or what failed and where).

    Raises:
        TypeError: not a flow or a map. ValueError: a point of the wrong shape, an input of the wrong size, a bad
            setting (named), or a start whose slow mode is complex (its slow manifold is a plane, not a curve).
    """
    is_map = check_dynamics(sys_or_map, "slow_manifold")
    x0 = check_states(sys_or_map, point, "point").detach()
    if x0.ndim != 1:
        raise ValueError(f"point must be one state (n,), got shape {tuple(x0.shape)}")
    back, forward = (extent, extent) if isinstance(extent, (int, float)) else tuple(extent)
    for what, value in (("extent", back), ("extent", forward)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{what} must be finite numbers >= 0, got {extent!r}")
    for what, value in (("steps", steps), ("max_iter", max_iter)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{what} must be an int >= 1, got {value!r}")
    u = check_input(sys_or_map, inputs, x0[None])
    if tol is None:
        tol = math.sqrt(torch.finfo(x0.dtype).eps) * (1 + float(x0.abs().max()))
    with torch.no_grad():
        mode = _real_mode(sys_or_map, is_map, x0, u)
        if mode is None:
            raise ValueError("the slow mode at the start is complex: its slow manifold is a plane, not a curve")
        r0 = mode[0] * torch.sign(mode[0][mode[0].abs().argmax()])
        arms = []
        for sign, length in ((-1.0, back), (1.0, forward)):
            arms.append(_follow(sys_or_map, is_map, x0, sign * r0, u, float(length), float(length) / steps, tol,
                                max_iter))
    (back_points, back_arc, back_why), (fwd_points, fwd_arc, fwd_why) = arms
    points = torch.cat([back_points.flip(0), x0[None], fwd_points])
    arc = torch.cat([-back_arc.flip(0), x0.new_zeros(1), fwd_arc])
    found = slow_modes(sys_or_map, points, inputs=u)
    found.metadata.update(arc=arc.tolist(), start=int(back_points.shape[0]), ends=[back_why, fwd_why])
    return found


def _real_mode(system: Any, is_map: bool, x: torch.Tensor, u: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The slow mode's unit right and left eigenvectors ``(n,)`` at ``x``, or ``None`` where it is complex."""
    _, lam, right, left, _ = _slowest(system.jacobian(x[None], None if u is None else u[None]).detach(), is_map)
    if bool(lam[0].imag != 0):
        return None
    return right[0].real.to(x.dtype), left[0].real.to(x.dtype)


#: how many times a step may be halved where the corrector fails (a bend, a fast change of the slow mode)
_HALVINGS = 5


def _follow(system: Any, is_map: bool, start: torch.Tensor, direction: torch.Tensor, u: torch.Tensor | None,
            extent: float, h: float, tol: float, max_iter: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Points along the slow manifold from ``start`` for ``extent`` along it, each ``h`` on from the last along
    its slow direction (``direction`` at the start), or a half, a quarter, ... of ``h`` (at most ``_HALVINGS``
    times) where the corrector fails at the full step. Returns the points ``(k, n)``, their arc lengths ``(k,)``
    and why the arm ended, in words."""
    points, arcs = [], []
    x, d, travelled, length = start, direction, 0.0, h
    eye = torch.eye(start.shape[0], dtype=start.dtype, device=start.device)
    why = "reached the extent"
    while extent - travelled > 1e-9 * h:
        step = min(length, extent - travelled)
        y, r, failure = _correct(system, is_map, x, d, step, u, tol, max_iter, eye)
        if failure is None and float((y - x).norm()) > 2 * step:  # the curve turns within the step: too long
            failure = "the curve turned within a step"
        if failure is not None:
            if length <= h / 2 ** _HALVINGS:
                why = f"{failure} at arc length {travelled:.4g}, with steps down to {length:.3g}"
                break
            length /= 2
            continue
        travelled += float((y - x).norm())
        points.append(y)
        arcs.append(travelled)
        x, d, length = y, r, min(h, 2 * length)
    if not points:
        return start.new_zeros(0, start.shape[0]), start.new_zeros(0), why
    return torch.stack(points), torch.tensor(arcs, dtype=start.dtype, device=start.device), why


def _correct(system: Any, is_map: bool, anchor: torch.Tensor, d: torch.Tensor, h: float, u: torch.Tensor | None,
             tol: float, max_iter: int, eye: torch.Tensor) -> tuple[Any, Any, str | None]:
    """From ``anchor + h d`` (the predictor) back onto the manifold with ``d^T (y - anchor) = h`` held: the point
    and its slow direction, or ``None, None`` and what failed."""
    y = anchor + h * d
    for _ in range(max_iter):
        mode = _real_mode(system, is_map, y, u)
        if mode is None:
            return None, None, "the slow mode turned complex"
        r, l = mode
        r, l = (r, l) if float(r @ d) >= 0 else (-r, -l)
        g, J = residual_and_jacobian(system, is_map, y[None], None if u is None else u[None])
        project = eye - torch.outer(r, l)
        off = project @ g[0]
        if float(off.abs().max()) <= tol:
            return y, r, None
        # Gauss-Newton on (I - r l^T) g = 0 with d^T (y - anchor) = h held (the projector's own change along
        # the way is left out: it multiplies g, which is small on a slow manifold)
        lhs = torch.cat([project @ J[0], d[None]])
        rhs = torch.cat([off, (d @ (y - anchor) - h)[None]])
        y = y - torch.linalg.lstsq(lhs, rhs[:, None]).solution[:, 0]
        if not bool(torch.isfinite(y).all()):
            break
    return None, None, f"the corrector did not converge in {max_iter} iteration(s)"


def _slowest(jac: torch.Tensor, is_map: bool) -> tuple[torch.Tensor, ...]:
    """Of a batch of Jacobians ``(P, n, n)`` (a map's ``dF/dx``): all eigenvalues ``(P, n)``, and of the mode
    nearest the stability boundary its eigenvalue ``(P,)``, unit right eigenvector ``(P, n)``, left eigenvector
    ``(P, n)`` with ``l^T r = 1``, and its index ``(P,)``."""
    evals, evecs = torch.linalg.eig(jac)
    distance = (evals.abs() - 1).abs() if is_map else evals.real.abs()
    k = distance.argmin(-1)
    rows = torch.arange(jac.shape[0])
    # left eigenvectors are the rows of R^-1: l_k^T r_k = 1 with the unit-length r_k eig returns
    left = torch.linalg.inv(evecs)[rows, k, :]
    return evals, evals[rows, k], evecs[rows, :, k], left, k


def _input_projections(sys_or_map: Any, is_map: bool, x: torch.Tensor, u: torch.Tensor | None, left: torch.Tensor,
                       m: int) -> torch.Tensor:
    """``(P, m)`` ``l^T dg/du`` at each point, one vector-Jacobian product for all points (complex ``left``: its
    real and imaginary parts separately)."""
    P = x.shape[0]
    if m == 0 or P == 0:
        return x.new_zeros(P, m, dtype=left.dtype)
    base = u if u is not None else x.real.new_zeros(m)
    drive = base.expand(P, m).clone().requires_grad_(True)
    with torch.enable_grad():
        g = residual(sys_or_map, is_map, x, drive)  # a map's F - x: the same derivative in u as F's
        parts = (left.real, left.imag) if left.is_complex() else (left,)
        grads = [torch.autograd.grad((g * w.to(g.dtype)).sum(), drive, retain_graph=True)[0] for w in parts]
    return torch.complex(grads[0], grads[1]) if left.is_complex() else grads[0].detach()
