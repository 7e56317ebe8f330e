"""How far each discretization's rollout lands from the continuous solution, and at what order."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..._errors import DivergenceError
from ..._results import Result, plot_result
from ..._simulate import prepare_problem, simulate
from ..._validation import as_tensor, check_number, check_positive, check_size
from ...systems._base import System
from ...discretize import discretize

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: A fitted order is from the asymptotic regime when the successive slopes (log-log, between neighbouring
#: dts, over the errors above the floor) are all within ``SLOPE_AGREEMENT`` of each other. 0.3: between the
#: integer orders of the schemes compared (so a slope drifting from 2 to 3 is caught) and above the
#: O(dt) drift of the leading error term at steps a few times inside the stability region.
SLOPE_AGREEMENT = 0.3


@dataclass(frozen=True, eq=False, repr=False)
class DiscretizationError(Result):
    """Errors of discrete rollouts against a tight continuous reference.

    Attributes:
        schemes: scheme names, one row each.
        dts: ``(D,)`` step sizes (model time units).
        max_errors: ``(S, D)`` largest absolute state error over the grid, the batch and the units.
        final_errors: ``(S, D)`` the same at the last time only.
        orders: fitted order per scheme (slope of log error against log dt over the points above the
            reference's accuracy floor, diverged steps left out); ``None`` when fewer than two such points
            remain (every error at the floor: an exact scheme; or the steps diverged: see ``diverged``).
        floor: errors below this are at the reference's accuracy: 10 x the difference between the
            reference and the same solve at 1/100 of its tolerance (finest grid).
        t_span: ``(t0, t1)`` of the comparison.
        asymptotic: per scheme, whether its order comes from the asymptotic regime: at least two successive
            slopes (three points above the floor) all within ``SLOPE_AGREEMENT`` of each other. ``True`` for an
            exact scheme; an order with ``False`` is shown flagged "(not asymptotic)" (see :meth:`order_text`).
        diverged: per scheme, the dts whose rollout became non-finite (their errors are NaN); empty when none.
        notes: per scheme with diverged steps, when each diverged, in the model's time units.
    """

    schemes: list[str]
    dts: torch.Tensor
    max_errors: torch.Tensor
    final_errors: torch.Tensor
    orders: dict[str, float | None]
    floor: float
    t_span: tuple[float, float]
    asymptotic: dict[str, bool] = field(default_factory=dict)
    diverged: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def order_text(self, name: str, digits: int = 2) -> str:
        """How a reader sees ``name``'s order: ``"4.00"``, ``"7.19 (not asymptotic)"``, ``"exact"``, or
        ``"not fitted (diverged at dt = 0.16, 0.08)"``."""
        order, bad = self.orders[name], self.diverged.get(name, [])
        if order is None:
            if bad:
                return f"not fitted (diverged at dt = {', '.join(f'{d:g}' for d in bad)})"
            return "exact"
        # files written before ``asymptotic`` existed hold no verdict: shown unflagged, as they were
        flag = "" if self.asymptotic.get(name, True) else " (not asymptotic)"
        return f"{order:.{digits}f}{flag}"

    def plot(self, *, title: str | None = None) -> Figure:
        """Log-log error against dt, one line per scheme, slopes in the legend. Returns a Figure."""
        return plot_result(self, title=title)


def fitted_order(dts: Sequence[float], errors: Sequence[float], floor: float) -> float | None:
    """The order of a scheme: the least-squares slope of ``log(error)`` against ``log(dt)``.

    Arguments:
        dts: step sizes. errors: the error at each. floor: errors at or below it (the reference's accuracy) and
            non-finite ones are left out.

    Returns:
        the slope, or ``None`` when fewer than two errors are above the floor (an exact scheme).
    """
    keep = _above_floor(dts, errors, floor)
    if len(keep) < 2:
        return None
    x, y = np.log([d for d, _ in keep]), np.log([e for _, e in keep])
    return float(np.polyfit(x, y, 1)[0])


def successive_slopes(dts: Sequence[float], errors: Sequence[float], floor: float) -> list[float]:
    """The log-log slopes between neighbouring step sizes (in increasing ``dt``), over the same points as
    :func:`fitted_order` (finite errors above ``floor``).

    Arguments:
        dts: step sizes. errors: the error at each. floor: the reference's accuracy.

    Returns:
        one slope per neighbouring pair (empty when fewer than two points are left).
    """
    keep = sorted(_above_floor(dts, errors, floor))
    return [math.log(e2 / e1) / math.log(d2 / d1) for (d1, e1), (d2, e2) in zip(keep, keep[1:])]


def is_asymptotic(dts: Sequence[float], errors: Sequence[float], floor: float) -> bool:
    """Whether the fitted order comes from the asymptotic regime: at least two successive slopes, all within
    ``SLOPE_AGREEMENT`` of each other (a single slope cannot show that the error follows one power of dt).

    Arguments:
        dts: step sizes. errors: the error at each. floor: the reference's accuracy.

    Returns:
        ``True`` when the slopes agree.
    """
    slopes = successive_slopes(dts, errors, floor)
    return len(slopes) >= 2 and max(slopes) - min(slopes) <= SLOPE_AGREEMENT


def _above_floor(dts: Sequence[float], errors: Sequence[float], floor: float) -> list[tuple[float, float]]:
    return [(d, e) for d, e in zip(dts, errors, strict=True) if math.isfinite(e) and e > floor]


def discretization_error(system: System, x0: torch.Tensor, t: float | tuple[float, float], *,
                         schemes: Sequence[str], dts: Sequence[float], inputs: Any = None,
                         rtol: float = 1e-10, atol: float = 1e-10) -> DiscretizationError:
    """Measure each scheme's error against the continuous solution, for each step size.

    For each ``dt`` the grid is ``t0, t0 + dt, ..., t1``; the reference is :func:`~ctrnn.simulate`
    (dopri5 at ``rtol``/``atol``) on that grid (one solve on the finest grid serves every grid it contains), and the discrete map's input for the step ending at
    ``t_k`` is ``u(t_{k-1})`` (held over the step, the zero-order-hold convention).

    Arguments:
        system: a System.
        x0: ``(*batch, n)``.
        t: ``t1`` (from 0) or ``(t0, t1)``.
        schemes: names for :func:`~ctrnn.discretize` (``"euler"``, ``"rk4"``, ``"zoh"``, ...).
        dts: step sizes; each must divide ``t1 - t0`` (to 1e-9 relative). Choose them where every
            scheme is stable (``|1 + lam dt| < 1`` for Euler), or the fitted orders mean nothing: a step
            whose rollout diverges is recorded in ``diverged`` (NaN errors) and the order is fitted over
            the others; an order whose successive slopes disagree is marked not ``asymptotic``.
        inputs: as for ``simulate`` but not a tensor of samples (an Input, a constant or a callable),
            since the grids differ per ``dt``.

    With a smooth time-varying input, holding it over each step is itself a first-order error that
    caps every scheme at order 1; inputs that are piecewise constant on the grids (``inputs.steps``
    with switch times on every grid) show each scheme's own order.

    Returns:
        :class:`DiscretizationError`.

    Raises:
        ValueError: a non-finite span, a non-positive ``dt`` or one that does not divide the span; a tensor
            of input samples; a reference trajectory above the size limit (:class:`~ctrnn.size_limit`); as
            ``discretize`` and ``simulate`` for the rest.
        DivergenceError: the continuous reference itself diverged (a rollout's divergence is recorded instead).
    """
    t0, t1 = (0.0, t) if not isinstance(t, (tuple, list)) else (t[0], t[1])
    t0, t1 = check_number(t0, "t"), check_number(t1, "t")
    if not t1 > t0:
        raise ValueError(f"the span must have t1 > t0, got ({t0}, {t1})")
    if isinstance(inputs, torch.Tensor):
        raise ValueError("discretization_error compares grids of different steps: pass inputs as an Input, a constant "
                         "or a callable u(t), not samples on one grid")
    if not schemes or not dts:
        raise ValueError("give at least one scheme and one dt")
    span = t1 - t0
    steps = []
    for dt in dts:
        k = round(span / check_positive(dt, "dts"))
        if k < 1 or abs(k * dt - span) > 1e-9 * span:
            raise ValueError(f"dt = {dt} does not divide the span {span:g} into whole steps")
        steps.append(k)
    maps = {name: [discretize(system, dt, scheme=name) for dt in dts] for name in schemes}  # fail early on names

    max_err = torch.zeros(len(schemes), len(dts), dtype=torch.float64)
    final_err = torch.zeros_like(max_err)
    finest = max(steps)
    check_size((finest + 1) * as_tensor(x0, "x0").numel(), f"the reference trajectory ({finest + 1} times of the "
               "smallest dt x the values of x0)", "use larger dts or a shorter span")
    fine_grid = torch.linspace(t0, t1, finest + 1, dtype=torch.float64)
    x0c, fine_c, u = prepare_problem(system, x0, fine_grid, inputs)
    grids = [fine_c[:: finest // k] if finest % k == 0 else torch.linspace(t0, t1, k + 1, dtype=torch.float64).to(fine_c)
             for k in steps]
    diverged: dict[str, list[float]] = {}
    when: dict[str, list[str]] = {}
    with torch.no_grad():
        # the rollouts first, cheap next to the reference; a step too large for a scheme diverges, and only
        # that (scheme, dt) is left out: its errors are NaN, the other steps still fit the order
        rollouts: list[list[torch.Tensor | None]] = []
        for j, k in enumerate(steps):
            row: list[torch.Tensor | None] = []
            for name in schemes:
                try:
                    row.append(maps[name][j].rollout(x0c, None if u is None else u.sample(grids[j][:-1]),
                                                     steps=k if u is None else None))
                except DivergenceError as error:
                    # the map counts iterations; the reader's clock is the model's time: t0 + iterations * dt
                    # (error.time is the last finite iteration, or the first non-finite one)
                    diverged.setdefault(name, []).append(float(dts[j]))
                    when.setdefault(name, []).append(f"dt = {dts[j]:g} by t = {t0 + (error.time + 1) * dts[j]:.6g}")
                    row.append(None)
            rollouts.append(row)
        # every coarser grid a subgrid of the finest (steps 8h, 4h, 2h, h): one reference solve serves them all
        fine_ref = simulate(system, x0c, fine_c, inputs=u, rtol=rtol, atol=atol).x
        # the reference's own error, measured: the same solve at 1/100 of the tolerance
        tighter = simulate(system, x0c, fine_c, inputs=u, rtol=rtol / 100, atol=atol / 100).x
        floor = 10 * float((fine_ref - tighter).abs().max()) + 1e-14 * float(fine_ref.abs().max())
        for j, k in enumerate(steps):
            ref = (fine_ref[:: finest // k] if finest % k == 0 else
                   simulate(system, x0c, grids[j], inputs=u, rtol=rtol, atol=atol).x)
            for i, x in enumerate(rollouts[j]):
                if x is None:
                    max_err[i, j] = final_err[i, j] = float("nan")
                    continue
                diff = (x - ref[1:]).abs()
                max_err[i, j], final_err[i, j] = float(diff.max()), float(diff[-1].max())
    orders = {name: fitted_order(dts, max_err[i].tolist(), floor) for i, name in enumerate(schemes)}
    asymptotic = {name: (orders[name] is None and name not in diverged) or is_asymptotic(dts, max_err[i].tolist(), floor)
                  for i, name in enumerate(schemes)}
    notes = {name: f"rollout diverged at {'; '.join(when[name])} (time units of the model)" for name in diverged}
    return DiscretizationError(schemes=list(schemes), dts=torch.tensor(list(dts), dtype=torch.float64),
                               max_errors=max_err, final_errors=final_err, orders=orders, floor=floor,
                               t_span=(t0, t1), asymptotic=asymptotic, diverged=diverged, notes=notes,
                               metadata={"system": system.describe()})
