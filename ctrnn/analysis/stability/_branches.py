"""Fixed points as a function of a constant input: branches followed by continuation, both ways."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._progress import ProgressBar
from ..._results import Result, plot_result
from ..._validation import as_tensor, check_finite
from ...discretize._base import DiscreteMap
from ...systems._base import System
from .._common import check_dynamics, check_states
from ._fixed_points import FixedPoints, find_fixed_points

if TYPE_CHECKING:
    from matplotlib.figure import Figure



@dataclass(frozen=True, eq=False, repr=False)
class FixedPointBranches(Result):
    """The fixed points found at each value of a swept constant input.

    Attributes:
        inputs: ``(S, m)`` the input values, in sweep order.
        results: one :class:`FixedPoints` per input value.
    """

    inputs: torch.Tensor
    results: list[FixedPoints]
    metadata: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> list[int]:
        """Number of fixed points at each input value."""
        return [len(r) for r in self.results]

    def stable_counts(self) -> list[int]:
        """Number of stable fixed points at each input value (2 or more: multistable there)."""
        return [int(r.stable.sum()) for r in self.results]

    def multistable_range(self) -> tuple[float, float] | None:
        """The first input coordinate's smallest and largest value with two or more stable points, or ``None``."""
        values = [float(self.inputs[i, 0]) for i, c in enumerate(self.stable_counts()) if c >= 2]
        return (min(values), max(values)) if values else None

    def plot(self, *, direction: Any = None, title: str | None = None) -> Figure:
        """Bifurcation diagram: a coordinate of each fixed point (``direction . x``, default the mean
        over units) against the first input, markers by kind. Returns a Figure."""
        return plot_result(self, direction=direction, title=title)


def fixed_point_branches(sys_or_map: System | DiscreteMap, inputs: Any, x_init: Any, *, progress: bool = False,
                         **options: Any) -> FixedPointBranches:
    """Fixed points at every value of a constant input, followed along the sweep.

    The sweep runs up and then back down (and up again if the way down found new branches): at each value
    the starts are ``x_init`` together with the points found at the neighbouring value and, before, at this
    one, so a branch is followed until it disappears (a fold), and branches that exist only on the way back
    (hysteresis) are found too.

    Arguments:
        sys_or_map: a flow or a map with ``m >= 1`` inputs.
        inputs: ``(S,)`` values of a single input, or ``(S, m)``.
        x_init: ``(K, n)`` starts used at every value.
        options: passed on to :func:`find_fixed_points` (``tol``, ``max_iter``, ...); ``refine`` defaults to 1
            here, so a branch the starts miss (an unstable middle branch between two attractors) is still found.
        progress: show a progress bar over the input values (also shown inside :func:`~ctrnn.show_progress`).

    Returns:
        :class:`FixedPointBranches` with one :class:`FixedPoints` per value, in the given order.
    """
    check_dynamics(sys_or_map, "fixed_point_branches")
    if sys_or_map.input_dim == 0:
        raise ValueError("this model has no inputs; use find_fixed_points")
    values = as_tensor(inputs, "inputs").to(torch.float64)
    if values.ndim == 1 and sys_or_map.input_dim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] != sys_or_map.input_dim or values.shape[0] < 1:
        raise ValueError(f"inputs must be (S, {sys_or_map.input_dim}) input values, got {tuple(values.shape)}")
    check_finite(values, "inputs")
    starts = check_states(sys_or_map, x_init, "x_init")
    if starts.ndim != 2:
        raise ValueError(f"x_init must be (K, n) starts, got shape {tuple(starts.shape)}")

    # trajectories (and starts sampled on them) sit on the attractors: one round from the points found reaches
    # the saddles between them
    options = {"refine": 1, **options}
    S = values.shape[0]
    found: list[torch.Tensor] = [starts[:0]] * S
    results: list[FixedPoints] = [None] * S  # type: ignore[list-item]
    grew = False
    # up, then down: the way down starts from what the way up found too, so its results hold both; and up once
    # more when the way down found a branch the way up lacked (a middle branch found between two stable ones is
    # then followed up to its fold as well)
    with ProgressBar("fixed point branches", 2 * S, unit="input values", enabled=progress) as bar:
        for sweep, order in enumerate((range(S), range(S - 1, -1, -1), range(S))):
            if sweep == 2 and not grew:
                break
            if sweep == 2:
                bar.end += S
            bar.stage(("up the sweep", "down the sweep", "up again")[sweep])
            previous = starts[:0]
            for s in order:
                res = find_fixed_points(sys_or_map, torch.cat([starts, previous, found[s]]), inputs=values[s],
                                        **options)
                grew |= sweep == 1 and len(res) > found[s].shape[0]
                found[s], previous, results[s] = res.points, res.points, res
                bar.advance()
    return FixedPointBranches(inputs=values, results=results, metadata={"system": results[0].metadata.get("system")})
