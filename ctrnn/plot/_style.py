"""The shared style of every figure: palette, rc settings, fixed-point markers, eigenvalue planes."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; an interactive backend chosen by the user wins
import numpy as np  # noqa: E402
import torch  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
STYLE = {"axes.prop_cycle": matplotlib.cycler(color=PALETTE), "axes.spines.top": False,
         "axes.spines.right": False, "figure.dpi": 110, "savefig.bbox": "tight", "font.size": 9}

KIND_MARKERS = {"stable": ("o", True), "unstable": ("o", False), "saddle": ("X", True), "marginal": ("D", False)}


def kind_style(kind: str, color: str) -> dict[str, Any]:
    """matplotlib keyword arguments that mark a fixed point of this kind, the same in every figure.

    Arguments:
        kind: a kind from :class:`~ctrnn.FixedPoints` (``stable node``, ``saddle (2 unstable)``, ...).
        color: the marker's colour.

    Returns:
        keyword arguments for ``ax.plot`` (marker, size, edge and face colours, no line).
    """
    marker, filled = KIND_MARKERS[kind.split()[0]]
    return {"marker": marker, "markersize": 8, "markeredgecolor": color, "markerfacecolor": color if filled else "white",
            "linestyle": "none", "markeredgewidth": 1.5}


def plot_eigenvalues(ax: Any, eigenvalues: torch.Tensor, *, is_map: bool, colors: Any = None, labels: Any = None) -> None:
    """Draw eigenvalues in the complex plane with the stability boundary: the imaginary axis for a flow, the
    unit circle for a map.

    Arguments:
        ax: the matplotlib axes to draw into.
        eigenvalues: ``(K, n)`` complex, one row per set (e.g. per fixed point), one colour per row.
        is_map: draw the unit circle (map) or the imaginary axis (flow).
        colors, labels: one colour and legend label per row (default: the palette, no labels).

    Returns:
        nothing; the axes are drawn into.
    """

    if is_map:
        theta = np.linspace(0, 2 * np.pi, 400)
        ax.plot(np.cos(theta), np.sin(theta), color="0.5", lw=1, ls="--", label="|lambda| = 1")
        ax.set_aspect("equal", adjustable="datalim")
    else:
        ax.axvline(0.0, color="0.5", lw=1, ls="--", label="Re lambda = 0")
    for k in range(eigenvalues.shape[0]):
        ev = eigenvalues[k].detach().cpu()
        color = PALETTE[k % len(PALETTE)] if colors is None else colors[k]
        ax.plot(ev.real, ev.imag, "o", ms=4, color=color, alpha=0.8, label=None if labels is None else labels[k])
    ax.set_xlabel("Re lambda" + (" (per iteration)" if is_map else " (per time constant)"))
    ax.set_ylabel("Im lambda")
