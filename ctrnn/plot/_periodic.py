"""Limit cycles: the orbit and its Floquet multipliers."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..analysis import principal_components
from ..analysis.periodic import LimitCycle
from ._style import PALETTE, STYLE, plot_eigenvalues


def plot_limit_cycle(lc: LimitCycle, *, title: str | None = None) -> Figure:
    """Left: the orbit (first two coordinates, or its top two principal components). Right: the Floquet
    multipliers against the unit circle.

    Arguments:
        lc: the :class:`~ctrnn.LimitCycle` to draw.
        title: the figure's title (default: the system).

    Returns:
        a matplotlib ``Figure``.
    """
    with plt.rc_context(STYLE):
        fig, (ax_o, ax_m) = plt.subplots(1, 2, figsize=(10, 4.2))
        orbit = lc.orbit.detach().cpu().double()
        if orbit.shape[-1] > 2:
            orbit, _, _ = principal_components(orbit)
            labels = ("PC1", "PC2")
        else:
            labels = ("x0", "x1")
        ax_o.plot(orbit[:, 0], orbit[:, -1 if orbit.shape[-1] > 1 else 0], color=PALETTE[0], lw=1.5)
        ax_o.plot(orbit[0, 0], orbit[0, -1 if orbit.shape[-1] > 1 else 0], "o", color=PALETTE[3], label="section point")
        ax_o.set_xlabel(labels[0]), ax_o.set_ylabel(labels[1])
        ax_o.set_title(f"{'stable' if lc.stable else 'unstable'} limit cycle, period T = {lc.period:.6g}")
        ax_o.legend(frameon=False, fontsize=7)
        plot_eigenvalues(ax_m, lc.floquet_multipliers[None], is_map=True)
        ax_m.set_title("Floquet multipliers")
        fig.suptitle(title or lc.metadata.get("system", ""), fontsize=9)
        fig.tight_layout()
    return fig
