"""Periodic orbits of flows: period by a Poincare section, refined by Newton shooting, and Floquet
multipliers from the monodromy matrix."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ..._simulate import simulate
from ...systems._base import System
from ...systems._wrappers import VectorField
from .._common import check_dynamics, check_input, check_states

if TYPE_CHECKING:
    from matplotlib.figure import Figure



class NoCycleError(RuntimeError):
    """The search found no periodic orbit (it settled on a fixed point, or never returned)."""


@dataclass(frozen=True, eq=False, repr=False)
class LimitCycle(Result):
    """A periodic orbit ``x(t + T) = x(t)`` of a flow.

    Attributes:
        period: ``T`` in the system's time units.
        orbit: ``(P, n)`` states over one period, from the section point.
        times: ``(P,)`` times of ``orbit`` (``0 .. T``).
        floquet_multipliers: ``(n,)`` complex eigenvalues of the monodromy matrix, sorted by modulus
            (one of them is 1 for an autonomous flow).
        floquet_exponents: ``(n,)`` ``log|mu| / T``.
        stable: every multiplier but the trivial one has ``|mu| < 1``.
        residual: ``|x(T) - x(0)|`` after the Newton refinement.
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
        """The orbit and the Floquet multipliers against the unit circle. Returns a matplotlib Figure."""
        return plot_result(self, title=title)


def _flow_with_monodromy(system: System, u: torch.Tensor | None, n: int) -> VectorField:
    """The state and its variational matrix ``M`` (``dM/dt = J(x) M``) as one flow of size n + n^2."""
    def rhs(t: torch.Tensor, y: torch.Tensor, _: Any) -> torch.Tensor:
        x, M = y[..., :n], y[..., n:].reshape(*y.shape[:-1], n, n)
        dx = system(t, x, u)
        dM = system.jacobian(x, u) @ M
        return torch.cat([dx, dM.reshape(*y.shape[:-1], n * n)], -1)
    return VectorField(rhs, n + n * n)


def _section_returns(t: torch.Tensor, x: torch.Tensor, point: torch.Tensor, normal: torch.Tensor) -> list[float]:
    """Times at which the trajectory crosses the plane through ``point`` normal to ``normal``, upwards."""
    s = (x - point) @ normal
    ups = ((s[:-1] < 0) & (s[1:] >= 0)).nonzero().flatten().tolist()
    return [float(t[k] + (t[k + 1] - t[k]) * (-s[k]) / (s[k + 1] - s[k])) for k in ups]


def find_limit_cycle(system: System, x0: Any, *, inputs: Any = None, t_transient: float = 50.0,
                     t_search: float = 50.0, samples: int = 5000, newton_steps: int = 20, tol: float = 1e-10,
                     rtol: float = 1e-12, atol: float = 1e-12, orbit_points: int = 200) -> LimitCycle:
    """Find the periodic orbit that the trajectory from ``x0`` approaches.

    Arguments:
        system: a flow (a map's cycles are fixed points of its iterates).
        x0: ``(n,)`` a start in the cycle's basin.
        inputs: constant input ``(m,)``.
        t_transient: time run first, to approach the attractor.
        t_search: window searched for returns to the Poincare section (must hold two periods or more).
        samples: points on that window (resolution of the first period estimate).
        newton_steps, tol: Newton shooting on ``(x, T)`` until ``|phi_T(x) - x| <= tol (1 + |x|)``.
        rtol, atol: tolerances of the shooting solves that set the answer (the transient and the section
            search, which only give a first estimate, run at 1e-8).
        orbit_points: points in the returned orbit.

    Returns:
        :class:`LimitCycle`.

    Raises:
        TypeError: a map was given. ValueError: a start of the wrong shape or non-finite.
        NoCycleError: the trajectory settles on a fixed point (its location is in the message) or
            does not return to the section within ``t_search``; or Newton does not converge.
    """
    if check_dynamics(system, "find_limit_cycle"):
        raise TypeError("find_limit_cycle takes a flow (a System); a map's periodic orbits are fixed points of "
                        "its k-th iterate: use find_fixed_points on that")
    x = check_states(system, x0, "x0")
    if x.ndim != 1:
        raise ValueError(f"x0 must be one state (n,), got shape {tuple(x.shape)}")
    u = check_input(system, inputs, x)
    n = system.state_dim
    kw = {"inputs": u, "rtol": rtol, "atol": atol}
    rough = {"inputs": u, "rtol": 1e-8, "atol": 1e-8}
    with torch.no_grad():
        if t_transient > 0:
            x = simulate(system, x, [0.0, t_transient], **rough).x[-1]
        t = torch.linspace(0.0, t_search, samples + 1, dtype=torch.float64)
        run = simulate(system, x, t, **rough)
        xs = run.x
        speed = system(torch.zeros(()), xs[-1], u).abs().max()
        if float(speed) < 1e-6 * (1 + float(xs[-1].abs().max())):
            near = ", ".join(f"{v:.4g}" for v in xs[-1].real.tolist()[:6]) + (", ..." if n > 6 else "")
            raise NoCycleError(f"the trajectory settled on a fixed point near [{near}] (|f| = {float(speed):.2e})"
                               ", not a limit cycle; start elsewhere or use find_fixed_points")
        point = xs[0]
        normal = system(torch.zeros(()), point, u)
        returns = _section_returns(run.t, xs, point, normal)
        if len(returns) < 2:
            raise NoCycleError(f"the trajectory did not return to its Poincare section twice within t_search = {t_search:g}; "
                               "increase t_search (or the orbit is not periodic)")
        period = returns[1] - returns[0]  # between two returns: free of the start's offset on the section
        x_sec = simulate(system, point, [0.0, returns[0]], **rough).x[-1]
        f_sec = system(torch.zeros(()), x_sec, u)

        aug = _flow_with_monodromy(system, u, n)
        eye = torch.eye(n, dtype=x.dtype)
        residual = math.inf
        for _ in range(newton_steps):
            y0 = torch.cat([x_sec, eye.reshape(-1)])
            yT = simulate(aug, y0, [0.0, period], rtol=rtol, atol=atol).x[-1]
            xT, M = yT[:n], yT[n:].reshape(n, n)
            gap = xT - x_sec
            residual = float(gap.abs().max())
            if residual <= tol * (1 + float(x_sec.abs().max())):
                break
            fT = system(torch.zeros(()), xT, u)
            # [[M - I, f(x_T)], [f(x_s)^T, 0]] [dx, dT] = [-(x_T - x_s), 0]  (phase: stay on the section)
            top = torch.cat([M - eye, fT[:, None]], 1)
            bottom = torch.cat([f_sec, torch.zeros(1, dtype=x.dtype)])[None]
            delta = torch.linalg.solve(torch.cat([top, bottom]), torch.cat([-gap, torch.zeros(1, dtype=x.dtype)]))
            x_sec, period = x_sec + delta[:n], period + float(delta[n])
            if not period > 0:
                raise NoCycleError("Newton shooting drove the period to zero: the orbit is collapsing onto a fixed point")
        else:
            raise NoCycleError(f"Newton shooting did not converge in {newton_steps} steps (|x(T) - x(0)| = {residual:.2e})")
        mult = torch.linalg.eigvals(M)
        mult = mult[torch.argsort(mult.abs(), descending=True)]
        trivial = int(torch.argmin((mult - 1).abs()))
        others = torch.cat([mult[:trivial], mult[trivial + 1:]])
        times = torch.linspace(0.0, period, orbit_points, dtype=torch.float64)
        orbit = simulate(system, x_sec, times, **kw).x
    return LimitCycle(period=period, orbit=orbit, times=times, floquet_multipliers=mult,
                      floquet_exponents=torch.log(mult.abs()) / period,
                      stable=bool((others.abs() < 1).all()), residual=residual,
                      metadata={"system": system.describe()})
