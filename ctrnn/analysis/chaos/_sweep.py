"""Parameter sweeps of the Lyapunov spectrum: the transition to chaos."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..._results import Result, plot_result
from ..._errors import DivergenceError
from ..._progress import ProgressBar
from ..._validation import as_tensor, check_finite, check_positive_int, check_seed, check_size
from ...discretize._base import DiscreteMap
from ...systems._base import System
from ._lyapunov import LyapunovSpectrum, lyapunov_spectra

if TYPE_CHECKING:
    from matplotlib.figure import Figure



@dataclass(frozen=True, eq=False, repr=False)
class Sweep(Result):
    """Largest exponent, entropy and Kaplan-Yorke dimension against a parameter.

    Attributes:
        parameter: the swept parameter's name (e.g. ``"g"``).
        values: ``(V,)`` its values.
        seeds: the network seeds used at every value.
        largest: ``(V,)`` mean largest exponent over seeds and initial states; ``largest_stderr`` its
            standard error (spread over seeds and states, which includes the network-to-network variation).
        entropy, dimension: ``(V,)`` means over seeds of the entropy (sum of positive exponents) and the
            Kaplan-Yorke dimension; ``entropy_stderr``, ``dimension_stderr`` their standard errors.
        per_network: ``(V, S, 3)`` each network's (largest, entropy, dimension).
        spectra: the full results, ``spectra[v][s]``.
        dimension_is_bound: ``(V,)`` whether some network's dimension at that value is only a lower bound
            (``k`` exponents computed, every partial sum non-negative), so the mean is a lower bound too
            (printed ``"≥ ..."``); ``None`` in files written before it existed.
    """

    parameter: str
    values: torch.Tensor
    seeds: list[int]
    largest: torch.Tensor
    largest_stderr: torch.Tensor
    entropy: torch.Tensor
    entropy_stderr: torch.Tensor
    dimension: torch.Tensor
    dimension_stderr: torch.Tensor
    per_network: torch.Tensor
    spectra: list[list[LyapunovSpectrum]] = field(repr=False, default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    dimension_is_bound: torch.Tensor | None = None

    def dimension_text(self, i: int, digits: int = 3) -> str:
        """The mean Kaplan-Yorke dimension at value ``i`` as a reader should see it: ``"≥ 1.000"`` where some
        network's dimension is only a lower bound."""
        bound = self.dimension_is_bound is not None and bool(self.dimension_is_bound[i])
        return f"{'≥ ' if bound else ''}{float(self.dimension[i]):.{digits}f}"

    def crossing(self) -> float | None:
        """The parameter value where the largest exponent first changes sign from negative to positive
        (linear interpolation between the bracketing values), or ``None``."""
        lam = self.largest.tolist()
        v = self.values.tolist()
        for i in range(len(lam) - 1):
            if lam[i] < 0 <= lam[i + 1]:
                return v[i] + (v[i + 1] - v[i]) * (-lam[i]) / (lam[i + 1] - lam[i])
        return None

    def summary(self) -> str:
        lines = [f"{self.parameter:>10s} {'lambda_1':>10s} {'± s.e.':>8s} {'entropy':>9s} {'D_KY':>9s}"]
        for i, v in enumerate(self.values.tolist()):
            lines.append(f"{v:10.4g} {float(self.largest[i]):+10.4f} {float(self.largest_stderr[i]):8.4f} "
                         f"{float(self.entropy[i]):9.4f} {self.dimension_text(i):>9s}")
        cross = self.crossing()
        lines.append(f"largest exponent crosses zero at {self.parameter} = {cross:.4g}" if cross is not None
                     else "largest exponent does not cross zero in this range")
        if self.dimension_is_bound is not None and bool(self.dimension_is_bound.any()):
            lines.append("≥: a lower bound (too few exponents computed for the dimension; raise k)")
        return "\n".join(lines)

    def plot(self, *, title: str | None = None) -> Figure:
        """Largest exponent with error bars against the parameter (zero line; ``g = 1`` marked for a gain
        sweep), and entropy and dimension. Returns a Figure."""
        return plot_result(self, title=title)


def _mean_and_stderr(x: torch.Tensor) -> tuple[float, float]:
    x = x.double().flatten()
    if x.numel() < 2:
        return float(x.mean()), float("nan")
    return float(x.mean()), float(x.std(correction=1)) / math.sqrt(x.numel())


def sweep(build: Callable[[float, int], System | DiscreteMap], values: Sequence[float], *, parameter: str = "value",
          seeds: Sequence[int] = (0,), x0: Callable[[System | DiscreteMap, int], torch.Tensor] | None = None,
          batch: int = 4, networks_per_solve: int = 8, progress: bool = False,
          on_result: Callable[[int, int, LyapunovSpectrum], None] | None = None,
          completed: Mapping[tuple[int, int], LyapunovSpectrum] | None = None, **options: Any) -> Sweep:
    """The Lyapunov spectrum at every parameter value and network seed.

    Networks of one architecture that stacks natively (a gain sweep of a rate or Beer network: only the weights
    differ) are advanced ``networks_per_solve`` at a time in one batched solve (:func:`lyapunov_spectra`); others
    one at a time.

    Arguments:
        build: ``build(value, seed)`` returns the model (or map) at that value, e.g.
            ``lambda g, seed: ctrnn.RateRNN(200, g=g, seed=seed)``.
        values: ``(V,)`` parameter values; parameter: its name for tables and plots.
        seeds: network seeds; each value is measured on every seed's network.
        x0: ``x0(model, seed)`` initial states ``(B, n)``; default ``batch`` states ``N(0, 1)`` from the seed.
        networks_per_solve: how many networks share one batched solve (1: one after another). A network's
            result does not depend on its batch-mates beyond rounding (its tangent vectors come from its seed).
        on_result: called as ``on_result(value_index, seed_index, spectrum)`` after each run (e.g. to write
            partial results so that a long sweep can be resumed).
        completed: results already computed, by ``(value_index, seed_index)`` (a resumed sweep): not run again.
        options: passed to :func:`lyapunov_spectrum` (``k``, ``t_transient``, ``t_total``, ``dt``, ...).

    Returns:
        :class:`Sweep`. Each value's standard errors are taken over every (seed, initial state) estimate.

    Raises:
        TypeError: a seed that is not an int. ValueError: no values or no seeds, non-finite values, a seed
            outside torch's range, bad initial states (an empty batch, ...) or options (as
            :func:`lyapunov_spectrum`).
        DivergenceError: a network diverged; the message names its parameter value and seed.
    """
    vals = as_tensor(values, "values").double().flatten()
    if vals.numel() == 0:
        raise ValueError("give at least one parameter value")
    check_finite(vals, "values")
    seeds = [check_seed(s, "seeds") for s in seeds]  # 1.5 is no seed: never truncated to 1
    if not seeds:
        raise ValueError("give at least one seed")
    per_solve = check_positive_int(networks_per_solve, "networks_per_solve")

    done: dict[tuple[int, int], LyapunovSpectrum] = dict(completed or {})
    pending = [(i, j) for i in range(vals.numel()) for j in range(len(seeds)) if (i, j) not in done]
    with ProgressBar(f"sweep over {parameter}", vals.numel() * len(seeds), unit="networks", enabled=progress) as bar:
        bar.update(float(len(done)))
        for first in range(0, len(pending), per_solve):
            chunk = pending[first:first + per_solve]
            models = [build(float(vals[i]), seeds[j]) for i, j in chunk]
            states = [_initial_states(m, seeds[j], x0, batch) for m, (_, j) in zip(models, chunk)]
            try:
                results = lyapunov_spectra(models, states, seeds=[seeds[j] for _, j in chunk], **options)
            except DivergenceError as error:
                ends = torch.cumsum(torch.tensor([len(s) for s in states]), 0)  # rows of each network
                bad = sorted({chunk[int(torch.searchsorted(ends, b, right=True))] for b in error.batch_indices}) or chunk
                named = ", ".join(f"{parameter} = {float(vals[i]):g} (seed {seeds[j]})" for i, j in bad)
                raise DivergenceError(f"sweep: the network at {named} diverged: {error}", time=error.time,
                                      batch_indices=error.batch_indices) from error
            for (i, j), res in zip(chunk, results):
                done[(i, j)] = res
                if on_result is not None:
                    on_result(i, j, res)
            bar.update(float(len(done)))

    spectra = [[done[(i, j)] for j in range(len(seeds))] for i in range(vals.numel())]
    per_network = torch.tensor([[[r.largest, r.entropy, r.kaplan_yorke_dimension] for r in row] for row in spectra],
                               dtype=torch.float64)
    rows: list[tuple[float, float, float, float, float, float]] = []
    for i, row in enumerate(spectra):
        lead = torch.cat([r.per_state[:, 0] for r in row])  # every seed's every initial state
        rows.append((*_mean_and_stderr(lead), *_mean_and_stderr(per_network[i, :, 1]),
                     *_mean_and_stderr(per_network[i, :, 2])))
    t = torch.tensor(rows, dtype=torch.float64)
    return Sweep(parameter=parameter, values=vals, seeds=seeds, largest=t[:, 0], largest_stderr=t[:, 1],
                 entropy=t[:, 2], entropy_stderr=t[:, 3], dimension=t[:, 4], dimension_stderr=t[:, 5],
                 per_network=per_network, spectra=spectra,
                 dimension_is_bound=torch.tensor([any(r.kaplan_yorke_is_bound for r in row) for row in spectra]),
                 metadata={"description": f"Lyapunov exponents over {parameter} = {vals.min().item():g} .. "
                                          f"{vals.max().item():g}, {len(seeds)} network(s) per value", "options": {
                     k: v for k, v in options.items() if isinstance(v, (int, float, str, type(None)))}})


def _initial_states(model: System | DiscreteMap, seed: int, x0: Callable[[Any, int], torch.Tensor] | None,
                    batch: int) -> torch.Tensor:
    if x0 is not None:
        x = torch.as_tensor(x0(model, seed))
        return x.reshape(-1, x.shape[-1])
    batch = check_positive_int(batch, "batch")
    check_size(batch * model.state_dim, f"the initial states (batch = {batch} x n = {model.state_dim})", "lower batch")
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, model.state_dim, generator=gen, dtype=torch.float64)
