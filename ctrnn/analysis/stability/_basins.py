"""Basins of attraction on a 2-D plane of initial conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ..._simulate import simulate
from ..._validation import check_number, check_positive_int, check_size
from ...systems._base import System
from .._common import check_dynamics, check_input, check_states

if TYPE_CHECKING:
    from matplotlib.figure import Figure



@dataclass(frozen=True, eq=False, repr=False)
class Basins(Result):
    """Which attractor each initial condition on a grid reaches.

    Attributes:
        labels: ``(ny, nx)`` index into ``names`` of the attractor reached, ``-1`` when undecided (none of
            them within the tolerance at ``t_end``: still moving, on a saddle's stable manifold, or another
            attractor).
        a, b: ``(nx,)`` and ``(ny,)`` coordinates along the plane's two directions.
        names: the attractors' names.
        origin, directions: the plane ``origin + a * d1 + b * d2`` (``directions`` is ``(2, n)``).
        attractors: name -> the attractor's states ``(P, n)``, drawn projected on the plane.
    """

    labels: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    names: list[str]
    origin: torch.Tensor
    directions: torch.Tensor
    attractors: dict[str, torch.Tensor] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def fractions(self) -> dict[str, float]:
        """Share of the grid cells in each basin, and the undecided share (key ``"undecided"``); they sum to 1."""
        total = self.labels.numel()
        out = {name: float((self.labels == i).sum()) / total for i, name in enumerate(self.names)}
        out["undecided"] = float((self.labels < 0).sum()) / total
        return out

    def coordinates(self, states: torch.Tensor) -> torch.Tensor:
        """``(..., 2)`` least-squares coordinates ``(a, b)`` of states ``(..., n)`` on the plane."""
        d = self.directions.detach().cpu().double()
        rel = states.detach().cpu().double() - self.origin.detach().cpu().double()
        return rel @ torch.linalg.pinv(d)

    def plot(self, *, title: str | None = None) -> Figure:
        """The basins as an image over the plane. Returns a Figure."""
        return plot_result(self, title=title)


def basins(system: System, attractors: dict[str, torch.Tensor], *, origin: Any = None, directions: Any = None,
           extent: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0), resolution: tuple[int, int] = (60, 60),
           t_end: float = 50.0, inputs: Any = None, tol: float = 1e-3, rtol: float = 1e-6, atol: float = 1e-8,
           axis_labels: tuple[str, str] = ("a (along d1)", "b (along d2)")) -> Basins:
    """Run every initial condition of a grid on a plane to ``t_end`` and label it by the attractor it ends on.

    Arguments:
        system: a flow.
        attractors: name -> states ``(P, n)`` of the attractor: one row for a fixed point, the orbit of
            a limit cycle (``LimitCycle.orbit``); the distance to an attractor is the distance to its
            nearest row.
        origin: ``(n,)`` centre of the plane (default 0); directions: ``(2, n)`` (default the first two
            coordinates; pass principal components for high-dimensional systems).
        extent: ``(a_min, a_max, b_min, b_max)``; resolution: ``(nx, ny)``.
        axis_labels: names of the plane's two axes in the plot (:func:`pca_plane` gives PC names).
        t_end: time each start runs; tol: an end state within ``tol (1 + |x|)`` of an attractor is in its basin.

    Returns:
        :class:`Basins`.

    Raises:
        TypeError: a map instead of a flow. ValueError: a resolution that is not two ints >= 1 or gives more
            states than the size limit (:class:`~ctrnn.size_limit`); a non-finite extent; states of the wrong
            shape; no attractors.
    """
    if check_dynamics(system, "basins"):
        raise TypeError("basins takes a flow (a System)")
    n = system.state_dim
    o = check_states(system, torch.zeros(n) if origin is None else origin, "origin")
    d = check_states(system, torch.eye(n)[:2] if directions is None else directions, "directions")
    if d.shape != (2, n):
        raise ValueError(f"directions must have shape (2, {n}), got {tuple(d.shape)}")
    if not attractors:
        raise ValueError("give at least one attractor: {name: states (P, n)}")
    targets = {name: check_states(system, torch.as_tensor(v).reshape(-1, n), f"attractor {name!r}") for name, v in attractors.items()}
    if not isinstance(resolution, (tuple, list)) or len(resolution) != 2:
        raise ValueError(f"resolution must be (nx, ny), two ints >= 1, got {resolution!r}")
    nx, ny = (check_positive_int(r, "resolution") for r in resolution)
    check_size(nx * ny * n, f"the grid's states (resolution {nx} x {ny} x n = {n})", "use a coarser resolution")
    extent = tuple(check_number(e, "extent") for e in extent)
    a = torch.linspace(extent[0], extent[1], nx, dtype=torch.float64)
    b = torch.linspace(extent[2], extent[3], ny, dtype=torch.float64)
    B, A = torch.meshgrid(b, a, indexing="ij")
    starts = o + A.reshape(-1, 1).to(o) * d[0] + B.reshape(-1, 1).to(o) * d[1]
    u = check_input(system, inputs, starts)
    with torch.no_grad():
        end = simulate(system, starts, [0.0, t_end], inputs=u, rtol=rtol, atol=atol).x[-1]
        dist = torch.stack([torch.cdist(end, pts).min(dim=-1).values for pts in targets.values()], -1)  # (N, K)
        best = dist.argmin(-1)
        close = dist.gather(-1, best[:, None])[:, 0] <= tol * (1 + end.abs().amax(-1))
        labels = torch.where(close, best, torch.full_like(best, -1)).reshape(ny, nx)
    return Basins(labels=labels, a=a, b=b, names=list(targets), origin=o, directions=d, attractors=targets,
                  metadata={"t_end": t_end, "system": system.describe(), "axis_labels": axis_labels})

