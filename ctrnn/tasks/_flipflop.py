"""The n-bit flip-flop: remember the sign of the last pulse on each of several channels."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_positive_int
from ._base import Task, TaskBatch, register_task
from ._common import as_outputs, check_batch_size, check_fraction, random_signs, uniform


@register_task
class FlipFlop(Task):
    """The n-bit flip-flop task of Sussillo & Barak (2013), "Opening the black box: low-dimensional dynamics in
    high-dimensional recurrent neural networks", Neural Computation 25(3).

    Each of ``n_bits`` input channels carries brief pulses of +1 or -1 (one step long) at random steps; the output
    of each channel must hold the sign of the last pulse its channel received, so a trained network has ``2^n_bits``
    stable states. Each channel gets a pulse at each step with probability ``pulse_probability``, and at least one
    per trial (a channel that drew none gets one at a uniformly drawn step). The mask of a channel is 0 before its
    first pulse (there is nothing to remember yet) and 1 from the pulse's step on.

    Trial variables: ``pulses`` ``(B, T, n_bits)``, the pulse on each channel at each step (-1, 0 or +1; equal to
    the inputs, batch first).

    Score: the fraction of counted (step, trial, bit) outputs with the sign of the target.

    Arguments:
        n_bits: the number of channels (input and output size), an int >= 1.
        duration: the trial length (model time units).
        pulse_probability: the chance of a pulse on a channel at a step, in (0, 1] (per step, not per time unit).
        dt: the step (model time units).

    Raises:
        ValueError: a parameter out of range (named). TypeError: a parameter of the wrong type.
    """

    name = "flipflop"
    description = "hold the sign of the last ±1 pulse on each of n channels (Sussillo & Barak 2013)"

    def __init__(self, n_bits: int = 3, *, duration: float = 200.0, pulse_probability: float = 0.04,
                 dt: float = 1.0):
        super().__init__(dt)
        self.n_bits = check_positive_int(n_bits, "n_bits")
        self.input_dim = self.output_dim = self.n_bits
        self.steps = self.steps_for(duration, "duration")
        self.duration = float(duration)
        self.pulse_probability = check_fraction(pulse_probability, "pulse_probability")

    def config(self) -> dict[str, Any]:
        return {"n_bits": self.n_bits, "duration": self.duration, "pulse_probability": self.pulse_probability,
                "dt": self.dt}

    def _sample(self, batch: int, generator: torch.Generator) -> TaskBatch:
        T, n = self.steps, self.n_bits
        check_batch_size(batch, T, n, self.name)
        shape = (batch, T, n)
        happens = uniform(shape, generator) < self.pulse_probability
        signs = random_signs(shape, generator)
        # a channel without a pulse would have nothing to remember: give it one at a random step (drawn for every
        # channel, so the number of draws, hence the generator's next state, does not depend on the outcome)
        fallback = (uniform((batch, n), generator) * T).long().clamp(max=T - 1)
        none = ~happens.any(dim=1)
        forced = torch.zeros_like(happens)
        forced.scatter_(1, fallback.unsqueeze(1), True)
        happens |= forced & none.unsqueeze(1)
        pulses = torch.where(happens, signs, 0.0)

        # the last pulse so far: carry the index of the latest pulse step forward along time
        steps = torch.arange(T).view(1, T, 1).expand(shape)
        last = torch.where(happens, steps, -1).cummax(dim=1).values
        seen = last >= 0
        held = torch.gather(pulses, 1, last.clamp(min=0))
        targets = torch.where(seen, held, 0.0)

        def time_major(x: torch.Tensor) -> torch.Tensor:
            return x.transpose(0, 1).contiguous()
        return self.batch(t=self.grid(T), inputs=time_major(pulses), targets=time_major(targets),
                          mask=time_major(seen.to(torch.float64)), pulses=pulses)

    def score(self, outputs: torch.Tensor, batch: TaskBatch) -> float:
        """The fraction of counted outputs whose sign is the target's (an output of exactly 0 is wrong).

        Arguments:
            outputs: ``(T, B, n_bits)`` aligned with ``batch.targets``. batch: the trials.

        Returns:
            the accuracy in [0, 1].

        Raises:
            ValueError: outputs of another shape than the targets.
        """
        y, target, mask = as_outputs(outputs, batch)
        counted = mask > 0
        return float((y.sign() == target.sign())[counted].double().mean())
