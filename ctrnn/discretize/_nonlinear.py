"""Discretizations that apply to any System: explicit Euler, exponential Euler and classic RK4 maps.

The input is held constant over each step (``u_k`` drives the step that produces ``x_k``) and the
system is taken as time-invariant (``t = 0``).
"""

from __future__ import annotations

import torch

from ..systems._base import System
from ._base import DiscreteMap
from ._linear import phi1


class SystemMap(DiscreteMap):
    """``x_k = F(x_{k-1}, u_k)`` for a System and a step ``dt`` under a one-step scheme.

    Attributes:
        system: the continuous-time model.
        dt: the step (the model's time units); a float or a scalar / per-unit tensor.
        scheme: ``euler``, ``exp_euler`` or ``rk4``.
    """

    def __init__(self, system: System, dt: float, scheme: str):
        super().__init__()
        self.system, self.dt, self.scheme = system, dt, scheme
        self.state_dim, self.input_dim = system.state_dim, system.input_dim

    def _f(self, x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        return self.system(torch.zeros((), dtype=x.real.dtype, device=x.device), x, u)

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dt
        if self.scheme == "euler":
            return self.system.euler_step(x, u, h)
        if self.scheme == "exp_euler":
            # ETD1: x + h phi1(-lam h) f(x), exact for f = -lam x + constant
            lam = self.system.leak(x, u)
            return x + h * phi1(-lam * h) * self._f(x, u)  # phi1 stays finite as lam -> 0 (GRU's z -> 1)
        k1 = self._f(x, u)
        k2 = self._f(x + 0.5 * h * k1, u)
        k3 = self._f(x + 0.5 * h * k2, u)
        k4 = self._f(x + h * k3, u)
        return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.scheme == "euler" and type(self.system).euler_step is System.euler_step:
            return v + self.dt * self.system.jvp(x, v, u)  # (I + h J) v through the model's structured JVP
        return super().jvp(x, v, u)
