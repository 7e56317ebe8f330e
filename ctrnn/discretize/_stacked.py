"""Several maps of one architecture as one batched map, and :func:`stack_models` for flows and maps alike
(the mechanism is :mod:`ctrnn.systems._stacked`'s)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..systems._base import System
from ..systems._stacked import StackedSystem, _Stacked
from ._base import DiscreteMap, map_time_step


class StackedMap(_Stacked, DiscreteMap):
    """``P`` maps of one architecture as one :class:`~ctrnn.DiscreteMap` on a ``(P * B, n)`` batch."""

    def __init__(self, models: Sequence[DiscreteMap]):
        DiscreteMap.__init__(self)
        self._stack(models)
        dts = {map_time_step(m) for m in models}
        self.dt = dts.pop() if len(dts) == 1 else None  # a common step, for exponents per unit time

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self._vmapped("step", (x, u), (True, self._input_is_batched(u)))

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self._vmapped("jacobian", (x, u), (True, self._input_is_batched(u)))

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self._vmapped("jvp", (x, v, u), (True, True, self._input_is_batched(u)))


def stack_models(models: Sequence[System | DiscreteMap]) -> StackedSystem | StackedMap:
    """One batched model for several networks of one architecture, so that they share one solve.

    Arguments:
        models: ``P`` flows, or ``P`` maps, of one class with tensors of the same shapes.

    Returns:
        a :class:`~ctrnn.systems.StackedSystem` (or :class:`StackedMap`) on a ``(P * B, n)`` batch, network-major.

    Raises:
        ValueError: naming the difference when the models cannot be stacked, or flows mixed with maps.
    """
    if all(isinstance(m, System) for m in models):
        return StackedSystem(models)
    if all(isinstance(m, DiscreteMap) for m in models):
        return StackedMap(models)
    raise ValueError("stack flows with flows and maps with maps")
