"""Periodic orbits of flows: period by a Poincare section, refined by Newton shooting, and Floquet
multipliers from the monodromy matrix."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ..._simulate import simulate
from ...inputs import Constant
from ..._validation import check_positive, check_positive_int
from ...systems._base import System
from ...systems._wrappers import VectorField
from .._common import check_dynamics, check_input, check_states

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class NoCycleError(RuntimeError):
    """:func:`find_limit_cycle` found no periodic orbit: the trajectory settled on a fixed point, did
    not return to its Poincare section within ``t_search``, or Newton shooting did not converge."""


@dataclass(frozen=True, eq=False, repr=False)
class LimitCycle(Result):
    """A periodic orbit ``x(t + T) = x(t)`` of a flow.

    Attributes:
        period: ``T`` in the system's time units.
        orbit: ``(P, n)`` states over one period, from the section point (``orbit[-1]`` returns to
            ``orbit[0]``).
        times: ``(P,)`` times of ``orbit`` (``0 .. T``), in the system's time units.
        floquet_multipliers: ``(n,)`` complex eigenvalues of the monodromy matrix, by decreasing modulus
            (one of them is 1 for an autonomous flow).
        floquet_exponents: ``(n,)`` ``log|mu| / T``, per time unit, in the order of the multipliers.
        stable: every multiplier but the trivial one has ``|mu| < 1``.
        residual: ``max |x(T) - x(0)|`` after the Newton refinement, in the state's units.
        metadata: the system's description and ``search_time``, the time the search for a first
            estimate ran (after any ``t_transient``).
    """

    period: float
    orbit: torch.Tensor
    times: torch.Tensor
    floquet_multipliers: torch.Tensor
    floquet_exponents: torch.Tensor
    stable: bool
    residual: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def plot(self, *, title: str | None = None) -> Figure:
        """Draw the orbit (its first two coordinates, or top two principal components for n > 2) and
        the Floquet multipliers against the unit circle.

        Arguments:
            title: the figure's title (``None``: the system's description).

        Returns:
            A matplotlib ``Figure``.
        """
        return plot_result(self, title=title)


def _flow_with_monodromy(system: System, u: torch.Tensor | None, n: int) -> VectorField:
    """The state and its variational matrix ``M`` (``dM/dt = J(x) M``) as one flow of size n + n^2."""
    closed_form = type(system).jacobian is not System.jacobian

    def rhs(t: torch.Tensor, y: torch.Tensor, _: Any) -> torch.Tensor:
        x, M = y[..., :n], y[..., n:].reshape(*y.shape[:-1], n, n)
        if closed_form or y.ndim != 1 or y.is_complex():
            dx, J = system(t, x, u), system.jacobian(x, u)
        else:
            dx, J = _value_and_jacobian(system, t, x, u)
        return torch.cat([dx, (J @ M).reshape(*y.shape[:-1], n * n)], -1)
    return VectorField(rhs, n + n * n)


def _value_and_jacobian(system: System, t: torch.Tensor, x: torch.Tensor,
                        u: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``f(x)`` and ``J(x)`` for one state ``(n,)`` from one reverse sweep over n copies of ``x``: batch
    elements do not interact, so ``d/dx_b f_b(x_b)`` is row b of ``J``. Several times cheaper per call
    than the generic vmapped Jacobian, and the shooting evaluates it at every solver stage."""
    n = x.shape[-1]
    copies = x.detach().expand(n, n).clone().requires_grad_(True)
    uu = None if u is None else u.expand(n, *u.shape[-1:])
    try:
        with torch.enable_grad():
            fx = system(t, copies, uu)
            (J,) = torch.autograd.grad(fx.diagonal().sum(), copies)
    except RuntimeError:  # a callable autograd cannot sweep this way: the generic Jacobian
        return system(t, x, u), system.jacobian(x, u)
    return fx[0].detach(), J


def _visits(t: torch.Tensor, x: torch.Tensor, f: torch.Tensor) -> list[tuple[float, torch.Tensor]]:
    """``(time, state)`` of the start ``x[0]`` and of every return to its Poincare section: the plane
    through ``x[0]`` normal to ``f[0]``, crossed in the direction of the flow, within a quarter of the
    window's extent from ``x[0]`` (crossings far away are other parts of the orbit, not returns).

    Each crossing is located on the cubic Hermite interpolant through the two samples around it and
    their velocities ``f``, accurate to the fourth power of the sample spacing: the first estimate of
    the period then needs no fine grid and no extra solve.
    """
    p, normal = x[0], f[0].real
    s = (x - p).real @ normal
    ds = f.real @ normal
    extent = float((x.real.amax(0) - x.real.amin(0)).norm())
    out = [(float(t[0]), p)]
    for k in ((s[:-1] < 0) & (s[1:] >= 0)).nonzero().flatten().tolist():
        h = float(t[k + 1] - t[k])
        s0, s1, d0, d1 = float(s[k]), float(s[k + 1]), h * float(ds[k]), h * float(ds[k + 1])
        lo, hi = 0.0, 1.0  # s(0) < 0 <= s(1): bisection on the cubic, to round-off
        for _ in range(60):
            th = 0.5 * (lo + hi)
            if _hermite(s0, s1, d0, d1, th) < 0:
                lo = th
            else:
                hi = th
        th = 0.5 * (lo + hi)
        xc = _hermite(x[k], x[k + 1], h * f[k], h * f[k + 1], th)
        if float((xc - p).abs().norm()) <= 0.25 * extent:
            out.append((float(t[k]) + th * h, xc))
    return out


def _hermite(a: Any, b: Any, da: Any, db: Any, th: float) -> Any:
    """Cubic Hermite interpolant on ``[0, 1]`` with values ``a, b`` and (scaled) slopes ``da, db``."""
    th2, th3 = th * th, th * th * th
    return (2 * th3 - 3 * th2 + 1) * a + (th3 - 2 * th2 + th) * da + (3 * th2 - 2 * th3) * b + (th3 - th2) * db


def _time_scale(system: System, x: torch.Tensor, u: torch.Tensor | None) -> float:
    """``1 / max |lambda(J(x))|``: the fastest local time scale of the flow, a first window that is
    usually shorter than a period of a cycle through ``x`` (1 when the Jacobian vanishes)."""
    if type(system).jacobian is not System.jacobian or x.is_complex():
        J = system.jacobian(x, u)
    else:
        J = _value_and_jacobian(system, torch.zeros((), dtype=x.dtype, device=x.device), x, u)[1]
    rho = float(torch.linalg.eigvals(J.detach()).abs().max())
    return 1.0 / rho if math.isfinite(rho) and rho > 0 else 1.0


def _first_estimate(system: System, x: torch.Tensor, u: torch.Tensor | None, t_max: float, samples: int,
                    rough: dict[str, Any]) -> tuple[torch.Tensor, float, float]:
    """A point near the cycle, its return time and the time searched, from windows of ``samples``
    points that start at the flow's own time scale and double until the section is revisited.

    Each window continues from the end of the last; returns are looked for over the last two windows
    (from the start of the previous one), so a period is seen once it fits in 1.5 windows, and what ran
    before is the transient. After the first return, windows of 1.25 periods continue until two
    successive visits of the section agree to 1e-5 of the orbit's extent, or stop improving (a weakly
    attracting cycle, or the rough solves' accuracy: Newton shooting converges from there).
    """
    t0 = torch.zeros((), dtype=x.real.dtype, device=x.device)
    window, searched = min(_time_scale(system, x, u), t_max), 0.0
    best: tuple[torch.Tensor, float, float] | None = None
    previous: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    while searched < t_max * (1 - 1e-12):
        window = min(window, t_max - searched)
        t = torch.linspace(0.0, window, samples + 1, dtype=x.real.dtype, device=x.device)
        xs = simulate(system, x, t, **rough).x
        fs = system(t0, xs, u)
        searched += window
        end, speed = xs[-1], float(fs[-1].abs().max())
        if speed < 1e-6 * (1 + float(end.abs().max())):
            near = ", ".join(f"{v:.4g}" for v in end.real.tolist()[:6]) + (", ..." if end.numel() > 6 else "")
            raise NoCycleError(f"the trajectory settled on a fixed point near [{near}] (|f| = {speed:.2e}) "
                               f"after t = {searched:.4g}, not a limit cycle; start elsewhere or use find_fixed_points")
        x = end
        if previous is not None:  # still looking for a first return: search both windows
            pt, px, pf = previous
            t, xs, fs = torch.cat([pt, pt[-1] + t[1:]]), torch.cat([px, xs[1:]]), torch.cat([pf, fs[1:]])
        visits = _visits(t, xs, fs)
        if len(visits) < 2:
            if best is not None:  # 1.25 periods without a return: not closing up; let Newton judge
                return best[0], best[1], searched
            previous = (t[-samples - 1:] - t[-samples - 1], xs[-samples - 1:], fs[-samples - 1:])
            window *= 2
            continue
        previous = None
        (ta, xa), (tb, xb) = visits[-2:]
        extent = float((xs.real.amax(0) - xs.real.amin(0)).norm())
        gap = float((xb - xa).abs().norm())
        improving = best is None or gap < 0.5 * best[2]
        best = (xa, tb - ta, gap)
        if gap <= 1e-5 * extent or not improving:
            return xa, tb - ta, searched
        window = 1.25 * (tb - ta)  # one more return, after all of this window as transient
    if best is not None:
        return best[0], best[1], searched
    raise NoCycleError(f"the trajectory did not return to its Poincare section within a search of "
                       f"{searched:.4g} time units (t_search = {t_max:g}); raise t_search if the period may be "
                       "longer, or the orbit is not periodic")


def find_limit_cycle(system: System, x0: Any, *, inputs: Any = None, t_transient: float | None = None,
                     t_search: float | None = None, samples: int = 256, newton_steps: int = 20,
                     tol: float = 1e-9, rtol: float = 1e-10, atol: float = 1e-10,
                     orbit_points: int = 200) -> LimitCycle:
    """Find the periodic orbit that the trajectory from ``x0`` approaches: its period, one period of
    the orbit, and its Floquet multipliers.

    No period needs to be known in advance. The search runs windows of ``samples`` points, each
    continuing from the end of the last; the first is the flow's fastest local time scale at ``x0``
    (``1 / max |lambda(J(x0))|``) and each next one twice as long, until the trajectory comes back to
    the Poincare section through the start of the previous window (the plane there normal to the
    flow). What ran before is the transient, so it, too, scales with the period. A window seldom
    holds more than two periods, so the sample spacing follows the period, and each crossing is
    placed on the cubic Hermite interpolant of the samples and their velocities. Windows of 1.25
    periods then continue until two successive visits of the section agree to 1e-5 of the orbit's
    extent (or stop improving). Newton shooting on ``(x, T)`` with the monodromy matrix
    ``M = d phi_T / d x`` refines the estimate; the ``M`` of the last, converged, solve gives the
    Floquet multipliers. With the defaults, periods from 1e-2 to 1e3 time units are found to about
    1e-10 relative (the tests check 1e-6), and longer ones up to the cap ``t_search``.

    Arguments:
        system: a flow (a map's cycles are fixed points of its iterates).
        x0: ``(n,)`` a start in the cycle's basin.
        inputs: constant input ``(m,)`` (``None``: zero input).
        t_transient: time run before the search, in the system's time units. ``None`` (default) or
            0: none beyond the search's own windows; give it for a cycle approached much more slowly
            than it turns.
        t_search: cap on the search (all its windows together), in the system's time units.
            ``None`` (default): 5000, enough for periods up to about 1000 (a search runs for 2 to 5
            periods). A trajectory that settles on a fixed point ends the search as soon as its
            speed falls below ``1e-6 (1 + |x|)``.
        samples: points per search window, >= 16; memory stays ``samples`` states whatever the
            period, and the window that sees the first return spans only about one period.
        newton_steps, tol: Newton shooting on ``(x, T)`` until ``|phi_T(x) - x| <= tol (1 + |x|)``
            (max norms); ``tol`` must stay above the shooting solves' error (about ``5 rtol``).
        rtol, atol: tolerances of the shooting solves (``dopri5``), which set the answer's accuracy.
            The transient and the search, which only give the first estimate, run at ``simulate``'s
            defaults (1e-7, 1e-9).
        orbit_points: points in the returned orbit, >= 2.

    Returns:
        :class:`LimitCycle`: ``period`` ``T`` (time units), ``orbit`` ``(orbit_points, n)`` at
        ``times`` ``(orbit_points,)`` from 0 to ``T``, ``floquet_multipliers`` ``(n,)`` (complex, by
        decreasing modulus), ``floquet_exponents`` ``(n,)`` (per time unit), ``stable``, the shooting
        ``residual``, and ``metadata["search_time"]`` (time units the search ran, after
        ``t_transient``).

    Raises:
        TypeError: a map instead of a flow, or an option of the wrong type.
        ValueError: ``x0`` not one finite state ``(n,)``; inputs of the wrong shape; a negative or
            non-finite ``t_transient``; a non-positive ``t_search``, ``tol``, ``rtol`` or ``atol``;
            ``samples < 16``, ``newton_steps < 1`` or ``orbit_points < 2``.
        NoCycleError: the trajectory settles on a fixed point (its location is in the message), does
            not return to the section within ``t_search``, or Newton shooting does not converge.
    """
    if check_dynamics(system, "find_limit_cycle"):
        raise TypeError("find_limit_cycle takes a flow (a System); a map's periodic orbits are fixed points of "
                        "its k-th iterate: use find_fixed_points on that")
    x = check_states(system, x0, "x0")
    if x.ndim != 1:
        raise ValueError(f"x0 must be one state (n,), got shape {tuple(x.shape)}")
    u = check_input(system, inputs, x)
    if t_transient is not None and (isinstance(t_transient, bool) or not isinstance(t_transient, (int, float))
                                    or not math.isfinite(t_transient) or t_transient < 0):
        raise ValueError(f"t_transient must be a finite number >= 0 (or None: none), got {t_transient!r}")
    t_max = 5000.0 if t_search is None else check_positive(t_search, "t_search")
    samples = check_positive_int(samples, "samples")
    if samples < 16:
        raise ValueError(f"samples must be >= 16 (points per search window; the default is 256), got {samples}")
    newton_steps = check_positive_int(newton_steps, "newton_steps")
    orbit_points = check_positive_int(orbit_points, "orbit_points")
    if orbit_points < 2:
        raise ValueError(f"orbit_points must be >= 2 (the orbit's first and last point), got {orbit_points}")
    tol, rtol, atol = check_positive(tol, "tol"), check_positive(rtol, "rtol"), check_positive(atol, "atol")
    n = system.state_dim
    # simulate's defaults: a first estimate; a constant input is held over the whole solve (simulate reads a bare
    # tensor as samples on the grid)
    rough = {"inputs": None if u is None else Constant(u), "rtol": 1e-7, "atol": 1e-9}
    t0 = torch.zeros((), dtype=x.real.dtype, device=x.device)
    with torch.no_grad():
        if t_transient:
            x = simulate(system, x, [0.0, t_transient], **rough).x[-1]
        x_sec, period, searched = _first_estimate(system, x, u, t_max, samples, rough)
        f_sec = system(t0, x_sec, u)

        aug = _flow_with_monodromy(system, u, n)
        eye = torch.eye(n, dtype=x.dtype, device=x.device)
        residual, history = math.inf, []
        for _ in range(newton_steps):
            # one solve gives the return, the monodromy matrix and (on the last step) the orbit
            times = torch.linspace(0.0, period, orbit_points, dtype=x.real.dtype, device=x.device)
            ys = simulate(aug, torch.cat([x_sec, eye.reshape(-1)]), times, rtol=rtol, atol=atol).x
            xT, M = ys[-1, :n], ys[-1, n:].reshape(n, n)
            gap = xT - x_sec
            residual = float(gap.abs().max())
            if residual <= tol * (1 + float(x_sec.abs().max())):
                break
            history.append(residual)
            if len(history) > 3 and min(history[-3:]) >= history[-4]:
                raise NoCycleError(f"Newton shooting stopped converging (|x(T) - x(0)| = {residual:.2e} after "
                                   f"{len(history)} steps): the orbit is not periodic, or start x0 nearer the cycle")
            fT = system(t0, xT, u)
            # [[M - I, f(x_T)], [f(x_s)^T, 0]] [dx, dT] = [-(x_T - x_s), 0]  (phase: stay on the section)
            top = torch.cat([M - eye, fT[:, None]], 1)
            bottom = torch.cat([f_sec, torch.zeros(1, dtype=x.dtype, device=x.device)])[None]
            rhs = torch.cat([-gap, torch.zeros(1, dtype=x.dtype, device=x.device)])
            delta = torch.linalg.solve(torch.cat([top, bottom]), rhs)
            x_sec, period = x_sec + delta[:n], period + float(delta[n].real)
            if not period > 0:
                raise NoCycleError("Newton shooting drove the period to zero: the orbit is collapsing onto a fixed point")
        else:
            raise NoCycleError(f"Newton shooting did not converge in {newton_steps} steps (|x(T) - x(0)| = "
                               f"{residual:.2e}); raise newton_steps or tol")
        mult = torch.linalg.eigvals(M)
        mult = mult[torch.argsort(mult.abs(), descending=True)]
        trivial = int(torch.argmin((mult - 1).abs()))
        others = torch.cat([mult[:trivial], mult[trivial + 1:]])
        orbit = ys[:, :n]
    return LimitCycle(period=period, orbit=orbit, times=times, floquet_multipliers=mult,
                      floquet_exponents=torch.log(mult.abs()) / period,
                      stable=bool((others.abs() < 1).all()), residual=residual,
                      metadata={"system": system.describe(), "search_time": searched})
