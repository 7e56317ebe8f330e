"""Gradient propagation: norms against the lag, for one model or several on one plot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..analysis.gradients import GradientPropagation
from ._style import PALETTE, STYLE


def plot_gradient_propagation(result: GradientPropagation, *, title: str | None = None, ax: Any = None, label: str | None = None, color: str | None = None) -> Figure:
    """``||d x_T / d x_{T-k}||`` (log scale) against the lag with the fitted exponential, and the leading
    singular values faint.

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
    with plt.rc_context(STYLE):
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 4.2))
        else:
            fig = ax.figure
        lag = result.lag_times.cpu().double()
        sv = result.singular_values.cpu().double().mean(0)
        for j in range(1, sv.shape[-1]):
            ax.plot(lag, sv[:, j], color=color, lw=0.6, alpha=0.35)
        ax.plot(lag, result.mean_log_norm().exp().cpu(), color=color, lw=1.8,
                label=f"{label or result.part}: rate {result.rate:+.3g}")
        fit = lag >= result.fit_from
        if bool(fit.any()):
            c = float(result.metadata.get("intercept", 0.0))
            ax.plot(lag[fit], torch.exp(c + result.rate * lag[fit]), color=color, lw=1, ls="--")
        ax.set_yscale("log")
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
        ax.axhline(1.0, color="0.5", lw=1, ls=":")
        if len(units) > 1:
            ax.set_xlabel("lag k (time constants, or iterations for maps without a dt)")
        ax.set_title(title or "gradient propagation: above 1 explodes, below vanishes")
        fig.tight_layout()
    return fig
