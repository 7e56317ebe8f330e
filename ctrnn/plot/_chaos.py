"""Lyapunov spectra and parameter sweeps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..analysis.chaos import LyapunovSpectrum, Sweep
from ._style import PALETTE, STYLE


def plot_lyapunov_spectrum(spectrum: LyapunovSpectrum, *, title: str | None = None) -> Figure:
    """Left: the spectrum with error bars. Right: running estimates of the leading exponents.

    Arguments:
        spectrum: the :class:`~ctrnn.LyapunovSpectrum` to draw.
        title: the figure's title (default: the system).

    Returns:
        a matplotlib ``Figure``.
    """
    unit = "per iteration" if spectrum.is_map else "per time constant"
    with plt.rc_context(STYLE):
        fig, (ax_s, ax_r) = plt.subplots(1, 2, figsize=(10, 4.2))
        idx = torch.arange(1, len(spectrum.exponents) + 1)
        ax_s.errorbar(idx, spectrum.exponents.cpu(), yerr=spectrum.stderr.cpu(), fmt="o", ms=3, color=PALETTE[0],
                      ecolor="0.5", capsize=2)
        ax_s.axhline(0.0, color="0.5", lw=1, ls="--")
        ax_s.set_xlabel("index i")
        ax_s.set_ylabel(f"exponent lambda_i ({unit})")
        ax_s.set_title(f"spectrum: lambda_1 = {spectrum.largest:+.4f}, D_KY {spectrum.kaplan_yorke_text(3)}")
        for i in range(min(4, len(spectrum.exponents))):
            ax_r.plot(spectrum.times.cpu(), spectrum.running[:, i].cpu(), color=PALETTE[i], lw=1, label=f"lambda_{i + 1}")
        ax_r.axhline(0.0, color="0.5", lw=1, ls="--")
        ax_r.set_xlabel("iterations" if spectrum.is_map else "time t (time constants)")
        ax_r.set_ylabel("running estimate")
        ax_r.set_title("convergence of the leading exponents")
        ax_r.legend(frameon=False, fontsize=7)
        fig.suptitle(title or spectrum.metadata.get("system", ""), fontsize=9)
        fig.tight_layout()
    return fig


def plot_sweep(sweep: Sweep, *, title: str | None = None) -> Figure:
    """Largest exponent with error bars against the parameter (zero line; ``g = 1`` marked for a gain sweep),
    and entropy and Kaplan-Yorke dimension.

    Arguments:
        sweep: the :class:`~ctrnn.Sweep` to draw.
        title: the figure's title (default: its description).

    Returns:
        a matplotlib ``Figure``.
    """
    v = sweep.values.cpu()
    with plt.rc_context(STYLE):
        fig, (ax_l, ax_d) = plt.subplots(1, 2, figsize=(10, 4.2))
        ax_l.errorbar(v, sweep.largest.cpu(), yerr=sweep.largest_stderr.cpu(), fmt="o-", ms=4, color=PALETTE[0],
                      capsize=2, label="largest exponent lambda_1")
        ax_l.axhline(0.0, color="0.5", lw=1, ls="--")
        if sweep.parameter == "g":
            ax_l.axvline(1.0, color=PALETTE[3], lw=1, ls=":", label="g = 1 (N -> infinity transition)")
        ax_l.set_xlabel(sweep.parameter)
        ax_l.set_ylabel("lambda_1 (per time constant)")
        ax_l.set_title("transition to chaos")
        ax_l.legend(frameon=False, fontsize=7)
        ax_d.errorbar(v, sweep.entropy.cpu(), yerr=sweep.entropy_stderr.cpu(), fmt="s-", ms=4, color=PALETTE[1],
                      capsize=2, label="entropy (sum of positive exponents)")
        ax_d.set_xlabel(sweep.parameter)
        ax_d.set_ylabel("entropy rate (per time constant)", color=PALETTE[1])
        ax_k = ax_d.twinx()
        ax_k.spines["right"].set_visible(True)
        ax_k.errorbar(v, sweep.dimension.cpu(), yerr=sweep.dimension_stderr.cpu(), fmt="^-", ms=4,
                      color=PALETTE[2], capsize=2, label="Kaplan-Yorke dimension")
        if sweep.dimension_is_bound is not None and bool(sweep.dimension_is_bound.any()):
            bound = sweep.dimension_is_bound.cpu()
            ax_k.plot(v[bound], sweep.dimension.cpu()[bound], "^", ms=9, mfc="none", color=PALETTE[3],
                      label="a lower bound (raise k)")
            ax_k.legend(frameon=False, fontsize=7, loc="lower right")
        ax_k.set_ylabel("Kaplan-Yorke dimension", color=PALETTE[2])
        ax_d.set_title("entropy and attractor dimension")
        fig.suptitle(title or sweep.metadata.get("description", ""), fontsize=9)
        fig.tight_layout()
    return fig
