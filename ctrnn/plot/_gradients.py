"""Gradient propagation: norms against the lag, for one model or several on one plot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..analysis.gradients import GradientPropagation
from ._style import PALETTE, STYLE


def _powers_of_ten(value: float, _position: Any) -> str:
    return f"$10^{{{value:g}}}$"


def plot_gradient_propagation(result: GradientPropagation, *, title: str | None = None, ax: Any = None, label: str | None = None, color: str | None = None) -> Figure:
    """``||d x_T / d x_{T-k}||`` against the lag with the fitted exponential, and the leading singular values
    faint (means of the logarithms over initial states).

    The axis shows ``log10`` of the norms with ticks labelled as powers of ten: the logarithms are what the
    result holds, and the norms themselves may overflow float64 (a x3 map over 1000 iterations).

    Arguments:
        result: the :class:`~ctrnn.GradientPropagation` to draw.
        title: the axes' title.
        ax: draw into these axes (several results on one plot) instead of a new figure.
        label: the legend's name of this line (default: the state part).
        color: its colour (default: the palette's first).

    Returns:
        a matplotlib ``Figure``.
    """
    color = color or PALETTE[0]
    to_log10 = 1.0 / np.log(10.0)
    with plt.rc_context(STYLE):
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 4.2))
        else:
            fig = ax.figure
        lag = result.lag_times.cpu().double()
        log_sv = result.log_singular_values.cpu().double().mean(0) * to_log10
        for j in range(1, log_sv.shape[-1]):
            ax.plot(lag, log_sv[:, j], color=color, lw=0.6, alpha=0.35)
        ax.plot(lag, result.mean_log_norm().cpu() * to_log10, color=color, lw=1.8,
                label=f"{label or result.part}: rate {result.rate:+.3g}")
        fit = lag >= result.fit_from
        if bool(fit.any()):
            c = float(result.metadata.get("intercept", 0.0))
            ax.plot(lag[fit], (c + result.rate * lag[fit]) * to_log10, color=color, lw=1, ls="--")
        ax.yaxis.set_major_formatter(FuncFormatter(_powers_of_ten))
        ax.set_xlabel(f"lag k ({result.time_unit})")
        ax.set_ylabel("||d x_T / d x_(T-k)||  (faint: lower singular values)")
        ax.set_title(title or "gradient propagation (dashed: fitted exponential)")
        ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
    return fig


def compare_gradient_propagation(results: Mapping[str, GradientPropagation], *, title: str | None = None) -> Figure:
    """Several models' gradient propagation on one plot: the vanishing / exploding picture.

    Arguments:
        results: name -> :class:`~ctrnn.GradientPropagation`, drawn in this order.
        title: the axes' title.

    Returns:
        a matplotlib ``Figure``.
    """
    if not results:
        raise ValueError("give at least one GradientPropagation: {name: result}")
    units = {r.time_unit for r in results.values()}
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 4.6))
        for i, (name, res) in enumerate(results.items()):
            plot_gradient_propagation(res, ax=ax, label=name, color=PALETTE[i % len(PALETTE)])
        ax.axhline(0.0, color="0.5", lw=1, ls=":")  # a norm of 1 (the axis holds log10 of the norms)
        if len(units) > 1:
            ax.set_xlabel("lag k (time constants, or iterations for maps without a dt)")
        ax.set_title(title or "gradient propagation: above 1 explodes, below vanishes")
        fig.tight_layout()
    return fig
