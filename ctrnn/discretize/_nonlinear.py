"""Discretizations that apply to any System: the maps of the one-step schemes of :mod:`._schemes`
(explicit Euler, exponential Euler, classic RK4).

The input is held constant over each step (``u_k`` drives the step that produces ``x_k``) and the
system is taken as time-invariant (``t = 0``).
"""

from __future__ import annotations

import torch

from ..systems._base import System
from ._base import DiscreteMap
from ._schemes import SCHEMES


class SystemMap(DiscreteMap):
    """``x_k = F(x_{k-1}, u_k)`` for a System and a step ``dt`` under a one-step scheme.

    Attributes:
        system: the continuous-time model.
        dt: the step (the model's time units); a float or a scalar / per-unit tensor.
        scheme: ``euler``, ``exp_euler`` or ``rk4`` (the name; the step itself is ``SCHEMES[scheme]``).
    """

    def __init__(self, system: System, dt: float, scheme: str):
        super().__init__()
        self._scheme = SCHEMES[scheme]
        self.system, self.dt, self.scheme = system, dt, scheme
        self.state_dim, self.input_dim = system.state_dim, system.input_dim

    def _t0(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((), dtype=x.real.dtype, device=x.device)

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self._scheme.step(self.system, self._t0(x), x, self.dt, lambda frac: u)

    def _rollout(self, x0: torch.Tensor, inputs: torch.Tensor | None, n_steps: int) -> torch.Tensor:
        # a model's fused loop where it has one (a rate network's Euler / exp-Euler map): the same map, fewer ops
        fused = getattr(self.system, "fused_rollout", None)
        out = None if fused is None else fused(x0, inputs, n_steps, self.dt, self.scheme)
        return super()._rollout(x0, inputs, n_steps) if out is None else out

    def step_with_tangent(self, x: torch.Tensor, V: torch.Tensor,
                          u: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self._scheme.step_with_tangent(self.system, self._t0(x), x, V, self.dt, lambda frac: u)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.step_with_tangent(x, v, u)[1]
