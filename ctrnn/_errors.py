"""Exceptions raised by ctrnn beyond the standard ``ValueError`` / ``TypeError``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class SolverError(RuntimeError):
    """The ODE solver could not finish (too many steps, step size underflow, ...)."""


class DivergenceError(SolverError):
    """A solve or rollout produced NaN or Inf.

    Attributes:
        time: the last time (in the system's time units) at which every state was still finite,
            or the time of the step on which the blow-up was detected.
        batch_indices: indices into the flattened batch of the initial states that became
            non-finite (empty when they cannot be told apart).
    """

    def __init__(self, message: str, *, time: float, batch_indices: Sequence[int] = ()):
        super().__init__(message)
        self.time = float(time)
        self.batch_indices = tuple(int(i) for i in batch_indices)


class ConfigError(ValueError):
    """A configuration file or mapping is unreadable or names unknown keys."""


def locate_divergence(x: torch.Tensor, times: torch.Tensor, *, what: str) -> DivergenceError | None:
    """A :class:`DivergenceError` for the first non-finite entry of a time-major ``x`` ``(T, *batch, n)``,
    or ``None`` when everything is finite. ``times[k]`` labels ``x[k]``.
    """
    import torch

    if bool(torch.isfinite(x.detach().sum())):  # one pass: a NaN or an infinity anywhere makes the sum non-finite
        return None  # (a sum that overflows from finite values falls through to the full check)
    finite = torch.isfinite(x).reshape(x.shape[0], -1, x.shape[-1]).all(dim=-1)  # (T, batch)
    if bool(finite.all()):
        return None
    bad_step = int((~finite.all(dim=1)).nonzero()[0])
    bad_batch = (~finite[bad_step]).nonzero().flatten().tolist()
    t_bad = float(times[bad_step])
    t_ok = float(times[bad_step - 1]) if bad_step > 0 else t_bad
    when = f"between t = {t_ok:.6g} and t = {t_bad:.6g}" if bad_step > 0 else f"by t = {t_bad:.6g}, the first output"
    return DivergenceError(
        f"{what} diverged: the state became NaN/Inf {when} "
        f"for batch element(s) {_short(bad_batch)} (flattened batch index); reduce the step size or "
        "tolerances, shorten the run, or check the weights and inputs",
        time=t_ok, batch_indices=bad_batch,
    )


def _short(items: list[int], limit: int = 10) -> str:
    head = ", ".join(map(str, items[:limit]))
    return f"[{head}{', ...' if len(items) > limit else ''}] ({len(items)} in all)"
