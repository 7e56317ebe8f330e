"""What the analysis verbs share: flows and maps behind one residual / Jacobian interface."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import as_state, as_tensor, check_finite, reference_tensor
from ..discretize._base import DiscreteMap
from ..systems._base import System


def check_dynamics(obj: Any, verb: str) -> bool:
    """``True`` for a map, ``False`` for a flow; ``TypeError`` for anything else."""
    if isinstance(obj, DiscreteMap):
        return True
    if isinstance(obj, System):
        return False
    raise TypeError(f"{verb} takes a ctrnn.System (a flow) or a ctrnn.DiscreteMap (a map), got {type(obj).__name__}")


def check_states(obj: System | DiscreteMap, x: Any, name: str) -> torch.Tensor:
    """``x`` as a ``(*batch, n)`` tensor in the model's dtype and device: non-empty, finite, real for a real
    model, in a supported dtype (see :func:`~ctrnn._validation.as_state`)."""
    return as_state(x, name, obj.state_dim, reference_tensor(obj))


def check_input(obj: System | DiscreteMap, inputs: Any, x: torch.Tensor) -> torch.Tensor | None:
    """A constant input ``(m,)`` or ``(*batch, m)`` (``None``: zero input)."""
    if inputs is None:
        return None
    if obj.input_dim == 0:
        raise ValueError("this model has no inputs: leave inputs=None")
    u = as_tensor(inputs, "inputs").to(device=x.device, dtype=x.real.dtype)
    if u.ndim == 0 or u.shape[-1] != obj.input_dim:
        raise ValueError(f"inputs must be a constant input of shape (m,) or (*batch, m) with m = {obj.input_dim}, "
                         f"got {tuple(u.shape)}")
    check_finite(u, "inputs")
    return u


def jacobian(sys_or_map: System | DiscreteMap, x: Any, *, inputs: Any = None) -> torch.Tensor:
    """``df/dx`` of a flow or ``dF/dx`` of a map at ``x``.

    Arguments:
        sys_or_map: a :class:`~ctrnn.System` or :class:`~ctrnn.DiscreteMap`.
        x: ``(*batch, n)``.
        inputs: constant input ``(m,)`` or ``(*batch, m)``.

    Returns:
        ``(*batch, n, n)``; row ``i`` is the gradient of component ``i``.
    """
    check_dynamics(sys_or_map, "jacobian")
    x = check_states(sys_or_map, x, "x")
    u = check_input(sys_or_map, inputs, x)
    return sys_or_map.jacobian(x, u).detach()


def residual_and_jacobian(obj: System | DiscreteMap, is_map: bool, x: torch.Tensor,
                          u: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``g(x)`` (``f`` for a flow, ``F - x`` for a map) and its Jacobian, both batched."""
    J = obj.jacobian(x, u)
    if is_map:
        J = J - torch.eye(obj.state_dim, dtype=x.dtype, device=x.device)
    return residual(obj, is_map, x, u), J


def residual(obj: System | DiscreteMap, is_map: bool, x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
    """``g(x)`` alone (``f`` for a flow, ``F - x`` for a map)."""
    if is_map:
        return obj.step(x, u) - x
    return obj(torch.zeros((), dtype=x.real.dtype, device=x.device), x, u)
