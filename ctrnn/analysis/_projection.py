"""Projections of visited states: principal components, and the planes that basins and portraits are drawn on."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import as_tensor, check_finite, check_nonempty


def principal_components(x: torch.Tensor, k: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Project points on their top ``k`` principal components (computed in float64).

    Arguments:
        x: ``(..., n)`` points, e.g. ``Trajectory.x`` ``(T, *batch, n)``.
        k: how many components.

    Returns:
        ``(projected (..., k), components (k, n), explained_variance_ratio (k,))``.

    Raises:
        ValueError: non-finite points, or none.
    """
    flat = x.reshape(-1, x.shape[-1]).double()
    check_nonempty(flat, "x")
    check_finite(flat, "x")
    # states beyond 1e100 (a run growing without bound, yet finite) are scaled to a largest entry of 1 first: their
    # squares overflow, and inf / inf would make every share NaN
    scale = float(flat.abs().max())
    scale = scale if scale > 1e100 else 1.0
    mean = (flat / scale).mean(0) * scale
    _, s, vh = torch.linalg.svd((flat - mean) / scale, full_matrices=False)
    var = s**2
    ratio = var[:k] / var.sum().clamp_min(torch.finfo(var.dtype).tiny)
    proj = (x.double() - mean) @ vh[:k].T
    return proj, vh[:k], ratio


def pca_plane(states: Any, *, include: Any = (), margin: float = 0.15) -> dict[str, Any]:
    """The plane of the top two principal components of visited states, for :func:`~ctrnn.analysis.basins`.

    Arguments:
        states: ``(..., n)`` visited states, ``n >= 2``.
        include: more points the extent must cover, each ``(..., n)``: the fixed points and the cycles' orbits
            found (trajectories that settled on one attractor would otherwise leave the others off the grid).
        margin: each side of the extent is widened by this fraction of the range.

    Returns:
        keyword arguments for ``basins``: ``origin`` ``(n,)`` (the states' mean), ``directions`` ``(2, n)`` (unit
        principal components of the states), ``extent`` (the range on the plane of the states and of ``include``,
        widened) and ``axis_labels``.

    Raises:
        ValueError: states of dimension below 2.
    """
    x = as_tensor(states, "states")
    if x.ndim < 2 or x.shape[-1] < 2:
        raise ValueError(f"a plane needs states of dimension n >= 2, got shape {tuple(x.shape)}")
    proj, components, ratio = principal_components(x.detach().cpu(), 2)
    labels = tuple(f"PC{i + 1} ({100 * float(r):.1f}% var.)" for i, r in enumerate(ratio))
    mean = x.detach().cpu().double().reshape(-1, x.shape[-1]).mean(0)
    extra = [(p - mean) @ components.T for p in _points(include, x.shape[-1])]
    return {"origin": mean, "directions": components, "axis_labels": labels,
            "extent": padded_extent(torch.cat([proj.reshape(-1, 2), *extra]), margin)}


def state_plane(states: Any, *, include: Any = (), margin: float = 0.15) -> dict[str, Any]:
    """The plane of a 2-D state itself, for :func:`~ctrnn.analysis.basins`.

    Arguments:
        states: ``(..., 2)`` visited states.
        include: more points the extent must cover, each ``(..., 2)`` (the fixed points and cycles found).
        margin: each side of the extent is widened by this fraction of the range.

    Returns:
        keyword arguments for ``basins``, as :func:`pca_plane` gives them: origin 0, the unit axes, the range of
        the states and of ``include`` widened, and the labels ``("x0", "x1")``.

    Raises:
        ValueError: states that are not 2-D.
    """
    x = as_tensor(states, "states")
    if x.shape[-1] != 2:
        raise ValueError(f"state_plane takes states of dimension 2, got shape {tuple(x.shape)}")
    points = torch.cat([x.detach().cpu().double().reshape(-1, 2), *_points(include, 2)])
    return {"origin": torch.zeros(2, dtype=torch.float64), "directions": torch.eye(2, dtype=torch.float64),
            "extent": padded_extent(points, margin), "axis_labels": ("x0", "x1")}


def _points(include: Any, n: int) -> list[torch.Tensor]:
    """``include`` (one array ``(..., n)`` or a sequence of them) as float64 CPU rows ``(P, n)``, empty ones dropped."""
    if isinstance(include, torch.Tensor) or (include is not None and not isinstance(include, (list, tuple))):
        include = [include]
    rows = [as_tensor(p, "include").detach().cpu().double().reshape(-1, n) for p in include or ()]
    return [r for r in rows if r.shape[0]]


def padded_extent(points: torch.Tensor, margin: float) -> tuple[float, float, float, float]:
    """``(a_min, a_max, b_min, b_max)`` of points ``(..., 2)``, each side widened by ``margin`` of the range."""
    flat = points.reshape(-1, 2)
    lo, hi = flat.amin(0), flat.amax(0)
    pad = margin * (hi - lo).clamp_min(1e-6)
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])
