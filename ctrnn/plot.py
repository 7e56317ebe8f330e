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
            mean = basis.reshape(-1, n).double().mean(0)
            _, components, ratio = principal_components(basis, 2)
            project = lambda v: (v.double() - mean) @ components.T  # noqa: E731
            labels = tuple(f"PC{i + 1} ({100 * float(r):.1f}% of variance)" for i, r in enumerate(ratio))
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


def plot_phase_portrait(system, *, trajectory=None, fixed_points=None, cycles=(), basins=None, inputs=None,
                        extent: tuple[float, float, float, float] | None = None, resolution: int = 40,
                        title: str | None = None):
    """Phase portrait of a 2-D flow: the vector field (streamlines, coloured by speed), the nullclines
    ``f_0 = 0`` and ``f_1 = 0``, trajectories, fixed points marked by kind, limit cycles (``LimitCycle``
    results) and, when given, the basins of attraction (a ``Basins`` on the state plane) underneath.

    Arguments:
        system: a 2-D :class:`~ctrnn.System`.
        trajectory: a ``Trajectory`` to draw over the field; fixed_points: a ``FixedPoints`` result.
        inputs: a constant input ``(m,)`` at which the field is drawn.
        extent: ``(x0_min, x0_max, x1_min, x1_max)``; default: the trajectories', fixed points' and cycles'
            range, padded by 15%.
        resolution: grid points per axis for the field and the nullclines.

    Returns:
        a Figure.
    """
    import numpy as np
    from matplotlib.colors import ListedColormap

    if system.state_dim != 2:
        raise ValueError(f"a phase portrait needs a 2-D system, this one has n = {system.state_dim}")
    ref = next(iter([*system.parameters(), *system.buffers()]), None)
    dtype = ref.dtype if ref is not None and not ref.is_complex() else torch.float64
    device = ref.device if ref is not None else torch.device("cpu")
    if extent is None:
        pts = [torch.zeros(1, 2, dtype=torch.float64)]
        if trajectory is not None:
            pts.append(trajectory.x.detach().cpu().double().reshape(-1, 2))
        if fixed_points is not None and len(fixed_points):
            pts.append(fixed_points.points.detach().cpu().double())
        pts += [c.orbit.detach().cpu().double() for c in cycles]
        allp = torch.cat(pts)
        lo, hi = allp.min(0).values, allp.max(0).values
        pad = 0.15 * (hi - lo).clamp_min(1e-3)
        extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))
    a = torch.linspace(extent[0], extent[1], resolution, dtype=torch.float64)
    b = torch.linspace(extent[2], extent[3], resolution, dtype=torch.float64)
    B, A = torch.meshgrid(b, a, indexing="ij")
    grid = torch.stack([A, B], -1).reshape(-1, 2).to(device=device, dtype=dtype)
    u = None if inputs is None else torch.as_tensor(inputs, dtype=dtype, device=device)
    with torch.no_grad():
        f = system(torch.zeros((), dtype=dtype, device=device), grid, u).detach().cpu().double()
    F0, F1 = f[:, 0].reshape(resolution, resolution).numpy(), f[:, 1].reshape(resolution, resolution).numpy()
    speed = np.hypot(F0, F1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.2, 5.6))
        if basins is not None:
            colors = ["#FFFFFF"] + [PALETTE[i % len(PALETTE)] for i in range(len(basins.names))]
            ext = [float(basins.a[0]), float(basins.a[-1]), float(basins.b[0]), float(basins.b[-1])]
            ax.imshow((basins.labels + 1).numpy(), origin="lower", extent=ext, aspect="auto", alpha=0.18,
                      cmap=ListedColormap(colors), vmin=0, vmax=len(basins.names), interpolation="nearest", zorder=0)
            for i, name in enumerate(basins.names):
                ax.plot([], [], "s", color=colors[i + 1], alpha=0.35, ms=9, label=f"basin of {name}")
        ax.streamplot(a.numpy(), b.numpy(), F0, F1, color=np.log10(speed + 1e-12), cmap="Greys", density=1.1,
                      linewidth=0.7, arrowsize=0.8, zorder=1)
        ax.contour(a.numpy(), b.numpy(), F0, levels=[0.0], colors=[PALETTE[1]], linewidths=1.6, zorder=2)
        ax.contour(a.numpy(), b.numpy(), F1, levels=[0.0], colors=[PALETTE[4]], linewidths=1.6, linestyles="--", zorder=2)
        ax.plot([], [], color=PALETTE[1], lw=1.6, label="nullcline dx0/dt = 0")
        ax.plot([], [], color=PALETTE[4], lw=1.6, ls="--", label="nullcline dx1/dt = 0")
        if trajectory is not None:
            x = trajectory.x.detach().cpu().double().reshape(trajectory.x.shape[0], -1, 2)
            for i in range(x.shape[1]):
                ax.plot(x[:, i, 0], x[:, i, 1], color=PALETTE[0], lw=1.0, alpha=0.8, zorder=3,
                        label="trajectories" if i == 0 else None)
                ax.plot(x[0, i, 0], x[0, i, 1], ".", color=PALETTE[0], ms=5, zorder=3)
        for j, c in enumerate(cycles):
            orbit = c.orbit.detach().cpu().double()
            ax.plot(orbit[:, 0], orbit[:, 1], color=PALETTE[3], lw=2.4, zorder=4,
                    label=f"{'stable' if c.stable else 'unstable'} limit cycle, T = {c.period:.4g}" if j < 3 else None)
        if fixed_points is not None:
            for k, kind in enumerate(fixed_points.kinds):
                p = fixed_points.points[k].detach().cpu().double()
                ax.plot(p[0], p[1], **kind_style(kind, "black"), zorder=5, label=kind)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))  # one legend entry per kind
        ax.legend(unique.values(), unique.keys(), frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        ax.set_xlim(extent[0], extent[1]), ax.set_ylim(extent[2], extent[3])
        ax.set_xlabel("x0"), ax.set_ylabel("x1")
        ax.set_title(title or "phase portrait")
        fig.tight_layout()
    return fig
