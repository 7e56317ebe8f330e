"""Eigenvalue spectra: a rate network's connectivity against the circular law, and Jacobians along
trajectories."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..systems._base import System
from ..systems._rate import RateRNN


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


def spectra_along(system: System, states: torch.Tensor, *, inputs: torch.Tensor | None = None) -> torch.Tensor:
    """Eigenvalues of the Jacobian at every state ``(..., n)`` (e.g. ``Trajectory.x``), shape ``(..., n)``,
    sorted by decreasing real part."""
    with torch.no_grad():
        ev = torch.linalg.eigvals(system.jacobian(states.detach(), inputs).detach())
    return torch.gather(ev, -1, torch.argsort(ev.real, dim=-1, descending=True))
