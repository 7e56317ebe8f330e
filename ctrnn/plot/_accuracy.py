"""Discretization error against the step, with fitted orders."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..analysis.accuracy import DiscretizationError
from ._style import STYLE


def plot_discretization_error(study: DiscretizationError, *, title: str | None = None) -> Figure:
    """Log-log error against the step, one line per scheme, fitted orders in the legend.

    Arguments:
        study: the :class:`~ctrnn.analysis.DiscretizationError` to draw.
        title: the axes' title (default: the span compared).

    Returns:
        a matplotlib ``Figure``.
    """
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 4))
        dts = study.dts.numpy()
        for i, name in enumerate(study.schemes):
            text = study.order_text(name)
            label = f"{name} ({text})" if study.orders[name] is None else f"{name} (order {text})"
            # a diverged step's NaN error leaves a gap in its line
            ax.loglog(dts, np.maximum(study.max_errors[i].numpy(), study.floor / 10), "o-", label=label, ms=4)
        ax.axhline(study.floor, color="0.5", ls=":", lw=1)
        ax.text(dts.min(), study.floor * 1.3, "reference accuracy", color="0.4", fontsize=7)
        ax.set_xlabel("step dt (time constants)")
        ax.set_ylabel("max |x_discrete - x_continuous|")
        ax.set_title(title or f"discretization error over t in [{study.t_span[0]:g}, {study.t_span[1]:g}]")
        ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
    return fig
