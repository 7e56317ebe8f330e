"""``discretize``: a System and a step size to the DiscreteMap of a named scheme."""

from __future__ import annotations

import re

import torch

from .._validation import as_tensor, check_finite
from ..systems._base import System
from ..systems._selective import SelectiveSSM
from ..systems._ssm import DiagonalSSM, LinearSSM
from ._base import DiscreteMap
from ._linear import LINEAR_SCHEMES, LinearMap, LinearScheme, gbt
from ._nonlinear import SystemMap
from ._schemes import SCHEMES
from ._selective import SELECTIVE_SCHEMES, SelectiveMap


def all_schemes() -> list[str]:
    """Every scheme name :func:`discretize` knows, for any model.

    Returns:
        the sorted names (``gbt`` takes ``alpha``).
    """
    return sorted({*SCHEMES.names(), *LINEAR_SCHEMES.names(), *SELECTIVE_SCHEMES, "gbt"})


def applicable_schemes(system: System) -> list[str]:
    """The schemes that apply to a model.

    Arguments:
        system: a :class:`~ctrnn.System`.

    Returns:
        the sorted scheme names :func:`discretize` accepts for it (``gbt`` takes ``alpha``).
    """
    names = {name for name in SCHEMES if SCHEMES[name].obstacle(system) is None}
    if isinstance(system, (LinearSSM, DiagonalSSM)):
        names |= {*LINEAR_SCHEMES.names(), "gbt"}
    if isinstance(system, SelectiveSSM):
        names |= set(SELECTIVE_SCHEMES)
    return sorted(names)


def _step_sizes(dt: float | torch.Tensor, per_step_ok: bool) -> torch.Tensor:
    h = as_tensor(dt, "dt", dtype=torch.float64)
    if h.ndim > 1 or (h.ndim == 1 and not per_step_ok):
        raise ValueError("dt must be a positive number" + (" or a 1-D tensor of one step per input" if per_step_ok else
                         " (one step size per step is supported by the SSM schemes only)"))
    check_finite(h, "dt")
    if bool((h <= 0).any()):
        raise ValueError(f"dt must be > 0, got {float(h.min()) if h.numel() else h}")
    return h


def _linear_scheme(scheme: str, alpha: float | None) -> LinearScheme:
    match = re.fullmatch(r"gbt\(\s*([0-9.eE+-]+)\s*\)", scheme)
    if match:
        return gbt(float(match.group(1)))
    if scheme == "gbt":
        if alpha is None:
            raise ValueError("scheme 'gbt' needs alpha= (0 forward Euler, 0.5 bilinear, 1 backward Euler)")
        return gbt(alpha)
    return LINEAR_SCHEMES[scheme]


def discretize(system: System, dt: float | torch.Tensor, *, scheme: str = "euler",
               alpha: float | None = None) -> DiscreteMap:
    """The discrete-time map of ``system`` with step ``dt`` under ``scheme``.

    Arguments:
        system: a :class:`~ctrnn.System`.
        dt: the step, in the system's time units: a number, or for linear / diagonal SSMs a ``(T,)``
            tensor with one step per input (irregular steps, as Mamba's Delta).
        scheme: for a ``SelectiveSSM`` also ``zoh`` (exact while each input is held) and ``mamba``
            (Mamba's recurrence); for any system ``euler`` (``x + dt f``; the LSTM's is staggered), ``exp_euler``
            (exact for the linear leak of rate, Beer and gated models) and ``rk4``; for
            ``LinearSSM`` / ``DiagonalSSM`` also ``zoh``, ``foh``, ``bilinear``, ``backward_euler``,
            ``gbt`` (with ``alpha``, or ``"gbt(0.3)"``), ``impulse`` and ``mamba`` (ZOH for A, Euler for B),
            with scipy's ``cont2discrete`` formulas.
        alpha: the parameter of ``gbt``.

    Returns:
        A :class:`LinearMap` for linear systems under any scheme but ``rk4`` / ``exp_euler``, else a
        :class:`SystemMap`.

    Raises:
        ValueError: unknown scheme; a linear-only scheme for a nonlinear model (the message lists
            the schemes that apply); ``dt <= 0``; ``exp_euler`` for a model without a leak.
    """
    if isinstance(system, DiscreteMap):
        raise TypeError("discretize takes a continuous-time System; this is already a DiscreteMap")
    if not isinstance(system, System):
        raise TypeError(f"discretize takes a ctrnn.System, got {type(system).__name__}")
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a name, got {type(scheme).__name__}")
    linear = isinstance(system, (LinearSSM, DiagonalSSM))
    base = scheme.split("(")[0]
    if base not in all_schemes():
        raise ValueError(f"unknown scheme {scheme!r}; choose one of: {', '.join(all_schemes())}")

    if linear and base not in ("rk4", "exp_euler"):  # the SSM's own euler: scipy's matrices
        h = _step_sizes(dt, per_step_ok=True)
        chosen = _linear_scheme(scheme, alpha)
        return linear_map(system, h, chosen)

    valid = applicable_schemes(system)
    if base not in valid:
        why = (SCHEMES[base].obstacle(system) if base in SCHEMES else
               "it applies to linear systems (LinearSSM, DiagonalSSM) only")
        raise ValueError(f"scheme {scheme!r} does not apply to {type(system).__name__}: {why}; choose one of: "
                         f"{', '.join(valid)}")
    h = float(_step_sizes(dt, per_step_ok=False))
    if isinstance(system, SelectiveSSM) and base in SELECTIVE_SCHEMES:
        return SelectiveMap(system, h, base)
    return SystemMap(system, h, base)


def linear_map(system: LinearSSM | DiagonalSSM, dt: torch.Tensor, scheme: LinearScheme) -> LinearMap:
    diagonal = isinstance(system, DiagonalSSM)
    A = system.lam if diagonal else system.A
    real = A.dtype.to_real()
    h = dt.to(dtype=real, device=A.device)
    with torch.no_grad():
        fn = scheme.diagonal if diagonal else scheme.dense
        Ad, Bd, Cd, Dd = fn(A.detach(), system.B.detach(), system.C.detach(), system.D.detach().to(system.C.dtype), h)
    C_map, D_map = (Cd, Dd) if scheme.shifted_state else (system.C.detach(), system.D.detach())
    if D_map.is_complex():
        D_map = D_map.real if not bool((D_map.imag != 0).any()) else D_map
    return LinearMap(Ad, Bd, C_map, D_map, dt=h, scheme=scheme.name, diagonal=diagonal, scipy_matrices=(Ad, Bd, Cd, Dd))
