"""Time-varying inputs ``u(t)``.

An :class:`Input` maps a scalar time to a tensor of shape ``(*batch, m)``. It knows the time range it
covers (``simulate`` refuses a span outside it: inputs never extrapolate silently) and its
``breakpoints``, the times where it is not smooth, which the solvers step onto exactly.

Convention for samples on a grid (zero-order hold, as ``scipy.signal.lsim(..., interp=False)``):
sample ``k`` holds on ``[t_k, t_{k+1})``; the last sample holds at ``t_{T-1}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from ._validation import as_tensor, check_finite, check_number

__all__ = ["Constant", "FunctionInput", "Input", "Interpolated", "PiecewiseConstant", "as_input", "pulse", "step",
           "steps"]


class Input:
    """Base class: ``u(t)`` with a covered range ``[t_min, t_max]`` and discontinuity ``breakpoints``.

    Subclasses implement :meth:`__call__` and :meth:`to`.
    """

    dim: int
    t_min: float = -math.inf
    t_max: float = math.inf

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """``u(t)``, shape ``(*batch, m)``."""
        raise NotImplementedError

    def sample(self, times: torch.Tensor) -> torch.Tensor:
        """``u`` at each of ``times`` ``(T,)``: shape ``(T, *batch, m)``."""
        return torch.stack([self(tk) for tk in times])

    @property
    def breakpoints(self) -> torch.Tensor | None:
        """Times (1-D, sorted) where ``u`` or its derivative jumps; ``None`` when smooth."""
        return None

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return ()

    def to(self, *, dtype: torch.dtype, device: torch.device | str | None) -> Input:
        """A copy with tensors of this dtype / device (``self`` when nothing changes)."""
        return self

    def tensors(self) -> list[torch.Tensor]:
        """Tensors that may carry gradients (the adjoint method needs them listed)."""
        return []

    def covers(self, t0: float, t1: float) -> bool:
        return self.t_min <= t0 and t1 <= self.t_max


class Constant(Input):
    """``u(t) = value`` for all t. ``value`` has shape ``(m,)`` or ``(*batch, m)``."""

    def __init__(self, value: torch.Tensor | Sequence[float] | float):
        v = as_tensor(value, "value")
        if v.ndim == 0:
            v = v.reshape(1)
        check_finite(v, "constant input")
        self.value, self.dim = v, v.shape[-1]

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return self.value

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape[:-1])

    def to(self, *, dtype: torch.dtype, device: torch.device | str | None) -> Constant:
        return Constant(self.value.to(dtype=dtype, device=device))

    def tensors(self) -> list[torch.Tensor]:
        return [self.value]


class _Gridded(Input):
    """Shared checks for inputs given as samples ``values[k]`` at increasing ``times[k]``."""

    def __init__(self, times: torch.Tensor | Sequence[float], values: torch.Tensor, *, min_points: int):
        t = as_tensor(times, "times")
        v = as_tensor(values, "values")
        if t.ndim != 1 or t.shape[0] < min_points:
            raise ValueError(f"times must be 1-D with at least {min_points} point(s), got shape {tuple(t.shape)}")
        if v.ndim < 2 or v.shape[0] != t.shape[0]:
            raise ValueError(
                f"values must have shape (T, *batch, m) with T = len(times) = {t.shape[0]}, "
                f"got {tuple(v.shape)}; add a trailing input dimension for a scalar input"
            )
        check_finite(t, "times")
        check_finite(v, "input values")
        if t.shape[0] > 1 and not bool((t[1:] > t[:-1]).all()):
            k = int((t[1:] <= t[:-1]).nonzero()[0])
            raise ValueError(f"times must be strictly increasing; times[{k + 1}] = {float(t[k + 1])} "
                             f"<= times[{k}] = {float(t[k])}")
        self.times, self.values = t, v
        self.dim = v.shape[-1]
        self.t_min, self.t_max = float(t[0]), float(t[-1])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape[1:-1])

    def tensors(self) -> list[torch.Tensor]:
        return [self.values]

    def sample(self, times: torch.Tensor) -> torch.Tensor:
        return self(times)  # __call__ is vectorised over a 1-D tensor of times

    def _interval(self, t: torch.Tensor) -> torch.Tensor:
        """Index k with ``times[k] <= t < times[k+1]`` (same shape as ``t``), clamped to the grid
        (a solver's first-step probe may look past the end)."""
        times = self.times if self.times.dtype == t.dtype else self.times.to(t.dtype)
        k = torch.searchsorted(times, t.reshape(-1), right=True).reshape(t.shape) - 1
        return k.clamp(0, self.times.shape[0] - 1)


class PiecewiseConstant(_Gridded):
    """Zero-order hold: ``u(t) = values[k]`` on ``[times[k], times[k+1])``.

    Arguments:
        times: ``(T,)`` strictly increasing switch times.
        values: ``(T, *batch, m)``.
        t_end: the last value holds until ``t_end`` (default ``times[-1]``).
    """

    def __init__(self, times: torch.Tensor | Sequence[float], values: torch.Tensor, *, t_end: float | None = None):
        super().__init__(times, values, min_points=1)
        if t_end is not None:
            if not t_end >= self.t_max:
                raise ValueError(f"t_end must be >= the last switch time {self.t_max}, got {t_end}")
            self.t_max = float(t_end)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return self.values[self._interval(t)]

    @property
    def breakpoints(self) -> torch.Tensor | None:
        return self.times[1:]

    def to(self, *, dtype: torch.dtype, device: torch.device | str | None) -> PiecewiseConstant:
        return PiecewiseConstant(self.times.to(dtype=dtype, device=device),
                                 self.values.to(dtype=dtype, device=device), t_end=self.t_max)


class Interpolated(_Gridded):
    """Linear or natural-cubic-spline interpolation of samples; defined on ``[times[0], times[-1]]``.

    Arguments:
        times: ``(T,)`` strictly increasing.
        values: ``(T, *batch, m)``.
        kind: ``"linear"`` (kinks at the samples, which solvers step onto) or ``"cubic"`` (natural
            cubic spline, twice continuously differentiable, as ``scipy.interpolate.CubicSpline(...,
            bc_type="natural")``). Gradients flow to ``values``.
    """

    def __init__(self, times: torch.Tensor | Sequence[float], values: torch.Tensor, *, kind: str = "linear"):
        if kind not in ("linear", "cubic"):
            raise ValueError(f"unknown interpolation kind {kind!r}; choose one of: cubic, linear")
        super().__init__(times, values, min_points=2 if kind == "linear" else 3)
        self.kind = kind
        self._second = _natural_spline_second_derivatives(self.times, self.values) if kind == "cubic" else None

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        k = self._interval(t).clamp(max=self.times.shape[0] - 2)
        t0, t1 = self.times[k], self.times[k + 1]
        h = t1 - t0
        s = ((t.to(self.times.dtype) - t0) / h).to(self.values.dtype)
        s = s.reshape(s.shape + (1,) * (self.values.ndim - 1))  # broadcast over (*batch, m)
        y0, y1 = self.values[k], self.values[k + 1]
        out = y0 + s * (y1 - y0)
        if self._second is not None:
            m0, m1 = self._second[k], self._second[k + 1]
            h = h.reshape(s.shape).to(self.values.dtype)
            # cubic Hermite form of the spline piece with second derivatives m0, m1 at the ends
            out = out + (h * h / 6.0) * ((s**3 - s) * m1 + ((1 - s) ** 3 - (1 - s)) * m0)
        return out

    @property
    def breakpoints(self) -> torch.Tensor | None:
        return self.times[1:-1] if self.kind == "linear" else None

    def to(self, *, dtype: torch.dtype, device: torch.device | str | None) -> Interpolated:
        return Interpolated(self.times.to(dtype=dtype, device=device),
                            self.values.to(dtype=dtype, device=device), kind=self.kind)


def _natural_spline_second_derivatives(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Second derivatives ``M`` at the knots of the natural cubic spline (``M_0 = M_{T-1} = 0``),
    by the Thomas algorithm on the tridiagonal system; differentiable in ``y``."""
    T = t.shape[0]
    h = (t[1:] - t[:-1]).to(y.dtype)
    shape = (-1,) + (1,) * (y.ndim - 1)
    slope = (y[1:] - y[:-1]) / h.reshape(shape)
    rhs = 6.0 * (slope[1:] - slope[:-1])           # rows 1 .. T-2
    diag = 2.0 * (h[:-1] + h[1:])
    # forward sweep
    c_prime, d_prime = [], []
    for i in range(T - 2):
        lower = h[i] if i > 0 else 0.0
        denom = diag[i] - (lower * c_prime[-1] if i > 0 else 0.0)
        c_prime.append(h[i + 1] / denom)
        d_prime.append((rhs[i] - (lower * d_prime[-1] if i > 0 else 0.0)) / denom)
    M = [torch.zeros_like(y[0])] * T
    for i in range(T - 3, -1, -1):
        M[i + 1] = d_prime[i] - (c_prime[i] * M[i + 2] if i < T - 3 else 0.0)
    return torch.stack(M)


class FunctionInput(Input):
    """A callable ``fn(t) -> (*batch, m)`` tensor.

    Arguments:
        fn: called with a scalar tensor time.
        dim: ``m``.
        t_range: the range on which ``fn`` is valid (default: all times).
        breakpoints: times where ``fn`` jumps, for the solvers to step onto.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], dim: int, *,
                 t_range: tuple[float, float] = (-math.inf, math.inf),
                 breakpoints: Sequence[float] | None = None):
        if not callable(fn):
            raise TypeError(f"fn must be callable as fn(t), got {type(fn).__name__}")
        self.fn, self.dim = fn, int(dim)
        self.t_min, self.t_max = float(t_range[0]), float(t_range[1])
        self._breakpoints = None if breakpoints is None else torch.as_tensor(sorted(breakpoints))

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return self.fn(t)

    @property
    def breakpoints(self) -> torch.Tensor | None:
        return self._breakpoints


def steps(times: Sequence[float], levels: torch.Tensor | Sequence, *, t_span: tuple[float, float]) -> PiecewiseConstant:
    """A staircase: ``levels[0]`` before ``times[0]``, ``levels[k]`` on ``[times[k-1], times[k])``, ...,
    over ``t_span``. Switch times outside the span are clipped: the level in force at ``t_span[0]`` starts
    the staircase and switches at or after ``t_span[1]`` never happen.

    Arguments:
        times: ``K`` increasing switch times.
        levels: ``K + 1`` levels, each a scalar or an ``(m,)`` / ``(*batch, m)`` tensor.
        t_span: ``(t0, t1)`` the input covers.

    Returns:
        a :class:`PiecewiseConstant` input.

    Raises:
        ValueError: a non-finite or non-increasing span or switch times, or a count of levels that is not ``K + 1``.
    """
    t0, t1 = check_number(t_span[0], "t_span[0]"), check_number(t_span[1], "t_span[1]")
    if not t1 > t0:
        raise ValueError(f"t_span must be increasing, got {t_span}")
    times = [check_number(s, "switch time") for s in times]  # a NaN time would silently never switch
    if any(b <= a for a, b in zip(times[:-1], times[1:])):
        raise ValueError(f"switch times must be strictly increasing, got {times}")
    vals = [as_tensor(v, "levels") for v in levels]
    if len(vals) != len(times) + 1:
        raise ValueError(f"need len(times) + 1 = {len(times) + 1} levels, got {len(vals)}")
    vals = [v.reshape(1) if v.ndim == 0 else v for v in vals]
    first = sum(s <= t0 for s in times)  # index of the level in force at t0
    inside = [s for s in times if t0 < s < t1]
    kept = vals[first: first + len(inside) + 1]
    return PiecewiseConstant([t0, *inside], torch.stack(torch.broadcast_tensors(*kept)), t_end=t1)


def step(t_on: float, amplitude: torch.Tensor | Sequence[float] | float, *, t_span: tuple[float, float]) -> PiecewiseConstant:
    """A step input: zero until ``t_on``, then ``amplitude`` until the end of ``t_span``.

    Arguments:
        t_on: when it switches on. amplitude: a scalar or ``(m,)``. t_span: ``(t0, t1)`` the input covers.

    Returns:
        a :class:`PiecewiseConstant` input.

    Raises:
        ValueError: a non-finite ``t_on`` or span.
    """
    amp = as_tensor(amplitude, "amplitude")
    return steps([check_number(t_on, "t_on")], [torch.zeros_like(amp), amp], t_span=t_span)


def pulse(t_on: float, t_off: float, amplitude: torch.Tensor | Sequence[float] | float, *,
          t_span: tuple[float, float]) -> PiecewiseConstant:
    """A pulse: ``amplitude`` on ``[t_on, t_off)``, zero elsewhere in ``t_span``.

    Arguments:
        t_on, t_off: its start and end. amplitude: a scalar or ``(m,)``. t_span: ``(t0, t1)`` the input covers.

    Returns:
        a :class:`PiecewiseConstant` input.

    Raises:
        ValueError: ``t_off <= t_on``, or a non-finite time.
    """
    t_on, t_off = check_number(t_on, "t_on"), check_number(t_off, "t_off")
    if not t_off > t_on:
        raise ValueError(f"t_off must be > t_on, got t_on={t_on}, t_off={t_off}")
    amp = as_tensor(amplitude, "amplitude")
    zero = torch.zeros_like(amp)
    return steps([t_on, t_off], [zero, amp, zero], t_span=t_span)


def as_input(inputs: Input | torch.Tensor | Callable | float | None, t: torch.Tensor, input_dim: int) -> Input | None:
    """Interpret ``simulate``'s ``inputs`` argument.

    ``None`` (zero input), an :class:`Input`, a tensor of samples ``(T, *batch, m)``
    on the time grid ``t`` (zero-order hold), a number or ``(m,)`` sequence (constant), or a callable
    ``fn(t)`` (a :class:`FunctionInput`).

    Arguments:
        inputs: what the caller passed. t: ``(T,)`` the time grid. input_dim: the system's ``m``.

    Returns:
        an :class:`Input`, or ``None`` for zero input.

    Raises:
        ValueError: inputs for an autonomous system, samples not on the grid, or the wrong size ``m``.
    """
    if inputs is None:
        return None  # systems read u=None as zero input
    if input_dim == 0:
        raise ValueError("this system is autonomous (input_dim = 0): leave inputs=None")
    if isinstance(inputs, Input):
        u = inputs
    elif isinstance(inputs, torch.Tensor):
        if inputs.ndim < 2 or inputs.shape[0] != t.shape[0]:
            raise ValueError(
                f"an inputs tensor holds samples on the time grid and must have shape (T, *batch, m) with "
                f"T = len(t) = {t.shape[0]}, got {tuple(inputs.shape)}; for a constant input pass "
                "ctrnn.inputs.Constant(value)"
            )
        u = PiecewiseConstant(t, inputs)
    elif callable(inputs):
        u = FunctionInput(inputs, input_dim)
    else:
        u = Constant(inputs)
    if u.dim != input_dim:
        raise ValueError(f"input has size m = {u.dim} but the system takes input_dim = {input_dim}")
    return u
