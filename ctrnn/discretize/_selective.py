"""Selective scan: the discrete Mamba recurrence, sequential or by the parallel associative scan."""

from __future__ import annotations

import torch

from .._errors import locate_divergence
from ..systems._selective import SelectiveSSM
from ._base import DiscreteMap
from ._linear import chunked_scan, phi1

SELECTIVE_SCHEMES = ("mamba", "zoh")


def _check_scheme(scheme: str) -> None:
    if scheme not in SELECTIVE_SCHEMES:
        raise ValueError(f"unknown selective scheme {scheme!r}; choose one of: {', '.join(SELECTIVE_SCHEMES)}")


def _transition(delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, u: torch.Tensor, scheme: str, *,
                selective: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``Abar = exp(Delta A)`` and ``Bbar u`` per element, shapes ``(..., d, N)``.

    delta, u: ``(..., d)``; A: ``(d, N)``; B: ``(..., N)`` per token (``selective``) or ``(d, N)``.
    The caller says which: the shapes alone are ambiguous when a batch or sequence length equals d.
    """
    z = delta[..., None] * A
    Bn = B[..., None, :] if selective else B
    gain = delta[..., None] if scheme == "mamba" else delta[..., None] * phi1(z)
    return torch.exp(z), gain * Bn * u[..., None]


def selective_scan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   D: torch.Tensor | None = None, *, scheme: str = "mamba", x0: torch.Tensor | None = None,
                   parallel: bool = True,
                   return_state: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The selective SSM recurrence over a sequence, in Mamba's conventions with a (batch, L, d) layout.

    ``x_k = exp(Delta_k A) x_{k-1} + Bbar_k u_k`` with ``Bbar_k = Delta_k B_k`` (``mamba``: ZOH for A,
    Euler for B) or ``(exp(Delta_k A) - 1) / A B_k`` (``zoh``); ``y_k = sum_n C_kn x_kdn + D u_k``.

    Arguments:
        u: ``(batch, L, d)``.
        delta: ``(batch, L, d)``, > 0 (already through softplus).
        A: ``(d, N)``, real or complex.
        B, C: ``(batch, L, N)`` (selective) or ``(d, N)`` (time-invariant).
        D: ``(d,)`` skip connection, or ``None``.
        scheme: ``mamba`` or ``zoh``.
        x0: initial state ``(batch, d, N)`` (zero if ``None``).
        parallel: evaluate by the chunked scan (:func:`~ctrnn.discretize.chunked_scan`, ``True``) or sequentially.
        return_state: also return the last state ``(batch, d, N)``.

    Returns:
        ``y (batch, L, d)`` (real part for complex ``A``), and the last state if asked.
    """
    _check_scheme(scheme)
    if u.ndim != 3 or delta.shape != u.shape:
        raise ValueError(f"u and delta must both have shape (batch, L, d); got {tuple(u.shape)} and {tuple(delta.shape)}")
    if A.ndim != 2 or A.shape[0] != u.shape[-1]:
        raise ValueError(f"A must have shape (d, N) = ({u.shape[-1]}, N), got {tuple(A.shape)}")
    for name, M in (("B", B), ("C", C)):
        if M.ndim not in (2, 3) or M.shape[-1] != A.shape[1]:
            raise ValueError(f"{name} must have shape (batch, L, N) (selective) or (d, N) (time-invariant) with "
                             f"N = {A.shape[1]}, got {tuple(M.shape)}")
    Abar, bu = _transition(delta, A, B, u, scheme, selective=B.ndim == 3)  # (batch, L, d, N)
    Abar, bu = Abar.movedim(1, 0), bu.movedim(1, 0)  # time-major
    if parallel:
        states = chunked_scan(Abar, bu, diagonal=True, x0=x0)
    else:
        # per-step tensors by unbind and one stack (not [k] reads and writes, whose backward is O(T) each)
        steps = []
        x = torch.zeros_like(bu[0]) if x0 is None else x0.to(bu.dtype)
        for Abar_k, bu_k in zip(Abar.unbind(0), bu.unbind(0)):
            x = Abar_k * x + bu_k
            steps.append(x)
        states = torch.stack(steps)
    states = states.movedim(0, 1)  # (batch, L, d, N)
    Cn = C[:, :, None, :] if C.ndim == 3 else C
    y = (states * Cn).sum(-1)
    y = y.real if y.is_complex() else y
    if D is not None:
        y = y + D * u
    return (y, states[:, -1]) if return_state else y


class SelectiveMap(DiscreteMap):
    """The discrete map of a :class:`~ctrnn.SelectiveSSM` with step ``dt`` (tokens per unit time):
    ``x_k = exp(Delta(u_k) dt A) x_{k-1} + Bbar(u_k) u_k``; the state is ``(*batch, d * N)``."""

    def __init__(self, system: SelectiveSSM, dt: float, scheme: str):
        super().__init__()
        _check_scheme(scheme)
        self.system, self.dt, self.scheme = system, dt, scheme
        self.state_dim, self.input_dim = system.state_dim, system.input_dim

    def _parts(self, u: torch.Tensor | None, batch: tuple[int, ...]):
        delta, B, C, u = self.system.selection(u, batch)
        Abar, bu = _transition(delta * self.dt, self.system.A, B, u, self.scheme, selective=True)
        return Abar, bu

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        s = self.system
        Abar, bu = self._parts(u, x.shape[:-1])
        X = x.reshape(*x.shape[:-1], s.channels, s.n_state)
        return (Abar * X + bu).reshape(x.shape)

    def output(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.system.output(x, u)

    def scan(self, x0: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """The states ``x_1 .. x_T`` ``(T, *batch, d * N)`` by the chunked scan (:func:`~ctrnn.discretize.chunked_scan`)."""
        s = self.system
        if inputs.ndim < 2 or inputs.shape[-1] != s.input_dim:
            raise ValueError(f"inputs must have shape (T, *batch, {s.input_dim}), got {tuple(inputs.shape)}")
        batch = torch.broadcast_shapes(x0.shape[:-1], inputs.shape[1:-1])
        Abar, bu = self._parts(inputs, inputs.shape[:-1])  # (T, *batch, d, N)
        X0 = x0.reshape(*x0.shape[:-1], s.channels, s.n_state)
        bu = bu.expand(inputs.shape[0], *batch, s.channels, s.n_state)
        states = chunked_scan(Abar.expand_as(bu), bu, diagonal=True, x0=X0)
        out = states.reshape(inputs.shape[0], *batch, s.state_dim)
        error = locate_divergence(out.detach(), torch.arange(1, out.shape[0] + 1), what="selective scan (time in steps)")
        if error is not None:
            raise error
        return out
