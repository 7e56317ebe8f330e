"""One-step schemes for any System: the single definition of ``euler``, ``exp_euler`` and ``rk4``.

A :class:`~ctrnn.discretize.SystemMap` (``discretize``) and the flow branch of the tangent stepper behind
``lyapunov_spectrum`` and ``gradient_propagation`` both step through these objects, so one scheme name
means one map ``Phi`` everywhere, and the tangent ``dPhi(x) V`` is the exact derivative of that map.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._registry import Registry
from ..systems._base import System, batched_jvp
from ._linear import phi1

#: ``u_at(frac)``: the input at time ``t + frac * h`` of the step (``None``: zero input)
InputAt = Callable[[float], "torch.Tensor | None"]


class Scheme:
    """A one-step scheme ``x_next = Phi(x)`` for a :class:`~ctrnn.System`, and its tangent map.

    Subclasses implement :meth:`step` and :meth:`step_with_tangent`; :meth:`obstacle` says when a scheme
    needs a model hook (``leak``) that the model does not provide. Adding a scheme means one subclass and
    one ``SCHEMES.register`` line.

    Attributes:
        name: the registered name (``discretize(..., scheme=name)``, ``lyapunov_spectrum(..., method=name)``).
    """

    name: str

    def obstacle(self, system: System) -> str | None:
        """Why this scheme does not apply to ``system`` (a sentence), or ``None`` when it does."""
        return None

    def step(self, system: System, t: torch.Tensor, x: torch.Tensor, h: float,
             u_at: InputAt) -> torch.Tensor:
        """One step.

        Arguments:
            system: the flow ``f(t, x, u)``.
            t: scalar tensor, the time at the start of the step (model time units).
            x: ``(*batch, n)`` the state.
            h: the step, in the model's time units.
            u_at: ``u_at(frac)`` is the input at ``t + frac * h``, ``(*batch, m)`` or ``None``.

        Returns:
            ``(*batch, n)``: the state after the step.
        """
        raise NotImplementedError

    def step_with_tangent(self, system: System, t: torch.Tensor, x: torch.Tensor, V: torch.Tensor, h: float,
                          u_at: InputAt) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the state and of tangent vectors.

        Arguments:
            V: ``(*batch, n, k)`` tangent vectors in the columns (or ``(*batch, n)``: one vector).
            others: as :meth:`step`.

        Returns:
            ``(x_next, dPhi(x) V)``: ``(*batch, n)`` and the shape of ``V``, where ``Phi`` is exactly
            :meth:`step` (so the vectors follow the derivative of the discrete trajectory).
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<scheme {self.name!r}>"


def _generic_tangent(scheme: Scheme, system: System, t: torch.Tensor, x: torch.Tensor, V: torch.Tensor, h: float,
                     u_at: InputAt) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Phi(x), dPhi(x) V)`` by forward-mode autograd through :meth:`Scheme.step`: exact for any hook."""
    x_next = scheme.step(system, t, x, h, u_at)
    return x_next, batched_jvp(lambda y: scheme.step(system, t, y, h, u_at), x, V)


class Euler(Scheme):
    """``x + h f(t, x, u(t))``, or the model's own Euler form where it defines one (the LSTM's staggered
    step: cell first, then hidden, so that ``h = tau`` is ``torch.nn.LSTMCell``). Such a hook takes no
    time: models that define one are time-invariant."""

    name = "euler"

    def step(self, system, t, x, h, u_at):
        u = u_at(0.0)
        if system.has_hook("euler_step"):
            return system.euler_step(x, u, h)
        return x + h * system(t, x, u)

    def step_with_tangent(self, system, t, x, V, h, u_at):
        if system.has_hook("euler_step"):  # the hook's own derivative, by autograd
            return _generic_tangent(self, system, t, x, V, h, u_at)
        u = u_at(0.0)
        # (I + h J) V through the model's structured product (a rate network: one einsum, no J formed)
        return x + h * system(t, x, u), V + h * system.jvp(x, V, u, t)


class ExpEuler(Scheme):
    """Exponential Euler (ETD1) ``x + h phi1(-lam h) f(t, x, u)`` with the model's leak ``lam``: exact for
    ``f = -lam x + constant``; ``phi1`` stays finite as ``lam -> 0`` (a GRU's ``z -> 1``)."""

    name = "exp_euler"

    def obstacle(self, system):
        x = torch.zeros(system.state_dim, dtype=system.dtype or torch.float64, device=system.device)
        if system.leak(x) is None:
            return "exp_euler needs a linear leak, which it does not define"
        return None

    def step(self, system, t, x, h, u_at):
        u = u_at(0.0)
        lam = system.leak(x, u)
        return x + h * phi1(-lam * h) * system(t, x, u)

    def step_with_tangent(self, system, t, x, V, h, u_at):
        # the leak may depend on the state (a GRU's update gate): autograd differentiates it too
        return _generic_tangent(self, system, t, x, V, h, u_at)


class RK4(Scheme):
    """Classic fourth-order Runge-Kutta with stage times ``t, t + h/2, t + h/2, t + h``; the tangent runs
    the same stages on ``V' = J(x) V`` through the model's ``jvp``, which is exactly the derivative of the
    RK4 map (each stage's ``J`` at that stage's state)."""

    name = "rk4"

    def step(self, system, t, x, h, u_at):
        return self._stages(system, t, x, h, u_at)[0]

    @staticmethod
    def _stages(system, t, x, h, u_at):
        u0, u_half, u1 = u_at(0.0), u_at(0.5), u_at(1.0)
        k1 = system(t, x, u0)
        x2 = x + 0.5 * h * k1
        k2 = system(t + 0.5 * h, x2, u_half)
        x3 = x + 0.5 * h * k2
        k3 = system(t + 0.5 * h, x3, u_half)
        x4 = x + h * k3
        k4 = system(t + h, x4, u1)
        return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4), (x2, x3, x4), (u0, u_half, u1)

    def step_with_tangent(self, system, t, x, V, h, u_at):
        x_next, (x2, x3, x4), (u0, u_half, u1) = self._stages(system, t, x, h, u_at)
        if not isinstance(h, (int, float)):  # a tensor step: the plain expressions
            K1 = system.jvp(x, V, u0, t)
            K2 = system.jvp(x2, V + 0.5 * h * K1, u_half, t + 0.5 * h)
            K3 = system.jvp(x3, V + 0.5 * h * K2, u_half, t + 0.5 * h)
            K4 = system.jvp(x4, V + h * K3, u1, t + h)
            return x_next, V + (h / 6.0) * (K1 + 2.0 * K2 + 2.0 * K3 + K4)
        # the tangents are (n, k) for a full spectrum: one fused pass per combination, not two or three
        # (the elementwise passes were a third of the spectrum's time at N = 256)
        K1 = system.jvp(x, V, u0, t)
        K2 = system.jvp(x2, torch.add(V, K1, alpha=0.5 * h), u_half, t + 0.5 * h)
        K3 = system.jvp(x3, torch.add(V, K2, alpha=0.5 * h), u_half, t + 0.5 * h)
        K4 = system.jvp(x4, torch.add(V, K3, alpha=h), u1, t + h)
        total = torch.add(K1, K2, alpha=2.0).add_(K3, alpha=2.0).add_(K4)
        return x_next, torch.add(V, total, alpha=h / 6.0)


#: the one-step schemes that apply to any System (``discretize``; a flow's ``method`` in the analyses)
SCHEMES: Registry[Scheme] = Registry("scheme")
for _scheme in (Euler(), ExpEuler(), RK4()):
    SCHEMES.register(_scheme.name, _scheme)
