"""matplotlib figures for results. One place for the shared style."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; an interactive backend chosen by the user wins
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

if TYPE_CHECKING:
    from ._simulate import Trajectory

#: Okabe & Ito (2008) colour-blind-safe palette
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
STYLE = {"axes.prop_cycle": matplotlib.cycler(color=PALETTE), "axes.spines.top": False,
         "axes.spines.right": False, "figure.dpi": 110, "savefig.bbox": "tight", "font.size": 9}


def principal_components(x: torch.Tensor, k: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Project points ``(..., n)`` on their top ``k`` principal components.

    Returns:
        ``(projected (..., k), components (k, n), explained_variance_ratio (k,))``.
    """
    flat = x.reshape(-1, x.shape[-1]).double()
    mean = flat.mean(0)
    _, s, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    var = s**2
    ratio = var[:k] / var.sum().clamp_min(torch.finfo(var.dtype).tiny)
    proj = (x.double() - mean) @ vh[:k].T
    return proj, vh[:k], ratio


def plot_trajectory(traj: Trajectory, *, max_traces: int = 8, title: str | None = None):
    """Left: state time courses of the first batch element (up to ``max_traces`` units).
    Right: phase portrait of every batch element, in the state (n = 2, 3) or top-2 PCA plane."""
    t = traj.t.detach().cpu().double()
    x = traj.x.detach().cpu().double().reshape(len(t), -1, traj.state_dim)  # (T, batch, n)
    n = traj.state_dim
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(10, 4))
        ax_t = fig.add_subplot(1, 2, 1)
        for i in range(min(n, max_traces)):
            ax_t.plot(t, x[:, 0, i], lw=1, label=f"x{i}")
        ax_t.set_xlabel("time t (time constants)")
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
                  units: int = 3, title: str | None = None):
    """The continuous solution (lines) against discrete rollouts (markers), first batch element,
    the first ``units`` state coordinates (real parts). ``x``: ``(T, *batch, n)``; each rollout
    ``(t_k, x_k)`` with ``x_k`` ``(K, *batch, n)``. Returns a Figure."""
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


#: one marker per fixed-point kind, in every figure: (marker, filled)
KIND_MARKERS = {"stable": ("o", True), "unstable": ("o", False), "saddle": ("X", True), "marginal": ("D", False)}


def kind_style(kind: str, color: str) -> dict:
    """matplotlib keyword arguments for a fixed point of this kind (``stable node``, ``saddle (2 unstable)``...)."""
    marker, filled = KIND_MARKERS[kind.split()[0]]
    return {"marker": marker, "markersize": 8, "markeredgecolor": color, "markerfacecolor": color if filled else "white",
            "linestyle": "none", "markeredgewidth": 1.5}


def plot_eigenvalues(ax, eigenvalues: torch.Tensor, *, is_map: bool, colors=None, labels=None) -> None:
    """Eigenvalues ``(K, n)`` in the complex plane with the stability boundary: the imaginary axis for a
    flow, the unit circle for a map."""
    import numpy as np

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


def plot_fixed_points(fp, *, trajectory=None, title: str | None = None):
    """Left: the fixed points (markers by kind) and slow points over the trajectory, in the state plane
    (n <= 2) or the trajectory's top two principal components. Right: their Jacobians' eigenvalues."""
    with plt.rc_context(STYLE):
        fig, (ax_p, ax_e) = plt.subplots(1, 2, figsize=(10, 4.2))
        n = fp.points.shape[-1]
        background = trajectory.x.detach().cpu().double() if trajectory is not None else None
        basis = background if background is not None else (fp.points if fp.points.shape[0] else fp.slow_points)
        if n > 2 and basis.numel():
            flat = basis.reshape(-1, n)
            mean = flat.mean(0)
            _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)
            project = lambda v: (v.double() - mean) @ vh[:2].T  # noqa: E731
            labels = ("PC1", "PC2")
        else:
            project = lambda v: v.double()[..., :2] if n >= 2 else torch.stack([v.double()[..., 0], 0 * v.double()[..., 0]], -1)  # noqa: E731
            labels = ("x0", "x1" if n >= 2 else "")
        if background is not None:
            bg = project(background.reshape(-1, n)).reshape(*background.shape[:-1], 2)
            for b in range(bg.reshape(bg.shape[0], -1, 2).shape[1]):
                seg = bg.reshape(bg.shape[0], -1, 2)[:, b]
                ax_p.plot(seg[:, 0], seg[:, 1], color="0.8", lw=0.7, zorder=0)
        for k, kind in enumerate(fp.kinds):
            p = project(fp.points[k].cpu())
            ax_p.plot(p[0], p[1], **kind_style(kind, PALETTE[k % len(PALETTE)]), label=f"#{k} {kind}")
        if fp.slow_points.shape[0]:
            s = project(fp.slow_points.cpu())
            ax_p.plot(s[:, 0], s[:, 1], "+", color="0.3", ms=7, label="slow points")
        ax_p.set_xlabel(labels[0]), ax_p.set_ylabel(labels[1])
        ax_p.set_title(f"{len(fp.kinds)} fixed point(s)" + (" over trajectories" if background is not None else ""))
        if fp.kinds or fp.slow_points.shape[0]:
            ax_p.legend(frameon=False, fontsize=7)
        plot_eigenvalues(ax_e, fp.eigenvalues, is_map=fp.is_map)
        ax_e.set_title("Jacobian eigenvalues at the fixed points")
        fig.suptitle(title or fp.metadata.get("system", ""), fontsize=9)
        fig.tight_layout()
    return fig


def plot_limit_cycle(lc, *, title: str | None = None):
    """Left: the orbit (first two coordinates, or its top two principal components). Right: the Floquet
    multipliers against the unit circle."""
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
