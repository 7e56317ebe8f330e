"""Trajectories and discrete rollouts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from .._simulate import Trajectory
from ..analysis import principal_components
from ._style import PALETTE, STYLE


def plot_trajectory(traj: Trajectory, *, max_traces: int = 8, title: str | None = None) -> Figure:
    """Left: state time courses of the first batch element (up to ``max_traces`` units). Right: the phase
    portrait of every batch element, in the state space (n = 2, 3) or the top-2 PCA plane.

    Arguments:
        traj: the :class:`~ctrnn.Trajectory` to draw.
        max_traces: at most this many units on the left.
        title: the figure's title (default: the system).

    Returns:
        a matplotlib ``Figure``.
    """
    t = traj.t.detach().cpu().double()
    x = traj.x.detach().cpu().double().reshape(len(t), -1, traj.state_dim)  # (T, batch, n)
    n = traj.state_dim
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(10, 4))
        ax_t = fig.add_subplot(1, 2, 1)
        for i in range(min(n, max_traces)):
            ax_t.plot(t, x[:, 0, i], lw=1, label=f"x{i}")
        ax_t.set_xlabel("iteration k" if traj.metadata.get("time_unit") == "iterations" else "time t (time constants)")
        ax_t.set_ylabel("state x_i(t)")
        ax_t.set_title(f"first trajectory, {min(n, max_traces)} of {n} units")
        if traj.u is not None:  # the drive, on its own axis so its scale does not squash the states
            u = traj.u.detach().cpu().double().reshape(len(t), -1, traj.u.shape[-1])
            ax_u = ax_t.twinx()
            ax_u.spines["right"].set_visible(True)
            for j in range(min(u.shape[-1], 3)):
                ax_u.plot(t, u[:, 0, j], color="0.55", lw=0.9, ls="--", drawstyle="steps-post", label=f"u{j}")
            ax_u.set_ylabel("input u(t) (dashed)", color="0.4")
        if n <= max_traces:
            ax_t.legend(frameon=False, fontsize=7, ncol=2)
        if n == 3:
            ax_p = fig.add_subplot(1, 2, 2, projection="3d")
            for b in range(x.shape[1]):
                ax_p.plot(x[:, b, 0], x[:, b, 1], x[:, b, 2], lw=0.6)
            ax_p.set_xlabel("x0"), ax_p.set_ylabel("x1"), ax_p.set_zlabel("x2")
            ax_p.set_title("phase portrait")
        else:
            ax_p = fig.add_subplot(1, 2, 2)
            if n == 1:
                proj, labels, heading = torch.stack([t.expand(x.shape[1], -1).T, x[..., 0]], -1), ("t", "x0"), "states"
            elif n == 2:
                proj, labels, heading = x, ("x0", "x1"), "phase portrait"
            else:
                proj, _, ratio = principal_components(x)
                labels = tuple(f"PC{i + 1} ({100 * float(r):.1f}% var.)" for i, r in enumerate(ratio))
                heading = "trajectories in the top two principal components"
            for b in range(x.shape[1]):
                ax_p.plot(proj[:, b, 0], proj[:, b, 1], lw=0.8)
                ax_p.plot(proj[0, b, 0], proj[0, b, 1], "o", ms=3, color="0.3")
            ax_p.set_xlabel(labels[0]), ax_p.set_ylabel(labels[1])
            ax_p.set_title(heading)
        fig.suptitle(title or traj.metadata.get("system", {}).get("description", ""), fontsize=9)
        fig.tight_layout()
    return fig


def plot_rollouts(t: torch.Tensor, x: torch.Tensor, rollouts: dict[str, tuple[torch.Tensor, torch.Tensor]], *,
                  units: int = 3, title: str | None = None) -> Figure:
    """The continuous solution (lines) against discrete rollouts (markers): the first batch element's first
    ``units`` coordinates (real parts).

    Arguments:
        t: ``(T,)`` times of ``x``.
        x: ``(T, *batch, n)`` the continuous solution.
        rollouts: name -> ``(t_k (K,), x_k (K, *batch, n))``.
        units: coordinates drawn, one panel each.
        title: the figure's title.

    Returns:
        a matplotlib ``Figure``.
    """
    def first(v: torch.Tensor) -> torch.Tensor:
        v = v.detach().cpu()
        v = v.real if v.is_complex() else v
        return v.double().reshape(v.shape[0], -1, v.shape[-1])[:, 0]

    n_units = min(units, x.shape[-1])
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(n_units, 1, figsize=(8, 2.2 * n_units), sharex=True, squeeze=False)
        xc = first(x)
        for i, ax in enumerate(axes[:, 0]):
            ax.plot(t.cpu(), xc[:, i], color="0.2", lw=1.4, label="continuous")
            for j, (name, (tk, xk)) in enumerate(rollouts.items()):
                ax.plot(tk.cpu(), first(xk)[:, i], markers[j % len(markers)], ms=3.5, mfc="none",
                        color=PALETTE[j % len(PALETTE)], label=name)
            ax.set_ylabel(f"x{i}")
        axes[0, 0].legend(frameon=False, fontsize=7, ncol=min(4, len(rollouts) + 1))
        axes[-1, 0].set_xlabel("time t (time constants)")
        fig.suptitle(title or "continuous solution and discrete rollouts", fontsize=9)
        fig.tight_layout()
    return fig
