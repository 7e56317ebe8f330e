"""One step of a flow's or a map's scheme for the state and for tangent vectors, shared by the Lyapunov
spectrum and gradient propagation: ``x -> Phi(x)`` and ``V -> dPhi(x) V`` with the same scheme, so the
tangent vectors are exactly the derivative of the discrete trajectory the state follows."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import as_tensor, check_finite, check_positive
from ..discretize._base import DiscreteMap
from ..discretize._schemes import SCHEMES, Scheme
from ..inputs import Input
from ..systems._base import System
from ._common import check_dynamics, check_states

#: a flow's step and scheme when the caller leaves them unset (a map takes neither: it steps once per iteration)
FLOW_DT = 0.01
FLOW_METHOD = "rk4"


def tangent_problem(sys_or_map: System | DiscreteMap, x0: Any, dt: float | None, method: str | None,
                    verb: str) -> tuple[bool, torch.Tensor, float, str | None]:
    """Check the dynamics, the initial states and the flow-only options ``dt`` and ``method``.

    Arguments:
        sys_or_map: a flow or a map; x0: ``(n,)`` or ``(*batch, n)`` initial states.
        dt, method: a flow's step (default 0.01) and scheme name (default ``rk4``); ``None`` for a map.
        verb: the calling function's name, for messages.

    Returns:
        ``(is_map, x (B, n), step, method)``: the step is ``dt`` for a flow and 1 (one iteration) for a map;
        ``method`` is the resolved scheme name for a flow and ``None`` for a map.

    Raises:
        ValueError: ``dt`` or ``method`` given for a map (they would be ignored); ``dt <= 0``; an unknown
            scheme or one that does not apply to the flow (the message lists the choices).
    """
    is_map = check_dynamics(sys_or_map, verb)
    if is_map:
        if dt is not None:
            raise ValueError(f"{verb}: dt applies to flows; a map steps once per iteration: leave dt unset "
                             f"(got dt={dt!r}; the map's own step is chosen in discretize)")
        if method is not None:
            raise ValueError(f"{verb}: method applies to flows; a map steps by its own scheme: leave method unset "
                             f"(got method={method!r}; choose the scheme in discretize(..., scheme=...))")
    else:
        method = FLOW_METHOD if method is None else method
        problem = SCHEMES[method].obstacle(sys_or_map)  # an unknown name: the registry's message
        if problem is not None:
            valid = [name for name in SCHEMES if SCHEMES[name].obstacle(sys_or_map) is None]
            raise ValueError(f"{verb}: method {method!r} does not apply to {sys_or_map.describe()}: {problem}; "
                             f"choose one of: {', '.join(valid)}")
    x = check_states(sys_or_map, x0, "x0")
    x = x.reshape(-1, x.shape[-1]) if x.ndim != 1 else x[None]
    return is_map, x, 1.0 if is_map else check_positive(FLOW_DT if dt is None else dt, "dt"), method


class TangentStepper:
    """Advance ``x`` ``(B, n)`` and tangent vectors ``V`` ``(B, n, k)`` by one step: a map's own step, or for a
    flow one step of the registered scheme (:data:`ctrnn.discretize._schemes.SCHEMES`), the same object that
    ``discretize(flow, dt, scheme=method)`` steps with.

    Arguments:
        obj: a flow or a map; is_map: which.
        dt: the step of a flow (ignored for a map, whose step is one iteration).
        method: a flow's scheme name (``rk4``, ``euler``, ``exp_euler``), as :func:`tangent_problem` checked
            and resolved it; ``None`` for a map.
        inputs: ``None``; a constant ``(m,)`` / ``(B, m)``; for a flow an :class:`~ctrnn.inputs.Input`
            (``u(t)``, time from 0 at step 0; each RK4 stage reads its own time); for a map a sequence
            ``(T, *batch, m)`` (step ``k`` uses ``inputs[k]``).
        like: a state tensor whose dtype and device the inputs follow.
    """

    def __init__(self, obj: System | DiscreteMap, is_map: bool, *, dt: float, method: str | None, inputs: Any,
                 like: torch.Tensor):
        self.obj, self.is_map, self.dt, self.method = obj, is_map, float(dt), method
        self.scheme: Scheme | None = None if is_map else SCHEMES[method]
        self.real_dtype, self.device = like.real.dtype, like.device
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
            return (obj.step(x, u), None) if V is None else obj.step_with_tangent(x, V, u)
        t0 = torch.as_tensor(k * self.dt, dtype=x.real.dtype, device=x.device)

        def u_at(frac: float) -> torch.Tensor | None:
            return self._u(k, frac)

        if V is None:
            return self.scheme.step(obj, t0, x, self.dt, u_at), None
        return self.scheme.step_with_tangent(obj, t0, x, V, self.dt, u_at)
