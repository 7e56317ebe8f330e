"""One step of a flow's or a map's scheme for the state and for tangent vectors, shared by the Lyapunov
spectrum and gradient propagation: ``x -> Phi(x)`` and ``V -> dPhi(x) V`` with the same scheme, so the
tangent vectors are exactly the derivative of the discrete trajectory the state follows."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import as_tensor, check_finite, check_positive
from ..discretize._base import DiscreteMap, map_time_step
from ..inputs import Input
from ..systems._base import System
from ._common import check_dynamics, check_states

#: schemes for flows: classic RK4 (default) and explicit Euler
FLOW_SCHEMES = ("rk4", "euler")


def tangent_problem(sys_or_map: System | DiscreteMap, x0: Any, dt: float, verb: str) -> tuple[bool, torch.Tensor, float]:
    """``(is_map, x (B, n), step)``: the dynamics checked, the initial states as a batch, and the step a
    flow's scheme takes (``dt``, checked) or a map's (one iteration)."""
    is_map = check_dynamics(sys_or_map, verb)
    x = check_states(sys_or_map, x0, "x0")
    x = x.reshape(-1, x.shape[-1]) if x.ndim != 1 else x[None]
    return is_map, x, 1.0 if is_map else check_positive(dt, "dt")


class TangentStepper:
    """Advance ``x`` ``(B, n)`` and tangent vectors ``V`` ``(B, n, k)`` by one step.

    Arguments:
        obj: a flow or a map; is_map: which.
        dt: the step of a flow (ignored for a map, whose step is one iteration).
        method: ``rk4`` or ``euler`` for a flow.
        inputs: ``None``; a constant ``(m,)`` / ``(B, m)``; for a flow an :class:`~ctrnn.inputs.Input`
            (``u(t)``, time from 0 at step 0); for a map a sequence ``(T, *batch, m)`` (step ``k`` uses
            ``inputs[k]``).
    """

    def __init__(self, obj: System | DiscreteMap, is_map: bool, *, dt: float, method: str, inputs: Any,
                 like: torch.Tensor):
        self.obj, self.is_map, self.dt, self.method = obj, is_map, float(dt), method
        self.real_dtype, self.device = like.real.dtype, like.device
        if not is_map and method not in FLOW_SCHEMES:
            raise ValueError(f"unknown method {method!r} for a flow; choose one of: {', '.join(FLOW_SCHEMES)}")
        self.function: Input | None = None
        self.sequence: torch.Tensor | None = None
        self.constant: torch.Tensor | None = None
        if inputs is None:
            return
        if obj.input_dim == 0:
            raise ValueError("this model has no inputs: leave inputs=None")
        if isinstance(inputs, Input):
            if is_map:
                raise TypeError("a map takes its inputs as a tensor (T, *batch, m), not an Input object")
            self.function = inputs.to(dtype=like.real.dtype, device=like.device)
            return
        u = as_tensor(inputs, "inputs").to(device=like.device, dtype=like.real.dtype)
        check_finite(u, "inputs")
        if u.ndim == 0 or u.shape[-1] != obj.input_dim:
            raise ValueError(f"inputs must end in m = {obj.input_dim}, got shape {tuple(u.shape)}")
        if is_map and u.ndim == like.ndim + 1:
            self.sequence = u
        elif u.ndim <= like.ndim:
            self.constant = u
        else:
            raise ValueError(f"inputs must be constant (m,) or (B, m)"
                             f"{', or a sequence (T, B, m) for a map' if is_map else ''}; got shape {tuple(u.shape)}")

    def steps_available(self) -> int | None:
        """How many steps the inputs cover (``None``: any number)."""
        return None if self.sequence is None else self.sequence.shape[0]

    def _u(self, k: int, offset: float = 0.0) -> torch.Tensor | None:
        if self.sequence is not None:
            return self.sequence[k]
        if self.function is not None:
            return self.function(torch.as_tensor((k + offset) * self.dt, dtype=self.real_dtype, device=self.device))
        return self.constant

    def step(self, x: torch.Tensor, k: int, V: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(Phi(x), dPhi(x) V)`` for step ``k`` (``V`` may be ``None``: the state alone)."""
        obj = self.obj
        if self.is_map:
            u = self._u(k)
            return obj.step(x, u), (None if V is None else obj.jvp(x, V, u))
        h = self.dt
        t0 = torch.as_tensor(k * h, dtype=x.real.dtype, device=x.device)

        def f(y: torch.Tensor, frac: float) -> torch.Tensor:
            return obj(t0 + frac * h, y, self._u(k, frac))

        def jv(y: torch.Tensor, W: torch.Tensor, frac: float) -> torch.Tensor:
            return obj.jvp(y, W, self._u(k, frac), t0 + frac * h)

        if self.method == "euler":
            return x + h * f(x, 0.0), (None if V is None else V + h * jv(x, V, 0.0))
        # RK4 on the pair (x, V) with V' = J(x) V: V advances by exactly the derivative of the RK4 map
        k1 = f(x, 0.0)
        x2 = x + 0.5 * h * k1
        k2 = f(x2, 0.5)
        x3 = x + 0.5 * h * k2
        k3 = f(x3, 0.5)
        x4 = x + h * k3
        k4 = f(x4, 1.0)
        x_next = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if V is None:
            return x_next, None
        K1 = jv(x, V, 0.0)
        K2 = jv(x2, V + 0.5 * h * K1, 0.5)
        K3 = jv(x3, V + 0.5 * h * K2, 0.5)
        K4 = jv(x4, V + h * K3, 1.0)
        return x_next, V + (h / 6.0) * (K1 + 2.0 * K2 + 2.0 * K3 + K4)
