"""Basins of attraction on a 2-D plane of initial conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from .._simulate import simulate
from .._validation import as_tensor
from ..systems._base import System
from ._common import check_dynamics, check_input, check_states


@dataclass(frozen=True, eq=False)
class Basins:
    """Which attractor each initial condition on a grid reaches.

    Attributes:
        labels: ``(ny, nx)`` index into ``names`` of the attractor reached, ``-1`` for none of them
            (still moving, or another attractor).
        a, b: ``(nx,)`` and ``(ny,)`` coordinates along the plane's two directions.
        names: the attractors' names.
        origin, directions: the plane ``origin + a * d1 + b * d2`` (``directions`` is ``(2, n)``).
        attractors: name -> the attractor's states ``(P, n)``, drawn projected on the plane.
    """

    labels: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    names: list[str]
    origin: torch.Tensor
    directions: torch.Tensor
    attractors: dict[str, torch.Tensor] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def fractions(self) -> dict[str, float]:
        """Share of the grid in each basin (and ``"none"``)."""
        total = self.labels.numel()
        out = {name: float((self.labels == i).sum()) / total for i, name in enumerate(self.names)}
        out["none"] = float((self.labels < 0).sum()) / total
        return out

    def save(self, path: str) -> None:
        """Write the labels, the plane and the attractors to ``.safetensors``; :func:`ctrnn.load` reads it back."""
        from ..io import save_result

        tensors = {"labels": self.labels, "a": self.a, "b": self.b, "origin": self.origin, "directions": self.directions}
        tensors |= {f"attractor.{i}": v for i, v in enumerate(self.attractors.values())}
        save_result(path, "Basins", tensors, {"names": self.names, "attractors": list(self.attractors),
                                              "metadata": self.metadata})

    @classmethod
    def _from_saved(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Basins:
        attractors = {name: tensors.pop(f"attractor.{i}") for i, name in enumerate(meta["attractors"])}
        metadata = meta["metadata"]
        if "axis_labels" in metadata:
            metadata["axis_labels"] = tuple(metadata["axis_labels"])
        return cls(**tensors, names=meta["names"], attractors=attractors, metadata=metadata)

    def coordinates(self, states: torch.Tensor) -> torch.Tensor:
        """``(..., 2)`` least-squares coordinates ``(a, b)`` of states ``(..., n)`` on the plane."""
        d = self.directions.detach().cpu().double()
        rel = states.detach().cpu().double() - self.origin.detach().cpu().double()
        return rel @ torch.linalg.pinv(d)

    def plot(self, *, title: str | None = None):
        """The basins as an image over the plane. Returns a Figure."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        from ..plot import PALETTE, STYLE

        with plt.rc_context(STYLE):
            fig, ax = plt.subplots(figsize=(7.2, 4.6))
            colors = ["#DDDDDD"] + [PALETTE[i % len(PALETTE)] for i in range(len(self.names))]
            extent = [float(self.a[0]), float(self.a[-1]), float(self.b[0]), float(self.b[-1])]
            ax.imshow((self.labels + 1).numpy(), origin="lower", extent=extent, aspect="auto",
                      cmap=ListedColormap(colors), vmin=0, vmax=len(self.names), interpolation="nearest")
            for i, name in enumerate(self.names):
                ax.plot([], [], "s", color=colors[i + 1], mec="0.2", label=f"{name} ({100 * self.fractions()[name]:.0f}%)")
            ax.plot([], [], "s", color=colors[0], mec="0.2", label="none of them")
            for pts in self.attractors.values():  # where each attractor sits on the plane
                ab = self.coordinates(pts)
                ax.plot(ab[:, 0], ab[:, 1], "o" if ab.shape[0] == 1 else "-", color="white", mec="black",
                        lw=2, ms=7, zorder=3)
            xlabel, ylabel = self.metadata.get("axis_labels", ("a (along d1)", "b (along d2)"))
            ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
            ax.set_title(title or "basins of attraction")
            # beside the image: a swatch drawn over its own colour would vanish
            ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), title="attractor (white marks)",
                      title_fontsize=7)
            fig.tight_layout()
        return fig


def basins(system: System, attractors: dict[str, torch.Tensor], *, origin: Any = None, directions: Any = None,
           extent: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0), resolution: tuple[int, int] = (60, 60),
           t_end: float = 50.0, inputs: Any = None, tol: float = 1e-3, rtol: float = 1e-6, atol: float = 1e-8,
           axis_labels: tuple[str, str] = ("a (along d1)", "b (along d2)")) -> Basins:
    """Run every initial condition of a grid on a plane to ``t_end`` and label it by the attractor it ends on.

    Arguments:
        system: a flow.
        attractors: name -> states ``(P, n)`` of the attractor: one row for a fixed point, the orbit of
            a limit cycle (``LimitCycle.orbit``); the distance to an attractor is the distance to its
            nearest row.
        origin: ``(n,)`` centre of the plane (default 0); directions: ``(2, n)`` (default the first two
            coordinates; pass principal components for high-dimensional systems).
        extent: ``(a_min, a_max, b_min, b_max)``; resolution: ``(nx, ny)``.
        axis_labels: names of the plane's two axes in the plot (:func:`pca_plane` gives PC names).
        t_end: time each start runs; tol: an end state within ``tol (1 + |x|)`` of an attractor is in its basin.

    Returns:
        :class:`Basins`.
    """
    if check_dynamics(system, "basins"):
        raise TypeError("basins takes a flow (a System)")
    n = system.state_dim
    o = check_states(system, torch.zeros(n) if origin is None else origin, "origin")
    d = check_states(system, torch.eye(n)[:2] if directions is None else directions, "directions")
    if d.shape != (2, n):
        raise ValueError(f"directions must have shape (2, {n}), got {tuple(d.shape)}")
    if not attractors:
        raise ValueError("give at least one attractor: {name: states (P, n)}")
    targets = {name: check_states(system, torch.as_tensor(v).reshape(-1, n), f"attractor {name!r}") for name, v in attractors.items()}
    nx, ny = resolution
    a = torch.linspace(extent[0], extent[1], nx, dtype=torch.float64)
    b = torch.linspace(extent[2], extent[3], ny, dtype=torch.float64)
    B, A = torch.meshgrid(b, a, indexing="ij")
    starts = o + A.reshape(-1, 1).to(o) * d[0] + B.reshape(-1, 1).to(o) * d[1]
    u = check_input(system, inputs, starts)
    with torch.no_grad():
        end = simulate(system, starts, [0.0, t_end], inputs=u, rtol=rtol, atol=atol).x[-1]
        dist = torch.stack([torch.cdist(end, pts).min(dim=-1).values for pts in targets.values()], -1)  # (N, K)
        best = dist.argmin(-1)
        close = dist.gather(-1, best[:, None])[:, 0] <= tol * (1 + end.abs().amax(-1))
        labels = torch.where(close, best, torch.full_like(best, -1)).reshape(ny, nx)
    return Basins(labels=labels, a=a, b=b, names=list(targets), origin=o, directions=d, attractors=targets,
                  metadata={"t_end": t_end, "system": system.describe(), "axis_labels": axis_labels})


def pca_plane(states: Any, *, margin: float = 0.15) -> dict[str, Any]:
    """The plane of the top two principal components of visited states ``(..., n)``, as keyword
    arguments for :func:`basins`: ``origin`` (their mean), ``directions`` (unit PCs, ``(2, n)``),
    ``extent`` (their range on the plane, widened by ``margin`` on each side) and ``axis_labels``."""
    from ..plot import principal_components

    x = as_tensor(states, "states")
    if x.ndim < 2 or x.shape[-1] < 2:
        raise ValueError(f"a plane needs states of dimension n >= 2, got shape {tuple(x.shape)}")
    proj, components, ratio = principal_components(x.detach().cpu(), 2)
    labels = tuple(f"PC{i + 1} ({100 * float(r):.1f}% var.)" for i, r in enumerate(ratio))
    mean = x.detach().cpu().double().reshape(-1, x.shape[-1]).mean(0)
    return {"origin": mean, "directions": components, "extent": _padded_extent(proj, margin), "axis_labels": labels}


def state_plane(states: Any, *, margin: float = 0.15) -> dict[str, Any]:
    """The plane of a 2-D state itself, spanning visited states ``(..., 2)`` widened by ``margin``: keyword
    arguments for :func:`basins`, like :func:`pca_plane`."""
    x = as_tensor(states, "states")
    if x.shape[-1] != 2:
        raise ValueError(f"state_plane takes states of dimension 2, got shape {tuple(x.shape)}")
    return {"origin": torch.zeros(2, dtype=torch.float64), "directions": torch.eye(2, dtype=torch.float64),
            "extent": _padded_extent(x.detach().cpu().double(), margin), "axis_labels": ("x0", "x1")}


def _padded_extent(points: torch.Tensor, margin: float) -> tuple[float, float, float, float]:
    """``(a_min, a_max, b_min, b_max)`` of points ``(..., 2)``, each side widened by ``margin`` of the range."""
    flat = points.reshape(-1, 2)
    lo, hi = flat.amin(0), flat.amax(0)
    pad = margin * (hi - lo).clamp_min(1e-6)
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])
