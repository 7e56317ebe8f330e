"""The sine-wave generator: a static input sets the frequency of an oscillation the network must produce."""

from __future__ import annotations

import math
from typing import Any

import torch

from .._validation import check_number, check_positive, check_positive_int
from ._base import Task, TaskBatch, register_task
from ._common import as_outputs, check_batch_size, check_bool, pick


@register_task
class SineGenerator(Task):
    """The sine-wave generator task of Sussillo & Barak (2013), "Opening the black box: low-dimensional dynamics
    in high-dimensional recurrent neural networks", Neural Computation 25(3), section 3.3.

    A static input of level ``f / max_frequency + input_offset`` is held for the whole trial, and the output must
    be ``sin(2π f t)`` at the end of each step, ``t = (k + 1) dt`` for step ``k`` (the oscillation starts at phase 0
    at ``t = 0``). Training trials draw ``f`` from ``n_frequencies`` frequencies evenly spaced in
    ``[min_frequency, max_frequency]``; ``held_out=True`` draws instead from the midpoints between neighbouring
    training frequencies, which a network never saw, to test that it interpolates. The offset keeps the lowest
    frequency's input away from 0, the input of a network at rest. Every step counts (mask 1).

    Trial variables: ``frequency`` ``(B,)`` (cycles per model time unit).

    Score (an error, lower is better): the normalised RMS error ``sqrt(mean (y - target)^2) /
    sqrt(mean target^2)`` over the counted outputs of the batch: 0 is perfect, 1 is as bad as a constant 0.

    Arguments:
        min_frequency, max_frequency: the range of training frequencies (cycles per model time unit), with
            ``0 < min_frequency < max_frequency < 1 / (2 dt)`` (below the Nyquist frequency of the step).
        n_frequencies: the number of training frequencies, an int >= 2.
        duration: the trial length (model time units).
        input_offset: the input level added to ``f / max_frequency``.
        held_out: draw the held-out frequencies instead of the training ones.
        dt: the step (model time units).

    Raises:
        ValueError: a parameter out of range (named). TypeError: a parameter of the wrong type.
    """

    name = "sine"
    description = "produce sin(2πft) at a frequency set by a static input level (Sussillo & Barak 2013)"
    input_dim = 1
    output_dim = 1
    score_is_error = True
    score_name = "normalised RMS error"

    def __init__(self, *, min_frequency: float = 0.01, max_frequency: float = 0.06, n_frequencies: int = 51,
                 duration: float = 300.0, input_offset: float = 0.25, held_out: bool = False, dt: float = 1.0):
        super().__init__(dt)
        self.min_frequency = check_positive(min_frequency, "min_frequency")
        self.max_frequency = check_positive(max_frequency, "max_frequency")
        if self.max_frequency <= self.min_frequency:
            raise ValueError(f"max_frequency must be > min_frequency = {self.min_frequency:g}, got {max_frequency!r}")
        # a frequency at or above 1 / (2 dt) aliases on the grid: the targets would not be the sine they name
        if self.max_frequency >= 0.5 / self.dt:
            raise ValueError(f"max_frequency must be below the Nyquist frequency 1 / (2 dt) = {0.5 / self.dt:g} "
                             f"cycles per time unit, got {max_frequency!r}: lower it or use a smaller dt")
        self.n_frequencies = check_positive_int(n_frequencies, "n_frequencies")
        if self.n_frequencies < 2:
            raise ValueError(f"n_frequencies must be >= 2 (held-out frequencies lie between training ones), "
                             f"got {n_frequencies!r}")
        self.steps = self.steps_for(duration, "duration")
        self.duration = float(duration)
        self.input_offset = check_number(input_offset, "input_offset")
        self.held_out = check_bool(held_out, "held_out")

    def config(self) -> dict[str, Any]:
        return {"min_frequency": self.min_frequency, "max_frequency": self.max_frequency,
                "n_frequencies": self.n_frequencies, "duration": self.duration, "input_offset": self.input_offset,
                "held_out": self.held_out, "dt": self.dt}

    @property
    def training_frequencies(self) -> torch.Tensor:
        """``(n_frequencies,)`` the training frequencies, float64 (cycles per model time unit)."""
        return torch.linspace(self.min_frequency, self.max_frequency, self.n_frequencies, dtype=torch.float64)

    @property
    def held_out_frequencies(self) -> torch.Tensor:
        """``(n_frequencies - 1,)`` the midpoints between neighbouring training frequencies, float64."""
        f = self.training_frequencies
        return (f[:-1] + f[1:]) / 2

    @property
    def frequencies(self) -> torch.Tensor:
        """The frequencies this task draws from: the held-out ones when ``held_out``, else the training ones."""
        return self.held_out_frequencies if self.held_out else self.training_frequencies

    def level(self, frequency: float | torch.Tensor) -> torch.Tensor:
        """The static input level that asks for ``frequency`` (cycles per model time unit): ``f / max_frequency +
        input_offset``."""
        return torch.as_tensor(frequency, dtype=torch.float64) / self.max_frequency + self.input_offset

    def conditions(self) -> dict[str, torch.Tensor]:
        """One held input per frequency this task draws from: ``{"f = 0.02": (1,) level}`` (the frequency in
        cycles per model time unit, to 4 significant digits)."""
        return {f"f = {float(f):.4g}": self.level(f).reshape(1) for f in self.frequencies}

    def _sample(self, batch: int, generator: torch.Generator) -> TaskBatch:
        T = self.steps
        check_batch_size(batch, T, 1, self.name)
        frequency = pick(self.frequencies, batch, generator)
        level = self.level(frequency)
        inputs = level.view(1, batch, 1).expand(T, batch, 1).clone()
        end = (self.grid(T) + self.dt).view(T, 1)  # targets belong to the end of each step
        targets = torch.sin(2 * math.pi * frequency.view(1, batch) * end).unsqueeze(-1)
        return self.batch(t=self.grid(T), inputs=inputs, targets=targets, mask=torch.ones_like(targets),
                          frequency=frequency)

    def score(self, outputs: torch.Tensor, batch: TaskBatch) -> float:
        """The normalised RMS error of ``outputs`` over the counted steps (lower is better; 0 is perfect).

        Arguments:
            outputs: ``(T, B, 1)`` aligned with ``batch.targets``. batch: the trials.

        Returns:
            ``sqrt(mean (y - target)^2) / sqrt(mean target^2)``, >= 0.

        Raises:
            ValueError: outputs of another shape than the targets.
        """
        y, target, mask = as_outputs(outputs, batch)
        counted = mask > 0
        error = ((y - target)[counted] ** 2).mean()
        power = (target[counted] ** 2).mean()
        return float(torch.sqrt(error / power))
