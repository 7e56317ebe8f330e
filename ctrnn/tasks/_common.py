"""Pieces the built-in tasks share: parameter checks, seeded draws, trial layouts and sign-based scores.

Every draw is made in float64 from the generator the task is given, so the same generator state gives the same
trials whatever dtype the network later computes in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from .._validation import check_nonnegative, check_number, check_size
from ._base import Task, TaskBatch


# ---- parameter checks ------------------------------------------------------------------------------------------

def check_bool(value: Any, name: str) -> bool:
    """``value`` if it is a bool, else ``TypeError`` naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_fraction(value: Any, name: str, *, include_zero: bool = False, include_one: bool = True) -> float:
    """``value`` as a float in ``(0, 1]`` (or ``[0, 1]`` / ``(0, 1)`` as the flags say), else ``ValueError``
    naming ``name``."""
    x = check_number(value, name)
    low_ok = x >= 0 if include_zero else x > 0
    high_ok = x <= 1 if include_one else x < 1
    if not (low_ok and high_ok):
        interval = f"{'[' if include_zero else '('}0, 1{']' if include_one else ')'}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return x


def check_values(values: Any, name: str) -> tuple[float, ...]:
    """A non-empty sequence of distinct, finite numbers > 0 (a set of coherences or frequencies), as floats.

    Raises:
        ValueError: not a sequence, empty, or holding an entry that is not a finite number > 0, or a repeat.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"{name} must be a sequence of numbers > 0, got {type(values).__name__} {values!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty sequence")
    out = []
    for v in values:
        try:
            x = check_number(v, name)
        except TypeError as exc:
            raise ValueError(f"{name} must hold numbers only, got {v!r}") from exc
        if x <= 0:
            raise ValueError(f"{name} must hold numbers > 0 (signs are drawn per trial), got {v!r}")
        out.append(x)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a value, got {list(values)!r}")
    return tuple(out)


def period_steps(task: Task, duration: Any, name: str, *, allow_zero: bool = False) -> int:
    """The steps in a trial period of ``duration`` (model time units): ``task.steps_for`` (at least 1 step), or 0
    for a zero duration where ``allow_zero``.

    Raises:
        ValueError: a duration that is negative or not finite (or zero where zero is not allowed).
    """
    if allow_zero and check_nonnegative(duration, name) == 0:
        return 0
    return task.steps_for(duration, name)


def check_batch_size(batch: int, steps: int, width: int, task: str) -> None:
    """Refuse a batch whose ``(steps, batch, width)`` arrays would exceed the size limit, before allocating."""
    check_size(steps * batch * width, f"a batch of {batch} {task} trials of {steps} steps", "sample fewer trials")


# ---- seeded draws (float64, from the task's generator) --------------------------------------------------------

def uniform(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """``shape`` draws from U[0, 1) in float64."""
    return torch.rand(shape, generator=generator, dtype=torch.float64)


def pick(values: Sequence[float] | torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
    """``(batch,)`` float64 values drawn uniformly, with replacement, from ``values``."""
    table = torch.as_tensor(values, dtype=torch.float64)
    index = (uniform((batch,), generator) * len(table)).long().clamp(max=len(table) - 1)
    return table[index]


def random_signs(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """``shape`` float64 signs, -1 or +1 with probability 1/2 each."""
    return torch.where(uniform(shape, generator) < 0.5, -1.0, 1.0).to(torch.float64)


def white_noise(shape: tuple[int, ...], std: float, dt: float, generator: torch.Generator) -> torch.Tensor:
    """``shape`` float64 samples of white noise of intensity ``std`` held over steps of ``dt``: each step draws
    ``N(0, std^2 / dt)``, so the noise integrated over a period of length ``D`` has variance ``std^2 D`` whatever
    ``dt`` is (a task's difficulty does not change with its step)."""
    return torch.randn(shape, generator=generator, dtype=torch.float64) * (std / math.sqrt(dt))


# ---- layouts and targets of timed choice trials --------------------------------------------------------------

def layout(periods: Sequence[tuple[str, int]]) -> tuple[dict[str, slice], int]:
    """Consecutive trial periods as step slices, and the total number of steps.

    Arguments:
        periods: ``(name, steps)`` in trial order (a period may have 0 steps).

    Returns:
        ``({name: slice of steps}, T)``.
    """
    slices, start = {}, 0
    for name, steps in periods:
        slices[name] = slice(start, start + steps)
        start += steps
    return slices, start


def choice_targets(steps: int, starts: torch.Tensor, length: int, sign: torch.Tensor,
                   response_only: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets and mask of trials that end in a ±1 choice: 0 (hold still) before the response period, ``sign``
    during it, all of it counted (with ``response_only``, only the response period); steps after a trial's response
    period (a trial shorter than the batch's longest) are not counted.

    Arguments:
        steps: ``T``. starts: ``(B,)`` the step each trial's response period starts at. length: its steps.
        sign: ``(B,)`` the correct choice, -1 or +1. response_only: mask out the steps before the response period.

    Returns:
        ``(targets, mask)``, each ``(T, B, 1)`` float64.
    """
    t = torch.arange(steps)[:, None]
    response = (t >= starts[None]) & (t < starts[None] + length)
    targets = torch.where(response, sign.to(torch.float64)[None], 0.0)[..., None]
    counted = response | ((t < starts[None]) & (not response_only))
    return targets, counted.to(torch.float64)[..., None]


# ---- scores --------------------------------------------------------------------------------------------------

def as_outputs(outputs: torch.Tensor, batch: TaskBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``outputs``, the targets and the mask of ``batch`` detached, in float64 on the CPU (where the trial
    variables are), after checking that the outputs line up with the targets.

    Raises:
        TypeError: ``outputs`` not a tensor. ValueError: a shape other than the targets'.
    """
    if not isinstance(outputs, torch.Tensor):
        raise TypeError(f"outputs must be a tensor (T, B, p), got {type(outputs).__name__}")
    if tuple(outputs.shape) != tuple(batch.targets.shape):
        raise ValueError(f"outputs have shape {tuple(outputs.shape)}; the batch's targets have "
                         f"{tuple(batch.targets.shape)} (T, B, p)")
    def cpu(x: torch.Tensor) -> torch.Tensor:
        return x.detach().to(device="cpu", dtype=torch.float64)
    return cpu(outputs), cpu(batch.targets), cpu(batch.mask)


def response_sign_accuracy(outputs: torch.Tensor, batch: TaskBatch) -> float:
    """The fraction of trials whose mean output over the response period has the sign of the target there.

    The response period of a trial is where its mask counts and its target is not 0 (the choice tasks hold 0
    before it). A mean output of exactly 0 is a wrong answer. Trials without a response period are left out.

    Arguments:
        outputs: ``(T, B, p)`` aligned with ``batch.targets``. batch: the trials.

    Returns:
        the accuracy in [0, 1] (over trials and output channels).
    """
    y, target, mask = as_outputs(outputs, batch)
    response = (mask > 0) & (target != 0)
    count = response.sum(dim=0)
    has = count > 0
    if not bool(has.any()):
        raise ValueError("the batch has no response period (no counted step with a nonzero target) to score")
    mean_output = torch.where(response, y, 0.0).sum(dim=0) / count.clamp(min=1)
    want = torch.where(response, target, 0.0).sum(dim=0).sign()
    return float((mean_output.sign() == want)[has].double().mean())
