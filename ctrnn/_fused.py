"""The fused fixed-grid loop of ``simulate``: euler, midpoint and rk4 without an autograd graph.

torchdiffeq's fixed-grid solvers build every stage from fresh tensors (``y0 + dt * k1 * (1/3)`` is three
passes over the state and three allocations) and copy each output in. Here the stage states are one
``torch.add(..., alpha=)`` each into a preallocated buffer, the step's result is written straight into its row
of the output, and the stage times are computed for the whole grid at once. The methods are torchdiffeq's own
(its ``rk4`` is Kutta's 3/8 rule), with its time perturbation at input breakpoints, so the states equal
torchdiffeq's to rounding (the scalar ``dt / 3`` rounds once instead of per element). Everything else (other
methods, the adjoint, a recorded graph) runs in torchdiffeq.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: the fixed-grid methods the fused loop runs (stage times as fractions of the step, first and last)
FUSED_METHODS = {"euler": (0.0,), "midpoint": (0.0, 0.5), "rk4": (0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0)}

Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def stage_times(grid: torch.Tensor, dt: torch.Tensor, method: str, perturb: bool) -> list[tuple[torch.Tensor, ...]]:
    """Each step's stage times, as torchdiffeq computes them (``t0 + dt * c`` in the grid's dtype, ``dt`` the
    grid's steps, the last stage of rk4 at ``t1``); with ``perturb``, the first stage just after ``t0`` and rk4's
    last just before ``t1`` (inputs are read on the right side of a jump)."""
    t0, t1 = grid[:-1], grid[1:]
    columns = []
    for c in FUSED_METHODS[method]:
        columns.append(t0 if c == 0.0 else t1 if c == 1.0 else t0 + dt * c)
    if perturb:
        columns[0] = torch.nextafter(t0, t0 + 1)
        if method == "rk4":
            columns[-1] = torch.nextafter(t1, t1 - 1)
    return list(zip(*(column.unbind(0) for column in columns)))


def fused_fixed_grid(func: Field, x0: torch.Tensor, t: torch.Tensor, grid: torch.Tensor, method: str, *,
                     perturb: bool, on_step: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]) -> torch.Tensor:
    """Integrate ``dx/dt = func(t, x)`` over ``grid`` (which holds every time of ``t``), returning the states at
    ``t``, shape ``(T, *x0.shape)``. ``on_step(t0, x0, dt)`` is called before each step (counts, progress)."""
    out = torch.empty((t.shape[0], *x0.shape), dtype=x0.dtype, device=x0.device)
    out[0] = x0
    # the grid index of each output time (the grid keeps t's exact values): where a step writes its result
    where = torch.searchsorted(grid, t)
    if not bool((grid[where.clamp(max=grid.shape[0] - 1)] == t).all()):
        raise AssertionError("the fixed grid does not hold every output time")  # our own grid: a bug if it fails
    row_of = {int(k): j for j, k in enumerate(where.tolist())}
    dt = grid[1:] - grid[:-1]
    steps = dt.tolist()  # Python floats: alpha arguments without a host sync per step
    times = stage_times(grid, dt, method, perturb)
    t_steps = dt.unbind(0)
    spare = [torch.empty_like(x0), torch.empty_like(x0)]  # where steps that end between output times go
    # one buffer per stage state and one for the sum: a field may return its input itself (dx/dt = x, a view of
    # x), so no buffer is written while a stage's value read from it is still needed
    stage2, stage3, stage4, total = (torch.empty_like(x0) for _ in range(4))
    y = out[0]
    for k, (h, ts) in enumerate(zip(steps, times)):
        on_step(ts[0], y, t_steps[k])
        j = row_of.get(k + 1)
        target = out[j] if j is not None else spare[k % 2]
        k1 = func(ts[0], y)
        if method == "euler":
            torch.add(y, k1, alpha=h, out=target)
        elif method == "midpoint":
            torch.add(y, k1, alpha=0.5 * h, out=stage2)
            torch.add(y, func(ts[1], stage2), alpha=h, out=target)
        else:  # Kutta's 3/8 rule, torchdiffeq's rk4
            torch.add(y, k1, alpha=h / 3.0, out=stage2)
            k2 = func(ts[1], stage2)
            torch.add(y, k2, alpha=h, out=stage3).add_(k1, alpha=-h / 3.0)
            k3 = func(ts[2], stage3)
            torch.add(y, k1, alpha=h, out=stage4).add_(k2, alpha=-h).add_(k3, alpha=h)
            k4 = func(ts[3], stage4)
            torch.add(k2, k3, out=total)
            torch.add(k1, total, alpha=3.0, out=total).add_(k4)
            torch.add(y, total, alpha=h / 8.0, out=target)
        y = target
    return out
