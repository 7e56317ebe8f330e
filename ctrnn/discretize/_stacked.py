"""Several maps of one architecture as one batched map, and :func:`stack_models` for flows and maps alike
(the mechanism is :mod:`ctrnn.systems._stacked`'s)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..systems._base import System
from ..systems._stacked import StackedSystem, _Stacked, has_native_stack
from ._base import DiscreteMap, map_time_step
from ._nonlinear import SystemMap


class StackedMap(_Stacked, DiscreteMap):
    """``P`` maps of one architecture as one :class:`~ctrnn.DiscreteMap` on a ``(P * B, n)`` batch.

    Discretizations of a class with a native stacked path (rate and Beer networks) under one scheme and step are
    one discretization of their stacked flow (attribute ``native``): the scheme steps all networks at once. Other maps
    run the first one's code under ``torch.vmap``.
    """

    def __init__(self, models: Sequence[DiscreteMap], *, native: bool | None = None):
        DiscreteMap.__init__(self)
        self._stack(models, native=native, available=stacks_natively(models[0]), native_inside=True)
        dts = {map_time_step(m) for m in models}
        self.dt = dts.pop() if len(dts) == 1 else None  # a common step, for exponents per unit time
        # the maps passed the stacking check, so they share the scheme and the step
        self.flow_map = SystemMap(StackedSystem([m.system for m in models]), models[0].dt,
                                  models[0].scheme) if self.native else None

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.flow_map is not None:
            return self.flow_map.step(x, u)
        return self._vmapped("step", (x, u), (True, self._input_is_batched(u)))

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.flow_map is not None:
            return self.flow_map.jacobian(x, u)
        return self._vmapped("jacobian", (x, u), (True, self._input_is_batched(u)))

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.flow_map is not None:
            return self.flow_map.jvp(x, v, u)
        return self._vmapped("jvp", (x, v, u), (True, True, self._input_is_batched(u)))

    def step_with_tangent(self, x: torch.Tensor, V: torch.Tensor,
                          u: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.flow_map is not None:
            return self.flow_map.step_with_tangent(x, V, u)
        return super().step_with_tangent(x, V, u)


def stacks_natively(model: System | DiscreteMap) -> bool:
    """Whether networks like ``model`` stack without ``torch.vmap``.

    Arguments:
        model: a flow, or a map.

    Returns:
        ``True`` for a flow of a class with its own native stacked path (rate and Beer networks) or such a flow's
        discretization (:func:`~ctrnn.discretize`); ``False`` otherwise (stacking then runs under ``torch.vmap``).
    """
    if type(model) is SystemMap:
        model = model.system
    return isinstance(model, System) and has_native_stack(model)


def stack_models(models: Sequence[System | DiscreteMap], *, native: bool | None = None) -> StackedSystem | StackedMap:
    """One batched model for several networks of one architecture, so that they share one solve.

    Arguments:
        models: ``P`` flows, or ``P`` maps, of one class with tensors of the same shapes.
        native: whether to run them through the class's native stacked path, batched products over the networks
            (``None``, the default: where it has one, see :func:`stacks_natively`); ``False``: the first network's
            code under ``torch.vmap``, for any class (milliseconds of set-up per call).

    Returns:
        a :class:`~ctrnn.systems.StackedSystem` (or :class:`StackedMap`) on a ``(P * B, n)`` batch, network-major.

    Raises:
        ValueError: naming the difference when the models cannot be stacked, flows mixed with maps, or
            ``native=True`` for a class without the native path.
    """
    if all(isinstance(m, System) for m in models):
        return StackedSystem(models, native=native)
    if all(isinstance(m, DiscreteMap) for m in models):
        return StackedMap(models, native=native)
    raise ValueError("stack flows with flows and maps with maps")
