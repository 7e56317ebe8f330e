"""Eigenvalue spectra: a rate network's connectivity against the circular law, and Jacobians along
trajectories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .._validation import as_tensor
from ..discretize._base import DiscreteMap
from ..systems._base import System
from ..systems._rate import RateRNN
from ._common import check_dynamics, check_input, check_states


@dataclass(frozen=True, eq=False)
class ConnectivitySpectrum:
    """Eigenvalues of a rate network's recurrent matrix ``W_eff``.

    Attributes:
        eigenvalues: ``(n,)`` complex.
        radius: the circular law's radius ``g`` for ``W_ij ~ N(0, g^2 / n)`` (Girko; Sompolinsky et al. 1988).
        spectral_radius: ``max |lambda|`` measured.
    """

    eigenvalues: torch.Tensor
    radius: float
    spectral_radius: float

    def plot(self, *, title: str | None = None):
        """Eigenvalues with the circular law's disc of radius ``g``. Returns a Figure."""
        import matplotlib.pyplot as plt
        import numpy as np

        from ..plot import PALETTE, STYLE

        with plt.rc_context(STYLE):
            fig, ax = plt.subplots(figsize=(4.8, 5.4))
            ev = self.eigenvalues.detach().cpu()
            theta = np.linspace(0, 2 * np.pi, 400)
            ax.plot(self.radius * np.cos(theta), self.radius * np.sin(theta), color="0.4", ls="--", lw=1,
                    label=f"circular law, radius g = {self.radius:g}")
            ax.plot(ev.real, ev.imag, ".", color=PALETTE[0], ms=3, label=f"eigenvalues of W (n = {ev.numel()})")
            ax.axvline(1.0, color=PALETTE[3], lw=1, ls=":", label="Re lambda = 1 (origin loses stability)")
            ax.set_aspect("equal", adjustable="datalim")
            ax.set_xlabel("Re lambda"), ax.set_ylabel("Im lambda")
            ax.set_title(title or f"connectivity spectrum, max |lambda| = {self.spectral_radius:.3f}")
            ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13))  # off the disc
            fig.tight_layout()
        return fig


def connectivity_spectrum(net: RateRNN) -> ConnectivitySpectrum:
    """The eigenvalues of ``W_eff`` of a :class:`~ctrnn.RateRNN`, with the circular law's radius ``g``.

    For the x-form at the origin the Jacobian is ``(-I + W phi'(0)) / tau``, so with tanh the origin
    loses stability when an eigenvalue of ``W`` crosses ``Re lambda = 1``: at ``g = 1`` for large n.
    """
    if not isinstance(net, RateRNN):
        raise TypeError(f"connectivity_spectrum takes a RateRNN, got {type(net).__name__}")
    ev = torch.linalg.eigvals(net.W_eff.detach())
    return ConnectivitySpectrum(eigenvalues=ev, radius=net.g, spectral_radius=float(ev.abs().max()))


@dataclass(frozen=True, eq=False)
class JacobianSpectra:
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

    def plot(self, *, title: str | None = None):
        """Left: every eigenvalue in the complex plane, coloured by time, with the stability boundary.
        Right: the leading real part (or modulus) against time. Returns a Figure."""
        import matplotlib.pyplot as plt

        from ..plot import PALETTE, STYLE, plot_eigenvalues

        ev = self.eigenvalues.detach().cpu()
        steps = ev.shape[0] if ev.ndim > 1 else 1
        ev = ev.reshape(steps, -1, ev.shape[-1])  # (T, batch, n)
        t = self.t.detach().cpu().double() if self.t is not None else torch.arange(steps, dtype=torch.float64)
        with plt.rc_context(STYLE):
            fig, (ax_e, ax_t) = plt.subplots(1, 2, figsize=(10, 4.2))
            plot_eigenvalues(ax_e, ev[:0, 0], is_map=self.is_map)  # the boundary and axis labels only
            flat = ev.reshape(steps, -1)
            colour = t[:, None].expand(steps, flat.shape[1]).reshape(-1)
            pts = ax_e.scatter(flat.real.reshape(-1), flat.imag.reshape(-1), c=colour, s=4, cmap="viridis",
                               alpha=0.6, linewidths=0)
            fig.colorbar(pts, ax=ax_e, label="time t" if self.t is not None else "state index")
            ax_e.legend(frameon=False, fontsize=7)
            ax_e.set_title("Jacobian eigenvalues along the states")
            lead = self.leading().detach().cpu().double().reshape(steps, -1)
            for b in range(lead.shape[1]):
                ax_t.plot(t, lead[:, b], lw=0.9, color=PALETTE[b % len(PALETTE)])
            ax_t.axhline(1.0 if self.is_map else 0.0, color="0.5", lw=1, ls="--")
            ax_t.set_xlabel("time t (time constants)" if self.t is not None else "state index")
            ax_t.set_ylabel("leading |lambda|" if self.is_map else "leading Re lambda")
            ax_t.set_title("locally unstable where above the dashed line")
            if title:
                fig.suptitle(title, fontsize=9)
            fig.tight_layout()
        return fig


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
