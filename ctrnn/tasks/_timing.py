"""Interval timing: measure an interval between two cues and reproduce it."""

from __future__ import annotations

from typing import Any

import torch

from ._base import Task, TaskBatch, register_task
from ._common import as_outputs, check_batch_size, check_fraction, period_steps, uniform


@register_task
class ReadySetGo(Task):
    """The ready-set-go interval reproduction task of Jazayeri & Shadlen (2010), "Temporal context calibrates
    interval timing", Nature Neuroscience 13(8).

    One input channel carries two identical pulses of 1 lasting ``pulse_duration``: "ready" starting at
    ``fixation``, and "set" an interval ``I`` later. The network must "go" an interval ``I`` after set: its output
    must be 0 until go and 1 from the step that starts at ``go = set + I`` on (a step up, so that go is where the
    output first reaches ``threshold``). ``I`` is drawn uniformly from the whole steps between ``min_interval`` and
    ``max_interval``, so ready, set and go fall on the grid; every trial lasts until ``response`` after the latest
    possible go, and every step counts.

    Trial variables: ``ready``, ``set``, ``go``, ``interval`` ``(B,)`` (model time units; ``ready``, ``set`` and
    ``go`` are start times of steps).

    Score: the fraction of trials whose produced go time, the start of the first step from set on whose output
    is ``>= threshold``, lies within ``tolerance * interval`` of ``go`` (inclusive; a trial that never reaches the
    threshold is wrong).

    Arguments:
        min_interval, max_interval: the range of intervals (model time units), ``min_interval <= max_interval``.
        fixation: the time before the ready pulse, > 0.
        pulse_duration: how long each pulse lasts, > 0 and shorter than ``min_interval``.
        response: how long the trial goes on after the latest possible go, > 0.
        tolerance: the largest error of a correct go, as a fraction of the interval, in (0, 1].
        threshold: the output level that marks the go, in (0, 1).
        dt: the step (model time units).

    Raises:
        ValueError: a parameter out of range (named). TypeError: a parameter of the wrong type.
    """

    name = "readysetgo"
    description = "reproduce the interval between a ready and a set pulse by going that long after set (Jazayeri 2010)"
    input_dim = 1
    output_dim = 1

    def __init__(self, *, min_interval: float = 4.8, max_interval: float = 12.0, fixation: float = 1.0,
                 pulse_duration: float = 0.4, response: float = 2.0, tolerance: float = 0.15,
                 threshold: float = 0.5, dt: float = 0.2):
        super().__init__(dt)
        self._min_steps = period_steps(self, min_interval, "min_interval")
        self._max_steps = period_steps(self, max_interval, "max_interval")
        self.min_interval, self.max_interval = float(min_interval), float(max_interval)
        if self.max_interval < self.min_interval:
            raise ValueError(f"max_interval must be >= min_interval = {self.min_interval:g}, got {max_interval!r}")
        self._fixation_steps = period_steps(self, fixation, "fixation")
        self._pulse_steps = period_steps(self, pulse_duration, "pulse_duration")
        self.fixation, self.pulse_duration = float(fixation), float(pulse_duration)
        # overlapping pulses would merge into one: set must start after ready has ended
        if self._pulse_steps >= self._min_steps:
            raise ValueError(f"pulse_duration must be shorter than min_interval = {self.min_interval:g} (in whole "
                             f"steps of dt = {self.dt:g}), got {pulse_duration!r}")
        self._response_steps = period_steps(self, response, "response")
        self.response = float(response)
        self.tolerance = check_fraction(tolerance, "tolerance")
        self.threshold = check_fraction(threshold, "threshold", include_one=False)
        self.steps = self._fixation_steps + 2 * self._max_steps + self._response_steps

    def config(self) -> dict[str, Any]:
        return {"min_interval": self.min_interval, "max_interval": self.max_interval, "fixation": self.fixation,
                "pulse_duration": self.pulse_duration, "response": self.response, "tolerance": self.tolerance,
                "threshold": self.threshold, "dt": self.dt}

    def _sample(self, batch: int, generator: torch.Generator) -> TaskBatch:
        T = self.steps
        check_batch_size(batch, T, 1, self.name)
        choices = self._max_steps - self._min_steps + 1
        interval = self._min_steps + (uniform((batch,), generator) * choices).long().clamp(max=choices - 1)
        ready = torch.full((batch,), self._fixation_steps, dtype=torch.long)
        set_ = ready + interval
        go = set_ + interval
        k = torch.arange(T).view(T, 1)

        def pulse(start: torch.Tensor) -> torch.Tensor:
            return ((k >= start) & (k < start + self._pulse_steps)).to(torch.float64)
        inputs = (pulse(ready) + pulse(set_)).unsqueeze(-1)
        targets = (k >= go).to(torch.float64).unsqueeze(-1)
        return self.batch(t=self.grid(T), inputs=inputs, targets=targets, mask=torch.ones_like(targets),
                          ready=self._time(ready), set=self._time(set_), go=self._time(go),
                          interval=self._time(interval))

    def _time(self, step: torch.Tensor) -> torch.Tensor:
        """Step indices as float64 times (whatever the default dtype)."""
        return step.to(torch.float64) * self.dt

    def produced_go(self, outputs: torch.Tensor, batch: TaskBatch) -> torch.Tensor:
        """``(B,)`` the go time each trial's output produced: the start time of the first step from set on whose
        output reaches ``threshold`` (NaN where none does).

        Raises:
            ValueError: outputs of another shape than the targets.
        """
        y, _, _ = as_outputs(outputs, batch)
        T = y.shape[0]
        set_step = torch.round(batch.trials["set"].double() / self.dt).long()
        after_set = torch.arange(T).view(T, 1) >= set_step
        crossed = (y[..., 0] >= self.threshold) & after_set
        first = torch.where(crossed, torch.arange(T).view(T, 1), T).min(dim=0).values
        return torch.where(first < T, self._time(first), torch.nan)

    def score(self, outputs: torch.Tensor, batch: TaskBatch) -> float:
        """The fraction of trials whose produced go time (:meth:`produced_go`) is within ``tolerance * interval``
        of ``go``.

        Arguments:
            outputs: ``(T, B, 1)`` aligned with ``batch.targets``. batch: the trials.

        Returns:
            the accuracy in [0, 1].

        Raises:
            ValueError: outputs of another shape than the targets.
        """
        produced = self.produced_go(outputs, batch)
        go, interval = batch.trials["go"].double(), batch.trials["interval"].double()
        # NaN (no go) compares False: a trial that never goes is wrong. The slack of a millionth of a step absorbs
        # the rounding of the step times, so that an error of exactly the tolerance counts as within it
        within = (produced - go).abs() <= self.tolerance * interval + 1e-6 * self.dt
        return float(within.double().mean())
