"""Figures of a trained network's mechanism: fixed points per condition over its task trajectories, the
unstable manifolds of its saddles, its slow modes and the comparison of several networks' topologies."""

from __future__ import annotations

from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..analysis import principal_components
from ..analysis.stability import SlowModes, UnstableManifolds
from ..mechanisms import TaskFixedPoints, TopologyComparison
from ._style import PALETTE, STYLE, kind_style


def _plane(basis: torch.Tensor) -> tuple[Callable[[torch.Tensor], np.ndarray], tuple[str, str]]:
    """The projection on the top two principal components of ``basis`` ``(..., n)`` and the axis labels (the
    state's own coordinates when ``n <= 2``)."""
    n = basis.shape[-1]
    if n <= 2:
        def own(v: torch.Tensor) -> np.ndarray:
            v = v.detach().cpu().double().real
            return torch.stack([v[..., 0], v[..., 1] if n == 2 else 0 * v[..., 0]], -1).numpy()
        return own, ("x0", "x1" if n == 2 else "")
    flat = basis.detach().cpu().double().real.reshape(-1, n)
    mean = flat.mean(0)
    _, components, ratio = principal_components(flat, 2)
    labels = tuple(f"PC{i + 1} ({100 * float(r):.1f}% of variance)" for i, r in enumerate(ratio))

    def project(v: torch.Tensor) -> np.ndarray:
        return ((v.detach().cpu().double().real - mean) @ components.T).numpy()
    return project, labels  # type: ignore[return-value]


def _draw_condition(ax: Any, result: TaskFixedPoints, c: int, project: Callable[[torch.Tensor], np.ndarray],
                    legend: bool) -> None:
    states = result.states[:, result.membership[c]]
    for b in range(min(states.shape[1], 24)):  # enough trials to show the flow without hiding the points
        seg = project(states[:, b])
        ax.plot(seg[:, 0], seg[:, 1], color="0.82", lw=0.6, zorder=0)
    man = result.manifolds[c]
    for i in range(len(man)):
        seg = project(man.paths[:, i])
        ax.plot(seg[:, 0], seg[:, 1], color=PALETTE[1], lw=1.1, alpha=0.8, zorder=1,
                label="unstable manifolds" if i == 0 else None)
    for cycle, cc in zip(result.cycles, result.cycle_conditions):
        if cc == c:
            seg = project(cycle.orbit)
            ax.plot(seg[:, 0], seg[:, 1], color=PALETTE[2], lw=1.6, zorder=1,
                    label=f"limit cycle, period {cycle.period:.4g}")
    fps = result.fixed_points[c]
    seen: set[str] = set()
    numbered = len(fps) <= 40  # the tables' #k beside each point, where they stay legible
    for k, kind in enumerate(fps.kinds):
        head = "stable" if bool(fps.stable[k]) else kind  # saddles by their number of unstable directions
        color = PALETTE[0] if head == "stable" else PALETTE[3] if kind == "saddle (1 unstable)" else PALETTE[4]
        p = project(fps.points[k])
        ax.plot(p[0], p[1], **(kind_style(kind, color) | {"markersize": 6}), zorder=3,
                label=None if head in seen else head)
        seen.add(head)
        if numbered:
            ax.annotate(f"#{k}", (p[0], p[1]), xytext=(3, 3), textcoords="offset points", fontsize=6,
                        color="0.3", zorder=4)
    if fps.slow_points.shape[0]:
        s = project(fps.slow_points)
        ax.plot(s[:, 0], s[:, 1], "+", color="0.25", ms=6, zorder=2, label="slow points")
    n_stable = int(fps.stable.sum())
    ax.set_title(f"{result.conditions[c]}: {n_stable} stable, {len(fps) - n_stable} unstable", fontsize=9)
    if legend:  # a framed legend where it covers least, readable over the trajectories
        ax.legend(loc="best", frameon=True, framealpha=0.85, fontsize=7)


def plot_task_fixed_points(result: TaskFixedPoints, *, condition: Any = None, title: str | None = None) -> Figure:
    """Each condition's task trajectories (grey) in the top two principal components of the fixed points and the
    unstable manifolds (of the trajectories, with fewer than 3 points), its fixed points (stable filled, saddles open), slow points (+), the unstable manifolds of its unstable points
    and its limit cycles; one panel per condition (at most 6), or the one ``condition``.

    Arguments:
        result: the :class:`~ctrnn.mechanisms.TaskFixedPoints` to draw.
        condition: one condition (a name or an index), or ``None`` for the first six.
        title: the figure's title (default: the task).

    Returns:
        a matplotlib ``Figure``.
    """
    chosen = [result.index(condition)] if condition is not None else list(range(min(len(result.conditions), 6)))
    # the plane of the fixed points (and the manifolds between them) where there are enough of them: the trials'
    # excursions during inputs would otherwise set the plane and crowd the points into its middle
    points = torch.cat([result.fixed_points[c].points.detach().cpu().real.double() for c in chosen]) if chosen else \
        result.states.new_zeros(0, result.states.shape[-1])
    around = torch.cat([points, *(result.manifolds[c].paths.detach().cpu().real.double().reshape(-1, points.shape[-1])
                                  for c in chosen)]) if points.shape[0] else points
    project, labels = _plane(around if points.shape[0] >= 3 else result.states)
    with plt.rc_context(STYLE):
        cols = min(len(chosen), 3)
        rows = -(-len(chosen) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.0 * rows), squeeze=False)
        for j, c in enumerate(chosen):
            ax = axes.flat[j]
            _draw_condition(ax, result, c, project, legend=j == 0)
            if points.shape[0] >= 3:  # the points and their manifolds fill the panel; trials may run outside it
                xy = project(around)
                lo, hi = xy.min(0), xy.max(0)
                pad = 0.15 * (hi - lo).max()
                ax.set_xlim(lo[0] - pad, hi[0] + pad), ax.set_ylim(lo[1] - pad, hi[1] + pad)
            ax.set_xlabel(labels[0], fontsize=8), ax.set_ylabel(labels[1], fontsize=8)
        for ax in list(axes.flat)[len(chosen):]:
            ax.set_visible(False)
        fig.suptitle(title or f"{result.task}: fixed points of the trained network per condition", fontsize=10)
        fig.tight_layout()
    return fig


def plot_unstable_manifolds(man: UnstableManifolds, *, title: str | None = None) -> Figure:
    """The branches (orange) from each unstable point and the fixed points, in the top two principal components
    of the points and the branches.

    Arguments:
        man: the :class:`~ctrnn.UnstableManifolds` to draw. title: the axes' title.

    Returns:
        a matplotlib ``Figure``.
    """
    project, labels = _plane(torch.cat([man.points, man.paths.reshape(-1, man.points.shape[-1])]))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for i in range(len(man)):
            seg = project(man.paths[:, i])
            ax.plot(seg[:, 0], seg[:, 1], color=PALETTE[1], lw=1.1)
        for k, kind in enumerate(man.kinds):
            p = project(man.points[k])
            ax.plot(p[0], p[1], **kind_style(kind, PALETTE[0] if bool(man.stable[k]) else PALETTE[3]))
        ends = int((man.ends >= 0).sum())
        ax.set_title(title or f"{len(man)} branches, {ends} end on a stable point", fontsize=9)
        ax.set_xlabel(labels[0]), ax.set_ylabel(labels[1])
        fig.tight_layout()
    return fig


def plot_slow_modes(modes: SlowModes, *, title: str | None = None) -> Figure:
    """Left: the slow mode's time constant at each point, ordered along the line the points lie on. Right: each
    input's mean projection ``|l^T dg/du|`` on the selection vector.

    Arguments:
        modes: the :class:`~ctrnn.SlowModes` to draw. title: the figure's title (default: the system).

    Returns:
        a matplotlib ``Figure``.
    """
    with plt.rc_context(STYLE):
        fig, (ax_t, ax_p) = plt.subplots(1, 2, figsize=(9, 3.6))
        if len(modes):
            pos = ((modes.points.real - modes.points.real.mean(0)) @ modes.line_direction.to(modes.points.real)).cpu()
            order = torch.argsort(pos)
            tc = modes.time_constants.cpu()[order].clamp(max=1e6)
            ax_t.semilogy(pos[order].numpy(), tc.numpy(), "o-", color=PALETTE[0], ms=3)
            proj = modes.mean_projections().cpu().numpy()
            ax_p.bar([f"u{j}" for j in range(len(proj))], proj, color=PALETTE[1])
        ax_t.set_xlabel("position along the line (state units)"), ax_t.set_ylabel("slow time constant")
        ax_t.set_title(f"{len(modes)} point(s), {modes.line_fraction:.0%} of variance on the line", fontsize=9)
        ax_p.set_ylabel("mean |l^T dg/du|"), ax_p.set_title("inputs on the selection vector", fontsize=9)
        fig.suptitle(title or modes.metadata.get("system", ""), fontsize=9)
        fig.tight_layout()
    return fig


def plot_topology_comparison(comparison: TopologyComparison, *, title: str | None = None) -> Figure:
    """Left: each network's stable points, one-unstable-direction saddles and other unstable points (grouped
    bars). Right: the largest distance of its stable readouts from their output patterns.

    Arguments:
        comparison: the :class:`~ctrnn.mechanisms.TopologyComparison` to draw. title: the figure's title.

    Returns:
        a matplotlib ``Figure``.
    """
    with plt.rc_context(STYLE):
        fig, (ax_c, ax_e) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [2, 1]})
        x = np.arange(len(comparison))
        for j, (key, label) in enumerate((("n_stable", "stable"), ("n_saddles", "saddles, 1 unstable"),
                                          ("n_other_unstable", "other unstable"))):
            ax_c.bar(x + (j - 1) * 0.27, getattr(comparison, key).numpy(), width=0.27, color=PALETTE[j], label=label)
        ax_c.set_xticks(x, comparison.names, rotation=45, ha="right", fontsize=7)
        ax_c.set_ylabel("fixed points"), ax_c.legend(frameon=False, fontsize=7)
        groups = sorted(set(comparison.groups))
        colors = [PALETTE[groups.index(g) % len(PALETTE)] for g in comparison.groups]
        ax_e.bar(x, comparison.pattern_error.nan_to_num(0).numpy(), color=colors)
        ax_e.set_xticks(x, comparison.names, rotation=45, ha="right", fontsize=7)
        ax_e.set_ylabel("max |y - sign y| at stable points")
        fig.suptitle(title or f"{comparison.task}, {comparison.condition}: fixed-point topology of "
                     f"{len(comparison)} trained networks", fontsize=9)
        fig.tight_layout()
    return fig
