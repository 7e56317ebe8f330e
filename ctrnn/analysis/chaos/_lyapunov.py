"""Lyapunov spectra by QR re-orthonormalisation of tangent vectors (Benettin et al. 1980; Shimada &
Nagashima 1979), with Kaplan-Yorke dimension, entropy rate and batch-means standard errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ..._errors import DivergenceError
from ..._progress import ProgressBar
from ...discretize._base import DiscreteMap
from ...systems._base import System
from ...systems._rate import make_generator
from ..._validation import check_positive

from ...discretize._base import map_time_step
from .._tangent import TangentStepper, tangent_problem

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The one rule by which exponents are decided (for ``chaotic``, the Kaplan-Yorke dimension and the entropy):
#: an exponent counts as zero when it is within ``ZERO_STDERRS`` standard errors of zero, or within the
#: run's resolution ``1 / t_total``; ``chaotic`` means lambda_1 is above both. Two standard errors: a zero
#: exponent (a flow's direction along its orbit) is then taken for a non-zero one in about 5% of runs. The
#: resolution: an exponent averaged over ``T`` carries a bias ``log(c) / T`` from the bounded ratio ``c`` of
#: the start and end of the measurement (a cycle's speed at the two ends; a rotation's orientation), which
#: batch means do not see (a linear rotation's blocks are all alike: standard error 1e-17, exponent -7e-8
#: from RK4's dissipation).
ZERO_STDERRS = 2.0


@dataclass(frozen=True, eq=False, repr=False)
class LyapunovSpectrum(Result):
    """The ``k`` leading Lyapunov exponents.

    Attributes:
        exponents: ``(k,)`` averaged over the initial states, in Gram-Schmidt order (largest first), per
            unit time for a flow and per iteration for a map (see :meth:`per_unit_time`).
        stderr: ``(k,)`` standard errors from batch means (time blocks of every initial state).
        per_state: ``(B, k)`` each initial state's exponents.
        times: ``(R,)`` times at which ``running`` was recorded (after the transients).
        running: ``(R, k)`` the running estimate (mean over states) at those times.
        kaplan_yorke_dimension: ``j + (l_1 + ... + l_j) / |l_{j+1}|`` with ``j`` the largest index whose
            partial sum is non-negative, of the decided exponents (:meth:`decided`: those within
            ``ZERO_STDERRS`` standard errors of zero, or within ``resolution``, count as zero); a lower bound
            when ``kaplan_yorke_is_bound``.
        entropy: sum of the decided positive exponents (Pesin's upper bound on the KS entropy), same units.
        is_map: exponents are per iteration (map) or per unit time (flow).
        time_step: the flow's integration step, or the map's ``dt`` when it has one (else ``None``).
        n: the state dimension.
        kaplan_yorke_is_bound: ``k < n`` and every partial sum of the decided exponents is non-negative, so
            the dimension is only known to be at least ``k`` (printed as ``"≥ k"``, see :meth:`kaplan_yorke_text`).
        kaplan_yorke_raw: the dimension of the raw exponents (no zeroing), for comparison; ``None`` in files
            written before it existed.
        resolution: ``1 / t_total``, same units as the exponents: smaller exponents count as zero
            (see ``ZERO_STDERRS``); 0 in files written before it existed.
    """

    exponents: torch.Tensor
    stderr: torch.Tensor
    per_state: torch.Tensor
    times: torch.Tensor
    running: torch.Tensor
    kaplan_yorke_dimension: float
    entropy: float
    is_map: bool
    time_step: float | None
    n: int
    kaplan_yorke_is_bound: bool = False
    kaplan_yorke_raw: float | None = None
    resolution: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def largest(self) -> float:
        return float(self.exponents[0])

    @property
    def chaotic(self) -> bool:
        """Largest exponent positive by more than ``ZERO_STDERRS`` (2) standard errors and more than the
        resolution ``1 / t_total``: not counted as zero (see :meth:`decided`)."""
        return bool(self.decided()[0] > 0)

    def decided(self) -> torch.Tensor:
        """``(k,)`` the exponents as decided with their error bars: those within ``ZERO_STDERRS`` standard
        errors of zero, or within ``resolution``, set to exactly 0 (float64, CPU)."""
        return decide_exponents(self.exponents, self.stderr, self.resolution)

    def kaplan_yorke_text(self, digits: int = 4) -> str:
        """The Kaplan-Yorke dimension as a reader should see it: ``"≥ k"`` when it is only a lower bound,
        else the value to ``digits`` decimals."""
        if self.kaplan_yorke_is_bound:
            return f"≥ {len(self.exponents)}"
        return f"{self.kaplan_yorke_dimension:.{digits}f}"

    def per_unit_time(self) -> torch.Tensor:
        """Exponents per unit time: a map's per-iteration exponents divided by its ``dt``."""
        if not self.is_map:
            return self.exponents
        if self.time_step is None:
            raise ValueError("this map has no dt, so its exponents exist per iteration only")
        return self.exponents / self.time_step

    def summary(self) -> str:
        unit = "per iteration" if self.is_map else "per unit time"
        lead = ", ".join(f"{float(e):+.4f} ± {_stderr_text(s)}" for e, s in zip(self.exponents[:4], self.stderr[:4]))
        more = f" (+{len(self.exponents) - 4} more)" if len(self.exponents) > 4 else ""
        return (f"Lyapunov exponents ({unit}): {lead}{more}; sum {float(self.exponents.sum()):+.6g}; "
                f"Kaplan-Yorke dimension {self.kaplan_yorke_text()}; entropy {self.entropy:.4g}; "
                f"{'chaotic' if self.chaotic else 'not chaotic'}")

    def plot(self, *, title: str | None = None) -> Figure:
        """Left: the spectrum with error bars. Right: running estimates of the leading exponents. Returns a Figure."""
        return plot_result(self, title=title)


def _stderr_text(stderr: Any) -> str:
    """A standard error to 4 decimals; ``n/a`` where it cannot be estimated (one state and one time block)."""
    value = float(stderr)
    return f"{value:.4f}" if math.isfinite(value) else "n/a"


def decide_exponents(exponents: torch.Tensor, stderr: torch.Tensor | None, resolution: float = 0.0) -> torch.Tensor:
    """Exponents decided with their error bars: each within ``ZERO_STDERRS`` standard errors of zero, or
    within ``resolution``, is 0.

    Arguments:
        exponents: ``(k,)`` Lyapunov exponents.
        stderr: ``(k,)`` their standard errors, or ``None``; a NaN one (a single block) zeroes by
            ``resolution`` only.
        resolution: exponents with ``|l| <= resolution`` are zero (``1 / t_total`` for a measured spectrum).

    Returns:
        ``(k,)`` float64 on the CPU.
    """
    lam = exponents.double().cpu()
    zero = lam.abs() <= resolution
    if stderr is not None:
        zero |= lam.abs() <= ZERO_STDERRS * stderr.double().cpu()
    return torch.where(zero, torch.zeros_like(lam), lam)


def kaplan_yorke_dimension(exponents: torch.Tensor, stderr: torch.Tensor | None = None, resolution: float = 0.0) -> float:
    """``j + S_j / |l_{j+1}|`` for exponents sorted in decreasing order, ``S_j`` the largest non-negative
    partial sum (Kaplan & Yorke 1979); 0 when ``l_1 < 0``, the count of exponents when every partial sum is
    non-negative.

    Arguments:
        exponents: ``(k,)`` Lyapunov exponents, in any order.
        stderr: ``(k,)`` their standard errors: exponents within ``ZERO_STDERRS`` of them of zero count as
            zero first (a limit cycle's ``-0.0005 ± 0.0012`` is 0, so its dimension is 1, not 0). ``None``: the
            exponents as given.
        resolution: exponents with ``|l| <= resolution`` count as zero too (see ``decide_exponents``).

    Returns:
        the Kaplan-Yorke (Lyapunov) dimension; only a lower bound when ``k`` is less than the state dimension
        and every partial sum is non-negative (see ``kaplan_yorke_is_bound``).
    """
    lam = torch.sort(decide_exponents(exponents, stderr, resolution), descending=True).values
    sums = torch.cumsum(lam, 0)
    nonneg = (sums >= 0).nonzero().flatten()
    if nonneg.numel() == 0:
        return 0.0
    j = int(nonneg[-1]) + 1  # number of exponents in the largest non-negative partial sum
    if j == lam.numel():
        return float(j)
    return j + float(sums[j - 1]) / abs(float(lam[j]))


def _as_count(value: float, step: float, name: str) -> int:
    """``value / step`` as a whole number of steps (at least one); ``value`` must be positive and finite."""
    return max(1, round(check_positive(value, name) / step))


def lyapunov_spectrum(sys_or_map: System | DiscreteMap, x0: Any, *, k: int | None = None, t_transient: float = 100.0,
                      t_total: float = 1000.0, qr_interval: float | None = None, dt: float | None = None,
                      method: str | None = None, t_transient_vectors: float | None = None, inputs: Any = None,
                      n_blocks: int = 10, max_norm: float = 1e8, seed: int | torch.Generator | None = 0,
                      progress: bool = False, running_points: int = 1000) -> LyapunovSpectrum:
    """The ``k`` leading Lyapunov exponents of a flow or a map, averaged over initial states.

    The state and ``k`` tangent vectors advance with the same scheme (for a flow: RK4 or Euler with step
    ``dt``, the vectors through the model's Jacobian-vector product, so a rate network never forms its
    Jacobian); every ``qr_interval`` the vectors are re-orthonormalised by QR and ``log |R_ii|`` accumulates.
    First the state runs alone for ``t_transient``, then the vectors run for ``t_transient_vectors`` without
    counting, so that both have settled before the average starts.

    Arguments:
        sys_or_map: a flow (:class:`~ctrnn.System`) or a map (:class:`~ctrnn.DiscreteMap`).
        x0: ``(n,)`` or ``(B, n)`` initial states; every one is followed (batched).
        k: number of exponents, ``1 <= k <= n`` (default ``n``). ``k = 1`` is the fast largest-exponent estimate.
        t_transient, t_total, qr_interval, t_transient_vectors: in time units for a flow, iterations for a
            map. ``qr_interval`` defaults to 1 time unit (a map: ``1/dt`` iterations when it has a ``dt``,
            else 1); ``t_transient_vectors`` to 10% of ``t_total``.
        dt, method: a flow's step (default 0.01) and scheme (default ``rk4``; also ``euler``, ``exp_euler``:
            the schemes of :func:`~ctrnn.discretize`, step for step). A map takes neither: leave them unset.
        inputs: a constant input ``(m,)`` or ``(B, m)``.
        n_blocks: time blocks per state for the batch-means standard errors.
        max_norm: a state beyond this norm counts as diverged.
        seed: for the random initial tangent vectors.
        progress: show a progress bar.

    Returns:
        :class:`LyapunovSpectrum`.

    Raises:
        ValueError: non-positive times or steps, ``k`` outside ``1..n``, wrong shapes, an empty batch, complex
            states for a real model, an unsupported dtype (float16, ...); ``dt`` or ``method`` for a map; an
            unknown ``method`` (the message lists the schemes).
        DivergenceError: the state or the vectors became non-finite (or left ``max_norm``): the time and the
            batch elements are named; no partial estimate is returned as if converged.
    """
    is_map, x, h, method = tangent_problem(sys_or_map, x0, dt, method, "lyapunov_spectrum")
    return _spectra(sys_or_map, is_map, x, h, [sys_or_map.describe()], [seed], k=k, t_transient=t_transient,
                    t_total=t_total, qr_interval=qr_interval, method=method, t_transient_vectors=t_transient_vectors,
                    inputs=inputs, n_blocks=n_blocks, max_norm=max_norm, progress=progress,
                    running_points=running_points)[0]


def lyapunov_spectra(models: Sequence[System | DiscreteMap], x0: Any, *, seeds: Sequence[int] | None = None,
                     stack: bool | None = None, **options: Any) -> list[LyapunovSpectrum]:
    """The spectra of several networks, advanced together in one batched solve when they share an
    architecture (same class, shapes and settings; e.g. rate networks at different gains or seeds) that stacks
    natively (:func:`~ctrnn.discretize.stacks_natively`: rate and Beer networks and their maps).

    Arguments:
        models: ``P`` flows or ``P`` maps.
        x0: ``(P, B, n)`` initial states per network (or a list of ``P`` arrays ``(B_p, n)``), or ``(B, n)`` /
            ``(n,)`` shared by all.
        seeds: ``P`` seeds for each network's random initial tangent vectors (default: ``options["seed"]``,
            or 0, for all); a network's result does not depend on which others share its solve.
        stack: ``None`` (the default): one solve where the class stacks natively, else one network after
            another (a solve under ``torch.vmap`` costs milliseconds per step: slower than one at a time);
            ``True``: one solve for any class that can be stacked (under ``torch.vmap`` where it has no native
            path); ``False``: one after another. Networks that cannot be stacked always run one after another.
        options: as for :func:`lyapunov_spectrum`.

    Returns:
        One :class:`LyapunovSpectrum` per network, in order; ``metadata["stacked"]`` says how it was run.

    Raises:
        ValueError: as :func:`lyapunov_spectrum` (bad states, inputs or options, ``dt`` / ``method`` for maps).
        DivergenceError: a network blew up; it names the network and its states, and its ``batch_indices``
            count the rows of all networks' initial states in order.
    """
    from ...discretize._stacked import stack_models, stacks_natively
    from ...systems._stacked import stacking_obstacle

    models = list(models)
    if not models:
        raise ValueError("give at least one model")
    P = len(models)
    base_seed = options.pop("seed", 0)
    seeds = [base_seed] * P if seeds is None else list(seeds)
    if len(seeds) != P:
        raise ValueError(f"give one seed per model: {P} models, {len(seeds)} seeds")
    states = network_states(x0, P)
    obstacle = ("stack=False" if stack is False else "a single model" if P == 1 else
                "the networks have different numbers of initial states"
                if len({s.shape for s in states}) > 1 else stacking_obstacle(models))
    if obstacle is None and stack is None and not stacks_natively(models[0]):
        obstacle = (f"{type(models[0]).__name__} has no native stacked path, and under torch.vmap one solve is "
                    "slower than one network at a time (stack=True runs it so)")
    if obstacle is None:
        stacked = stack_models(models)
        dt, method = options.pop("dt", None), options.pop("method", None)
        is_map, x, h, method = tangent_problem(stacked, torch.cat(states), dt, method, "lyapunov_spectra")
        results = _spectra(stacked, is_map, x, h, stacked.descriptions, seeds, method=method, **options)
    else:
        results, offset = [], 0
        for i, (model, x, s) in enumerate(zip(models, states, seeds)):
            try:
                results.append(lyapunov_spectrum(model, x, seed=s, **options))
            except DivergenceError as error:  # indices into all networks' rows, as in a stacked solve
                raise DivergenceError(f"network {i}: {error}", time=error.time,
                                      batch_indices=[offset + b for b in error.batch_indices]) from error
            offset += x.shape[0]
    return [replace(r, metadata={**r.metadata, "stacked": obstacle is None,
                                 **({"not_stacked": obstacle} if obstacle else {})}) for r in results]


def network_states(x0: Any, count: int) -> list[torch.Tensor]:
    """Each of ``count`` networks' initial states ``(B_p, n)``, from a sequence of ``count`` arrays, a
    ``(count, B, n)`` array, or one ``(B, n)`` / ``(n,)`` array that every network shares."""
    if isinstance(x0, (list, tuple)) and len(x0) == count and not isinstance(x0[0], (int, float)):
        parts = [torch.as_tensor(x) for x in x0]
    else:
        x = torch.as_tensor(x0)
        parts = list(x.unbind(0)) if x.ndim == 3 and x.shape[0] == count else [x] * count
    return [p.reshape(-1, p.shape[-1]) if p.ndim else p for p in parts]


def _spectra(obj: System | DiscreteMap, is_map: bool, x: torch.Tensor, h: float, names: list[str],
             seeds: list[Any], *, k: int | None = None, t_transient: float = 100.0, t_total: float = 1000.0,
             qr_interval: float | None = None, method: str | None = None, t_transient_vectors: float | None = None,
             inputs: Any = None, n_blocks: int = 10, max_norm: float = 1e8, progress: bool = False,
             running_points: int = 1000) -> list[LyapunovSpectrum]:
    """The spectra of ``P = len(names)`` networks whose states are the consecutive row groups of ``x``
    (``(P * B, n)``, one network or a stacked batch), advanced in one solve; ``h`` and ``method`` as
    :func:`~ctrnn.analysis._tangent.tangent_problem` resolved them."""
    rows, n = x.shape
    P = len(names)
    B = rows // P
    k = n if k is None else k
    if not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer with 1 <= k <= n = {n}, got {k!r}")
    map_dt = map_time_step(obj) if is_map else None
    if qr_interval is None:
        qr_interval = 1.0 if not is_map else (max(1, round(1.0 / map_dt)) if map_dt else 1)
    n_transient = _as_count(t_transient, h, "t_transient")
    per_qr = _as_count(qr_interval, h, "qr_interval")
    n_intervals = _as_count(t_total, h * per_qr, "t_total")
    n_vec = _as_count(0.1 * t_total if t_transient_vectors is None else t_transient_vectors, h * per_qr,
                      "t_transient_vectors")
    n_blocks = max(1, min(int(n_blocks), n_intervals))
    stepper = TangentStepper(obj, is_map, dt=h, method=method, inputs=inputs, like=x)
    # each network's vectors from its own seed, so a result does not depend on its batch-mates
    V0 = torch.cat([torch.randn(B, n, k, generator=make_generator(s)[0], dtype=torch.float64) for s in seeds])
    V, _ = torch.linalg.qr(V0.to(device=x.device, dtype=x.dtype))

    step_i = 0  # steps taken: the clock of time-dependent inputs
    interval = h * per_qr
    block_sums = torch.zeros(n_blocks, rows, k, dtype=x.real.dtype, device=x.device)
    block_time = torch.zeros(n_blocks, dtype=torch.float64)
    total = torch.zeros(rows, k, dtype=x.real.dtype, device=x.device)
    record_every = max(1, n_intervals // max(1, running_points))
    times, running = [], []

    last_ok = 0  # the last step at which every state was checked finite

    def check(x: torch.Tensor, V: torch.Tensor | None, phase: str) -> None:
        nonlocal last_ok
        bad = ~torch.isfinite(x).all(-1) | (x.abs().amax(-1) > max_norm)
        if V is not None:
            bad = bad | ~torch.isfinite(V).all(dim=(-2, -1))
        if bool(bad.any()):
            idx = bad.nonzero().flatten().tolist()
            a, b = f"{last_ok * h:.6g}", f"{step_i * h:.6g}"
            when = f"between iterations {a} and {b}" if is_map else f"between t = {a} and t = {b}"
            where = (f"initial state(s) {idx[:10]}" if P == 1 else
                     "network/state " + ", ".join(f"{i // B}/{i % B}" for i in idx[:10]) +
                     f" (network {idx[0] // B}: {names[idx[0] // B]})")
            raise DivergenceError(
                f"lyapunov_spectrum: the state diverged (non-finite or |x| > {max_norm:g}) {when}, during {phase}, "
                f"for {where}{' ...' if len(idx) > 10 else ''}; no estimate is returned", time=last_ok * h,
                batch_indices=idx)
        last_ok = step_i

    label = "iterations" if is_map else "time"
    total_steps = n_transient + (n_vec + n_intervals) * per_qr
    bar = ProgressBar("Lyapunov spectrum", float(total_steps * h), unit="iterations" if is_map else None,
                      enabled=progress)
    with torch.no_grad(), bar:
        chunk = max(1, min(per_qr, 1000))
        for start in range(0, n_transient, chunk):  # the state alone
            for _ in range(min(chunk, n_transient - start)):
                x, _ = stepper.step(x, step_i)
                step_i += 1
            check(x, None, "the state's transient")
            bar.update(step_i * h)
        for j in range(n_vec + n_intervals):
            for _ in range(per_qr):
                x, V = stepper.step(x, step_i, V)
                step_i += 1
            check(x, V, "the vectors' transient" if j < n_vec else "the measurement")
            V, R = torch.linalg.qr(V)
            growth = torch.diagonal(R, dim1=-2, dim2=-1).abs().log()
            if not bool(torch.isfinite(growth).all()):
                raise DivergenceError(f"lyapunov_spectrum: the tangent vectors collapsed (R_ii = 0) by {label} "
                                      f"{step_i * h:.6g}; shorten qr_interval", time=step_i * h)
            bar.update(step_i * h)
            if j < n_vec:
                continue
            m = j - n_vec
            total += growth
            block = m * n_blocks // n_intervals  # n_blocks equal runs of intervals (no list of n_intervals)
            block_sums[block] += growth
            block_time[block] += interval
            if (m + 1) % record_every == 0 or m + 1 == n_intervals:
                times.append((m + 1) * interval)
                running.append(total.reshape(P, B, k).mean(1) / ((m + 1) * interval))

    elapsed = n_intervals * interval
    block_rates = block_sums / block_time.to(block_sums)[:, None, None]
    running_all = torch.stack(running)  # (R, P, k)
    results = []
    for p in range(P):
        mine = slice(p * B, (p + 1) * B)
        per_state = total[mine] / elapsed
        exponents = per_state.mean(0)
        rates = block_rates[:, mine].reshape(-1, k)
        count = rates.shape[0]
        stderr = rates.std(0, correction=1) / math.sqrt(count) if count > 1 else torch.full_like(exponents, float("nan"))
        resolution = 1.0 / elapsed  # per unit time (a map: per iteration), as the exponents
        lam = decide_exponents(exponents, stderr, resolution)
        dimension = kaplan_yorke_dimension(lam)
        results.append(LyapunovSpectrum(
            exponents=exponents, stderr=stderr, per_state=per_state,
            times=torch.tensor(times, dtype=torch.float64), running=running_all[:, p].clone(),
            kaplan_yorke_dimension=dimension, entropy=float(lam.clamp_min(0).sum()),
            is_map=is_map, time_step=map_dt if is_map else h, n=n,
            # every partial sum non-negative: the dimension reached k, and the n - k exponents not computed
            # could raise it further
            kaplan_yorke_is_bound=k < n and dimension == k,
            kaplan_yorke_raw=kaplan_yorke_dimension(exponents), resolution=resolution,
            metadata={"system": names[p], "t_transient": n_transient * h, "t_total": elapsed,
                      "qr_interval": interval, "t_transient_vectors": n_vec * interval,
                      "method": None if is_map else method, "initial_states": B, "n_blocks": n_blocks}))
    return results


def largest_lyapunov_exponent(sys_or_map: System | DiscreteMap, x0: Any, **options: Any) -> LyapunovSpectrum:
    """The fast estimate of the largest exponent alone: one tangent vector, renormalised every
    ``qr_interval``.

    Arguments:
        sys_or_map: a flow or a map. x0: ``(n,)`` or ``(B, n)`` initial states.
        options: those of :func:`lyapunov_spectrum` (``t_transient``, ``t_total``, ``dt``, ``seed``, ...).

    Returns:
        a :class:`LyapunovSpectrum` with ``k = 1``.
    """
    return lyapunov_spectrum(sys_or_map, x0, k=1, **options)
