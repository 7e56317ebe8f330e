"""Eigenvalue spectra: a rate network's connectivity against the circular law, and Jacobians along
trajectories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ..._validation import as_tensor
from ...discretize._base import DiscreteMap
from ...systems._base import System
from ...systems._rate import RateRNN
from .._common import check_dynamics, check_input, check_states

if TYPE_CHECKING:
    from matplotlib.figure import Figure



@dataclass(frozen=True, eq=False, repr=False)
class ConnectivitySpectrum(Result):
    """Eigenvalues of a rate network's recurrent matrix ``W_eff``.

    Attributes:
        eigenvalues: ``(n,)`` complex.
        radius: the circular law's radius ``g`` for ``W_ij ~ N(0, g^2 / n)`` (Girko; Sompolinsky et al. 1988).
        spectral_radius: ``max |lambda|`` measured.
    """

    eigenvalues: torch.Tensor
    radius: float
    spectral_radius: float

    def plot(self, *, title: str | None = None) -> Figure:
        """Eigenvalues with the circular law's disc of radius ``g``. Returns a Figure."""
        return plot_result(self, title=title)


def connectivity_spectrum(net: RateRNN) -> ConnectivitySpectrum:
    """The eigenvalues of ``W_eff`` of a :class:`~ctrnn.RateRNN`, with the circular law's radius ``g``.

    For the x-form at the origin the Jacobian is ``(-I + W phi'(0)) / tau``, so with tanh the origin
    loses stability when an eigenvalue of ``W`` crosses ``Re lambda = 1``: at ``g = 1`` for large n.

    Arguments:
        net: a :class:`~ctrnn.RateRNN`.

    Returns:
        :class:`ConnectivitySpectrum` with the ``(n,)`` complex eigenvalues.

    Raises:
        TypeError: not a rate network (other models have no single connectivity matrix).
    """
    if not isinstance(net, RateRNN):
        raise TypeError(f"connectivity_spectrum takes a RateRNN, got {type(net).__name__}")
    ev = torch.linalg.eigvals(net.W_eff.detach())
    return ConnectivitySpectrum(eigenvalues=ev, radius=net.g, spectral_radius=float(ev.abs().max()))


@dataclass(frozen=True, eq=False, repr=False)
class JacobianSpectra(Result):
    """Jacobian eigenvalues at a sequence of states (e.g. along a trajectory).

    Attributes:
        eigenvalues: ``(..., n)`` complex, sorted by decreasing real part (flow) or modulus (map).
        t: ``(T,)`` times of the states when known (the leading axis of ``eigenvalues``), else ``None``.
        is_map: the stability boundary is the unit circle (map) or the imaginary axis (flow).
    """

    eigenvalues: torch.Tensor
    t: torch.Tensor | None = None
    is_map: bool = False

    def leading(self) -> torch.Tensor:
        """``(...)`` the leading eigenvalue's real part (flow) or modulus (map) at each state."""
        lead = self.eigenvalues[..., 0]
        return lead.abs() if self.is_map else lead.real

    def plot(self, *, title: str | None = None) -> Figure:
        """Left: every eigenvalue in the complex plane, coloured by time, with the stability boundary.
        Right: the leading real part (or modulus) against time. Returns a Figure."""
        return plot_result(self, title=title)


def spectra_along(sys_or_map: System | DiscreteMap, states: Any, *, inputs: Any = None,
                  t: Any = None) -> JacobianSpectra:
    """Eigenvalues of the Jacobian at every state.

    Arguments:
        sys_or_map: a flow or a map.
        states: ``(..., n)``, e.g. ``Trajectory.x`` ``(T, *batch, n)``.
        inputs: a constant input ``(m,)`` or one per state ``(..., m)``.
        t: ``(T,)`` the times of the states' leading axis (e.g. ``Trajectory.t``), for the plot.

    Returns:
        :class:`JacobianSpectra`, eigenvalues ``(..., n)`` sorted by decreasing real part (flow) or
        modulus (map).
    """
    is_map = check_dynamics(sys_or_map, "spectra_along")
    x = check_states(sys_or_map, states, "states")
    u = check_input(sys_or_map, inputs, x)
    with torch.no_grad():
        ev = torch.linalg.eigvals(sys_or_map.jacobian(x, u).detach())
    key = ev.abs() if is_map else ev.real
    ev = torch.gather(ev, -1, torch.argsort(key, dim=-1, descending=True))
    times = None if t is None else as_tensor(t, "t")
    if times is not None and (times.ndim != 1 or x.ndim < 2 or times.shape[0] != x.shape[0]):
        raise ValueError(f"t must have one time per state along the leading axis ({x.shape[0]}), got {tuple(times.shape)}")
    return JacobianSpectra(eigenvalues=ev, t=times, is_map=is_map)
