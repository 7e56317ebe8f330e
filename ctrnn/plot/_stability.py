"""Fixed points, their branches and basins, eigenvalue spectra, and 2-D phase portraits."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from matplotlib.colors import ListedColormap

from ..analysis import Survey, principal_components
from ..analysis._projection import padded_extent
from ..analysis.stability import Basins, ConnectivitySpectrum, FixedPointBranches, FixedPoints, JacobianSpectra
from ._style import PALETTE, STYLE, kind_style, plot_eigenvalues


def plot_fixed_points(fp: FixedPoints, *, trajectory: Any = None, title: str | None = None) -> Figure:
    """Left: the fixed points (markers by kind) and slow points over the trajectory, in the state plane
    (n <= 2) or the trajectory's top two principal components. Right: their Jacobians' eigenvalues.

    Arguments:
        fp: the :class:`~ctrnn.FixedPoints` to draw.
        trajectory: a :class:`~ctrnn.Trajectory` drawn underneath (and whose principal components
            set the plane), or ``None``.
        title: the figure's title (default: the system).

    Returns:
        a matplotlib ``Figure``.
    """
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
        # a few points each get a legend entry; more get their #k beside them and one entry per kind
        few = len(fp.kinds) <= 8
        kinds = sorted(set(fp.kinds))
        for k, kind in enumerate(fp.kinds):
            p = project(fp.points[k].cpu())
            color = PALETTE[(k if few else kinds.index(kind)) % len(PALETTE)]
            ax_p.plot(p[0], p[1], **kind_style(kind, color), label=f"#{k} {kind}" if few else kind)
            if not few and len(fp.kinds) <= 60:
                ax_p.annotate(f"#{k}", (float(p[0]), float(p[1])), xytext=(3, 3), textcoords="offset points",
                              fontsize=6, color="0.3")
        if fp.slow_points.shape[0]:
            s = project(fp.slow_points.cpu())
            ax_p.plot(s[:, 0], s[:, 1], "+", color="0.3", ms=7, label="slow points")
        ax_p.set_xlabel(labels[0]), ax_p.set_ylabel(labels[1])
        ax_p.set_title(f"{len(fp.kinds)} fixed point(s)" + (" over trajectories" if background is not None else ""))
        if fp.kinds or fp.slow_points.shape[0]:
            handles, names = ax_p.get_legend_handles_labels()
            unique = dict(zip(names, handles))
            ax_p.legend(unique.values(), unique.keys(), frameon=True, framealpha=0.85, fontsize=7, loc="best")
        plot_eigenvalues(ax_e, fp.eigenvalues, is_map=fp.is_map)
        ax_e.set_title("Jacobian eigenvalues at the fixed points")
        fig.suptitle(title or fp.metadata.get("system", ""), fontsize=9)
        fig.tight_layout()
    return fig


def plot_branches(branches: FixedPointBranches, *, direction: Any = None, title: str | None = None) -> Figure:
    """Bifurcation diagram: a coordinate of each fixed point (``direction . x``, default the mean over units)
    against the first input, markers by kind, the multistable range shaded.

    Arguments:
        branches: the :class:`~ctrnn.FixedPointBranches` to draw.
        direction: ``(n,)`` the direction the points are read along, or ``None`` (the mean).
        title: the axes' title.

    Returns:
        a matplotlib ``Figure``.
    """
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 4.2))
        seen: set[str] = set()
        for s, res in enumerate(branches.results):
            if not len(res):
                continue
            pts = res.points.detach().cpu().double()
            pts = pts.real if pts.is_complex() else pts
            if direction is None:
                y = pts.mean(-1) if pts.shape[-1] > 1 else pts[:, 0]
            else:
                y = pts @ torch.as_tensor(direction, dtype=torch.float64)
            for k, kind in enumerate(res.kinds):
                head = kind.split()[0]
                color = {"stable": PALETTE[0], "unstable": PALETTE[3], "saddle": PALETTE[1]}.get(head, PALETTE[4])
                style = kind_style(kind, color) | {"markersize": 5}
                ax.plot(float(branches.inputs[s, 0]), float(y[k]), **style, label=None if head in seen else head)
                seen.add(head)
        n = branches.results[0].points.shape[-1] if branches.results else 0
        ax.set_xlabel("input u0 (held constant)")
        ax.set_ylabel("x*" if n == 1 else ("mean of x* over units" if direction is None else "direction . x*"))
        rng = branches.multistable_range()
        heading = "fixed points against the input"
        if rng is not None:
            ax.axvspan(*rng, color="0.92", zorder=0)
            heading += f"; multistable for u0 in [{rng[0]:.3g}, {rng[1]:.3g}] (shaded)"
        ax.set_title(title or heading)
        if seen:
            ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
    return fig


def plot_basins(basins: Basins, *, title: str | None = None) -> Figure:
    """The basins as an image over their plane, each attractor marked in white.

    Arguments:
        basins: the :class:`~ctrnn.Basins` to draw.
        title: the axes' title.

    Returns:
        a matplotlib ``Figure``.
    """
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.2, 4.6))
        colors = ["#DDDDDD"] + [PALETTE[i % len(PALETTE)] for i in range(len(basins.names))]
        extent = [float(basins.a[0]), float(basins.a[-1]), float(basins.b[0]), float(basins.b[-1])]
        ax.imshow((basins.labels + 1).numpy(), origin="lower", extent=extent, aspect="auto",
                  cmap=ListedColormap(colors), vmin=0, vmax=len(basins.names), interpolation="nearest")
        for i, name in enumerate(basins.names):
            ax.plot([], [], "s", color=colors[i + 1], mec="0.2", label=f"{name} ({100 * basins.fractions()[name]:.0f}%)")
        # undecided cells are drawn (grey) and counted: a basin plot whose grid missed an attractor shows it
        ax.plot([], [], "s", color=colors[0], mec="0.2",
                label=f"undecided: none of them ({100 * basins.fractions()['undecided']:.0f}%)")
        for pts in basins.attractors.values():  # where each attractor sits on the plane
            ab = basins.coordinates(pts)
            ax.plot(ab[:, 0], ab[:, 1], "o" if ab.shape[0] == 1 else "-", color="white", mec="black",
                    lw=2, ms=7, zorder=3)
        xlabel, ylabel = basins.metadata.get("axis_labels", ("a (along d1)", "b (along d2)"))
        ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
        ax.set_title(title or "basins of attraction")
        # beside the image: a swatch drawn over its own colour would vanish
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), title="attractor (white marks)",
                  title_fontsize=7)
        fig.tight_layout()
    return fig


def plot_connectivity_spectrum(spectrum: ConnectivitySpectrum, *, title: str | None = None) -> Figure:
    """A rate network's connectivity eigenvalues with the circular law's disc of radius ``g``.

    Arguments:
        spectrum: the :class:`~ctrnn.ConnectivitySpectrum` to draw.
        title: the axes' title (default: the spectral radius).

    Returns:
        a matplotlib ``Figure``.
    """
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.8, 5.4))
        ev = spectrum.eigenvalues.detach().cpu()
        theta = np.linspace(0, 2 * np.pi, 400)
        ax.plot(spectrum.radius * np.cos(theta), spectrum.radius * np.sin(theta), color="0.4", ls="--", lw=1,
                label=f"circular law, radius g = {spectrum.radius:g}")
        ax.plot(ev.real, ev.imag, ".", color=PALETTE[0], ms=3, label=f"eigenvalues of W (n = {ev.numel()})")
        ax.axvline(1.0, color=PALETTE[3], lw=1, ls=":", label="Re lambda = 1 (origin loses stability)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("Re lambda"), ax.set_ylabel("Im lambda")
        ax.set_title(title or f"connectivity spectrum, max |lambda| = {spectrum.spectral_radius:.3f}")
        ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13))  # off the disc
        fig.tight_layout()
    return fig


def plot_jacobian_spectra(spectra: JacobianSpectra, *, title: str | None = None) -> Figure:
    """Left: every eigenvalue in the complex plane, coloured by time, with the stability boundary. Right:
    the leading real part (or modulus, for a map) against time.

    Arguments:
        spectra: the :class:`~ctrnn.JacobianSpectra` to draw.
        title: the figure's title.

    Returns:
        a matplotlib ``Figure``.
    """
    ev = spectra.eigenvalues.detach().cpu()
    steps = ev.shape[0] if ev.ndim > 1 else 1
    ev = ev.reshape(steps, -1, ev.shape[-1])  # (T, batch, n)
    t = spectra.t.detach().cpu().double() if spectra.t is not None else torch.arange(steps, dtype=torch.float64)
    with plt.rc_context(STYLE):
        fig, (ax_e, ax_t) = plt.subplots(1, 2, figsize=(10, 4.2))
        plot_eigenvalues(ax_e, ev[:0, 0], is_map=spectra.is_map)  # the boundary and axis labels only
        flat = ev.reshape(steps, -1)
        colour = t[:, None].expand(steps, flat.shape[1]).reshape(-1)
        pts = ax_e.scatter(flat.real.reshape(-1), flat.imag.reshape(-1), c=colour, s=4, cmap="viridis",
                           alpha=0.6, linewidths=0)
        fig.colorbar(pts, ax=ax_e, label="time t" if spectra.t is not None else "state index")
        ax_e.legend(frameon=False, fontsize=7)
        ax_e.set_title("Jacobian eigenvalues along the states")
        lead = spectra.leading().detach().cpu().double().reshape(steps, -1)
        for b in range(lead.shape[1]):
            ax_t.plot(t, lead[:, b], lw=0.9, color=PALETTE[b % len(PALETTE)])
        ax_t.axhline(1.0 if spectra.is_map else 0.0, color="0.5", lw=1, ls="--")
        ax_t.set_xlabel("time t (time constants)" if spectra.t is not None else "state index")
        ax_t.set_ylabel("leading |lambda|" if spectra.is_map else "leading Re lambda")
        ax_t.set_title("locally unstable where above the dashed line")
        if title:
            fig.suptitle(title, fontsize=9)
        fig.tight_layout()
    return fig


def plot_phase_portrait(system: Any, *, trajectory: Any = None, fixed_points: FixedPoints | None = None, cycles: Any = (),
                        basins: Basins | None = None, inputs: Any = None,
                        extent: tuple[float, float, float, float] | None = None, resolution: int = 40,
                        title: str | None = None) -> Figure:
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
        extent = padded_extent(torch.cat(pts), 0.15)
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


def plot_survey(found: Survey, *, title: str | None = None) -> Figure:
    """A survey's overview: its fixed and slow points over its trajectories, and their eigenvalues.

    Arguments:
        found: the :class:`~ctrnn.Survey` to draw.
        title: the figure's title (default: the model).

    Returns:
        a matplotlib ``Figure``.
    """
    return plot_fixed_points(found.fixed_points, trajectory=found.trajectory, title=title or found.description)
