"""Gradient propagation: how ``d x_T / d x_{T-k}`` grows or decays with the lag ``k`` (vanishing and
exploding gradients read as products of Jacobians along a trajectory)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ..._errors import DivergenceError
from ..._progress import ProgressBar
from ...discretize._base import DiscreteMap
from ...systems._base import System
from ..._validation import check_positive, check_size

from ...discretize._base import map_time_step
from .._tangent import TangentStepper, tangent_problem

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The one definition of the regimes (:attr:`GradientPropagation.regime`), used by the summary, the CLI, the
#: report and the gallery: **exploding** when the fitted rate is above ``+RATE_BAND`` *and* the mean log norm
#: at the horizon is above 0 (norm > 1); **vanishing** when the rate is below ``-RATE_BAND`` *and* the norm at
#: the horizon is below 1; **neither** otherwise. The band, per unit time (per iteration for a map without
#: ``dt``): a rate of 0.05 takes 20 time constants to change the norm by a factor e, too slow to matter over
#: the horizons analysed (tens of time constants); within it the sign is no more than the fit's noise (a
#: rate of -0.0038 is not "vanishing"). The norm condition: a norm still above 1 at the horizon has not
#: vanished, whatever its late slope (transient growth of a non-normal product), and one below 1 has not
#: exploded.
RATE_BAND = 0.05


@dataclass(frozen=True, eq=False, repr=False)
class GradientPropagation(Result):
    """Norms and singular values of ``d x_T / d x_{T-k}`` against the lag ``k``.

    Attributes:
        lags: ``(L,)`` lags in steps (iterations of the map, or steps ``dt`` of the flow's scheme).
        lag_times: ``(L,)`` the lags in time units (``lags * dt``; a map without ``dt``: iterations).
        log_norms: ``(B, L)`` natural log of the spectral norm ``||d x_T / d x_{T-k}||_2`` per initial state,
            float64. Stored as logarithms because the norms themselves leave the floating-point range
            (a x3 map over 1000 iterations: ``3^1000``); see :attr:`norms`.
        log_singular_values: ``(B, L, s)`` logs of the ``s`` leading singular values (``-inf`` for an exact 0).
        rate: fitted exponential rate of the norm per unit time (per iteration for a map without ``dt``):
            the slope of the mean ``log norm`` over ``lag_times >= fit_from`` (positive: exploding).
        fit_from: the smallest lag time used in the fit.
        part: which block of the state: name (``"h"``, ``"c"``...) or ``"all"``.
        is_map: a map (``True``) or a flow's scheme (``False``).

    :attr:`regime` says "exploding", "vanishing" or "neither" by the rule stated at ``RATE_BAND``.
    """

    lags: torch.Tensor
    lag_times: torch.Tensor
    log_norms: torch.Tensor
    log_singular_values: torch.Tensor
    rate: float
    fit_from: float
    part: str
    is_map: bool
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def time_unit(self) -> str:
        return "iterations" if self.metadata.get("dt") is None else "time constants"

    @property
    def norms(self) -> torch.Tensor:
        """``(B, L)`` ``||d x_T / d x_{T-k}||_2``: ``exp(log_norms)``, for reading; it overflows to ``inf`` (or
        underflows to 0) where the norm leaves the float64 range, which :attr:`log_norms` never does."""
        return self.log_norms.exp()

    @property
    def singular_values(self) -> torch.Tensor:
        """``(B, L, s)`` ``exp(log_singular_values)``; may overflow or underflow like :attr:`norms`."""
        return self.log_singular_values.exp()

    def mean_log_norm(self) -> torch.Tensor:
        """``(L,)`` the mean over initial states of ``log ||d x_T / d x_{T-k}||`` (the curve the rate fits)."""
        return self.log_norms.mean(0)

    @property
    def regime(self) -> str:
        """``"exploding"``, ``"vanishing"`` or ``"neither"``, from the rate and the norm reached at the horizon
        (the rule and its thresholds are stated at ``RATE_BAND``)."""
        end = float(self.mean_log_norm()[-1])  # log of the (geometric mean) norm at the horizon
        if self.rate > RATE_BAND and end > 0:
            return "exploding"
        if self.rate < -RATE_BAND and end < 0:
            return "vanishing"
        return "neither"

    def summary(self) -> str:
        kind = self.regime
        unit = "per iteration" if self.metadata.get("dt") is None else "per unit time"
        # the mean norm from the logarithms (log-sum-exp), printed as mantissa and exponent so that a norm
        # beyond float64 (3^1000) still prints
        last = self.log_norms[:, -1]
        log10 = (float(torch.logsumexp(last, 0)) - math.log(last.numel())) / math.log(10.0)
        if math.isfinite(log10):
            exponent = math.floor(log10)
            shown = f"{10 ** (log10 - exponent):.3f}e{exponent:+03d}"
        else:
            shown = "0.000e+00" if log10 < 0 else "nan"
        return (f"gradient norm ({self.part}) at lag {float(self.lag_times[-1]):g}: {shown}; "
                f"fitted rate {self.rate:+.4f} {unit} ({kind})")

    def plot(self, *, title: str | None = None, ax: Any = None, label: str | None = None, color: str | None = None) -> Figure:
        """``||d x_T / d x_{T-k}||`` (log scale) against the lag with the fitted exponential, and the
        leading singular values faint. Returns the Figure."""
        return plot_result(self, title=title, ax=ax, label=label, color=color)


def _part_indices(obj: System | DiscreteMap, part: Any) -> tuple[str, torch.Tensor | slice]:
    n = obj.state_dim
    if part is None or part == "all":
        return "all", slice(None)
    if isinstance(part, str):
        parts = state_parts(obj)
        if part not in parts:
            raise ValueError(f"unknown state part {part!r} for this model; choose one of: {', '.join(['all', *parts])}")
        return part, parts[part]
    if isinstance(part, slice):
        return f"{part.start}:{part.stop}", part
    idx = torch.as_tensor(part, dtype=torch.long)
    if idx.ndim != 1 or idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= n:
        raise ValueError(f"part must be a name, a slice or indices in [0, {n}), got {part!r}")
    return f"{idx.numel()} units", idx


def state_parts(obj: System | DiscreteMap) -> dict[str, slice]:
    """Named blocks of a model's state, for :func:`gradient_propagation`'s ``part``.

    Arguments:
        obj: a flow, or a map (which has the blocks of the model it discretizes).

    Returns:
        name -> slice of the state (``{"h": ..., "c": ...}`` for an LSTM); empty for a plain state.
    """
    target = obj.source_system if isinstance(obj, DiscreteMap) else obj
    return {} if target is None else dict(target.state_parts())


def gradient_propagation(sys_or_map: System | DiscreteMap, x0: Any, *, horizon: float, inputs: Any = None,
                         t_transient: float = 0.0, dt: float | None = None, method: str | None = None, part: Any = None,
                         n_singular: int = 8, max_lags: int = 400, fit_from: float = 0.5,
                         progress: bool = False) -> GradientPropagation:
    """``d x_T / d x_{T-k}`` for every lag ``k`` up to ``horizon``, by products of one-step Jacobians.

    The trajectory runs from ``x0`` for ``t_transient`` and then ``horizon`` more; ``T`` is its end. Going
    back from ``T``, the product of the step Jacobians of the same scheme the state followed (a map's own
    step; for a flow RK4 or Euler with step ``dt``: the gradient through the solver) is accumulated with
    rescaling, so norms far beyond the floating-point range are still exact in their logarithm.

    Arguments:
        sys_or_map: a flow or a map (RateRNN Euler map, GRU, LSTM, linear / diagonal / selective SSMs, ...).
        x0: ``(n,)`` or ``(B, n)`` initial states.
        horizon: largest lag, in time units (flow) or iterations (map).
        inputs: ``None``, a constant ``(m,)`` / ``(B, m)``, a flow's :class:`~ctrnn.inputs.Input`, or a map's
            sequence ``(T, B, m)`` covering the transient and the horizon.
        part: a block of the state: a name from the model's ``state_parts()`` (LSTM: ``"h"`` or ``"c"``, the
            cell path), a slice or indices; the result is the block ``d x_T[part] / d x_{T-k}[part]``.
        n_singular: leading singular values kept per lag.
        max_lags: at most this many lags are recorded (evenly spaced; always including 1 and the horizon).
        fit_from: the rate is fitted over lags from this fraction of the horizon on.
        dt, method: a flow's step (default 0.01) and scheme (default ``rk4``; also ``euler``, ``exp_euler``:
            the schemes of :func:`~ctrnn.discretize`). A map takes neither: leave them unset.

    Returns:
        :class:`GradientPropagation`.

    Raises:
        ValueError: bad shapes, an empty batch, complex states for a real model, an unsupported dtype, or
            non-positive ``horizon`` / ``dt``; ``dt`` or ``method`` for a map; an unknown ``method`` or ``part``
            (the message lists the choices); more states over the horizon than the size limit
            (:class:`~ctrnn.size_limit`).
        DivergenceError: the trajectory blew up.
    """
    is_map, x, h, method = tangent_problem(sys_or_map, x0, dt, method, "gradient_propagation")
    B, n = x.shape
    K = max(1, round(check_positive(horizon, "horizon") / h))
    n_tr = 0 if t_transient == 0 else round(check_positive(t_transient, "t_transient") / h)
    if not 0 <= fit_from < 1:
        raise ValueError(f"fit_from must be in [0, 1), got {fit_from!r}")
    name, idx = _part_indices(sys_or_map, part)
    check_size(K * x.numel(), f"the states kept over the horizon ({K} steps x {x.numel()} state values)",
               "shorten horizon, raise dt, or give fewer initial states")
    stepper = TangentStepper(sys_or_map, is_map, dt=h, method=method, inputs=inputs, like=x)
    available = stepper.steps_available()
    if available is not None and available < n_tr + K:
        raise ValueError(f"the input sequence has {available} steps; the transient and horizon need {n_tr + K}")
    time_step = map_time_step(sys_or_map) if is_map else h

    states = []
    with torch.no_grad(), ProgressBar("gradient propagation", n_tr + 2 * K, unit="steps", enabled=progress) as bar:
        for k in range(n_tr + K):
            if k >= n_tr:
                states.append(x)
            x, _ = stepper.step(x, k)
            if not bool(torch.isfinite(x).all()):
                bad = (~torch.isfinite(x).all(-1)).nonzero().flatten().tolist()
                raise DivergenceError(f"gradient_propagation: the trajectory became non-finite at step {k + 1} "
                                      f"for initial state(s) {bad[:10]}", time=(k + 1) * h, batch_indices=bad)
            bar.update(k + 1)
        record = set(torch.linspace(1, K, min(K, max_lags)).round().long().tolist())
        eye = torch.eye(n, dtype=x.dtype, device=x.device).expand(B, n, n)
        M = eye[:, idx, :].clone()  # rows of d x_T[part] / d x_{T-k}, rescaled
        log_scale = torch.zeros(B, dtype=torch.float64, device=x.device)
        log_svals = []
        for lag in range(1, K + 1):
            k = n_tr + K - lag  # the step that took x_k to x_{k+1}
            _, D = stepper.step(states[k - n_tr], k, eye)
            M = M @ D
            size = M.abs().amax(dim=(-2, -1)).clamp_min(torch.finfo(M.real.dtype).tiny)
            M = M / size[:, None, None].to(M.dtype)
            log_scale += size.double().log()
            if lag in record:
                s = torch.linalg.svdvals(M[:, :, idx]).double()
                log_svals.append(s[:, :n_singular].log() + log_scale[:, None])  # never exp(): it overflows
            bar.update(n_tr + K + lag)
    log_singular_values = torch.stack(log_svals, 1)  # (B, L, s)
    lags = torch.tensor(sorted(record), dtype=torch.long)
    lag_times = lags.double() * (time_step if time_step is not None else 1.0)
    log_norms = log_singular_values[..., 0]
    # an exactly zero norm (a nilpotent product) would make the fit -inf: floor it at the smallest normal float64
    mean_log = log_norms.clamp_min(math.log(torch.finfo(torch.float64).tiny)).mean(0)
    start = fit_from * float(lag_times[-1])
    fit = lag_times >= start
    if int(fit.sum()) < 2:
        fit = torch.ones_like(fit)
    A = torch.stack([lag_times[fit], torch.ones(int(fit.sum()), dtype=torch.float64)], -1)
    slope, intercept = torch.linalg.lstsq(A, mean_log[fit].cpu()[:, None]).solution[:, 0].tolist()
    return GradientPropagation(
        lags=lags, lag_times=lag_times, log_norms=log_norms, log_singular_values=log_singular_values, rate=slope,
        fit_from=float(lag_times[fit][0]), part=name, is_map=is_map,
        metadata={"system": sys_or_map.describe(), "dt": time_step, "horizon_steps": K, "t_transient": n_tr * h,
                  "intercept": intercept, "method": None if is_map else method, "initial_states": B})
