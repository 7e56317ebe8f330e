"""Timed two-alternative choices: perceptual decision, context-dependent integration, delayed discrimination.

A trial is a sequence of periods (a fixation period, one or two stimuli, delays) that ends in a response period.
The one output must hold 0 before the response period and the sign of the correct choice (-1 or +1) during it;
every step counts. The score is the fraction of trials whose mean output over the response period has the right
sign (:func:`~ctrnn.tasks._common.response_sign_accuracy`).
"""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_nonnegative, check_positive
from ._base import Task, TaskBatch, register_task
from ._common import (check_batch_size, check_values, choice_targets, layout, period_steps, pick, random_signs,
                      response_sign_accuracy, white_noise)


class _ChoiceTask(Task):
    """A trial of timed periods ending in a ±1 choice; subclasses draw the stimuli and the correct choice.

    Arguments (all durations in model time units):
        fixation: the period before the (first) stimulus, > 0.
        stimulus: the length of each stimulus period, > 0.
        delay: the period after the (first) stimulus, >= 0 (> 0 where :attr:`_delay_may_be_zero` is false).
        response: the response period, > 0.
        noise: the intensity of the white noise added to the evidence inputs during stimuli, >= 0 (each step
            draws ``N(0, noise^2 / dt)``, so the evidence integrated over a stimulus has a noise independent of
            ``dt``).
        dt: the step.
        response_only: count only the response period (the output before it is free: its mask is 0), so the
            network need not time the go itself; by default it must hold 0 until then.
        delay_jitter: (the tasks whose delay ends in the response) each trial's delay is ``delay`` plus a draw
            from ``[0, delay_jitter]`` in steps of ``dt``, so the response comes at no fixed time and a choice must
            be held, not timed; trials are as long as the longest delay, and the steps after a trial's response are
            not counted. 0 (the default) keeps every trial the same.
    """

    output_dim = 1
    #: whether the delay may be 0 (not where it is the period a choice is remembered over)
    _delay_may_be_zero: bool = True

    def __init__(self, *, fixation: float, stimulus: float, delay: float, response: float, noise: float,
                 dt: float, response_only: bool = False, delay_jitter: float = 0.0):
        super().__init__(dt)
        if not isinstance(response_only, bool):
            raise TypeError(f"response_only must be true or false, got {response_only!r}")
        self.response_only = response_only
        self._fixation_steps = period_steps(self, fixation, "fixation")
        self._stimulus_steps = period_steps(self, stimulus, "stimulus")
        self._delay_steps = period_steps(self, delay, "delay", allow_zero=self._delay_may_be_zero)
        self._response_steps = period_steps(self, response, "response")
        self._jitter_steps = period_steps(self, delay_jitter, "delay_jitter", allow_zero=True)
        self.delay_jitter = float(delay_jitter)
        self.fixation, self.stimulus, self.delay, self.response = (float(fixation), float(stimulus), float(delay),
                                                                   float(response))
        self.noise = check_nonnegative(noise, "noise")

    def _periods(self) -> list[tuple[str, int]]:
        """The trial's periods in order, ``(name, steps)``; the last is ``"response"``."""
        return [("fixation", self._fixation_steps), ("stimulus", self._stimulus_steps),
                ("delay", self._delay_steps + self._jitter_steps), ("response", self._response_steps)]

    @property
    def steps(self) -> int:
        """The number of steps of a trial."""
        return layout(self._periods())[1]

    def config(self) -> dict[str, Any]:
        return {"fixation": self.fixation, "stimulus": self.stimulus, "delay": self.delay,
                "response": self.response, "noise": self.noise, "dt": self.dt, "response_only": self.response_only,
                **({"delay_jitter": self.delay_jitter} if self._jitters else {})}

    #: whether the task takes ``delay_jitter`` (its delay is the period just before the response)
    _jitters: bool = True

    def _response_starts(self, periods: dict[str, slice], batch: int, generator: torch.Generator) -> torch.Tensor:
        """``(B,)`` the step each trial's response period starts at: the layout's (the longest delay's), less a
        draw of up to the jitter's steps (no draw without jitter, so those trials are what they always were)."""
        latest = periods["response"].start
        if not self._jitter_steps:
            return torch.full((batch,), latest, dtype=torch.long)
        return latest - self._jitter_steps + torch.randint(0, self._jitter_steps + 1, (batch,), generator=generator)

    @staticmethod
    def _fixation_input(starts: torch.Tensor, steps: int) -> torch.Tensor:
        """``(T, B)`` the fixation input: 1 until each trial's response period (``starts`` ``(B,)``), whose start
        is the go cue, then 0."""
        return (torch.arange(steps)[:, None] < starts[None]).to(torch.float64)

    def _evidence(self, level: torch.Tensor, period: slice, steps: int, generator: torch.Generator) -> torch.Tensor:
        """``(T, B)`` one evidence channel: ``level`` ``(B,)`` plus white noise during ``period``, 0 elsewhere."""
        batch = len(level)
        channel = torch.zeros(steps, batch, dtype=torch.float64)
        length = period.stop - period.start
        channel[period] = level + white_noise((length, batch), self.noise, self.dt, generator)
        return channel

    def conditions(self) -> dict[str, torch.Tensor]:
        """``fixation`` (the fixation input on, no stimulus: fixation and delay) and ``response`` (every input
        off), each ``(2,)``."""
        return {"fixation": torch.tensor([1.0, 0.0], dtype=torch.float64),
                "response": torch.zeros(2, dtype=torch.float64)}

    def score(self, outputs: torch.Tensor, batch: TaskBatch) -> float:
        """The fraction of trials whose mean output over the response period has the sign of the correct choice.

        Arguments:
            outputs: ``(T, B, 1)`` aligned with ``batch.targets``. batch: the trials.

        Returns:
            the accuracy in [0, 1].

        Raises:
            ValueError: outputs of another shape than the targets.
        """
        return response_sign_accuracy(outputs, batch)


@register_task
class PerceptualDecision(_ChoiceTask):
    """Two-alternative perceptual decision making, after the random-dot motion task (Britten et al. 1992; Roitman
    & Shadlen 2002) as set up for networks by PsychRNN's ``PerceptualDiscrimination`` (Ehrlich et al. 2021) and
    neurogym's ``PerceptualDecisionMaking`` (Molano-Mazón et al. 2022).

    Inputs ``(fixation, evidence)``: the fixation input is 1 until the response period (its end is the go cue);
    the evidence input is ``coherence`` plus white noise during the stimulus period and 0 elsewhere. The coherence
    of a trial is a magnitude drawn from ``coherences`` with a random sign (0 is excluded: its choice would be
    undefined). The output must be ``sign(coherence)`` during the response period and 0 before it.

    Trial variables: ``coherence`` ``(B,)`` (signed).

    Arguments:
        coherences: the coherence magnitudes (> 0, distinct) a trial draws from.
        fixation, stimulus, delay, response, noise, dt, response_only, delay_jitter: as in the other choice tasks
            (model time units; ``delay`` may be 0).

    Raises:
        ValueError: a parameter out of range (named). TypeError: a parameter of the wrong type.
    """

    name = "decision"
    description = "report the sign of a noisy evidence stream after a delay (perceptual decision making)"
    input_dim = 2

    def __init__(self, *, coherences: tuple[float, ...] = (0.064, 0.128, 0.256, 0.512), fixation: float = 1.0,
                 stimulus: float = 5.0, delay: float = 2.0, response: float = 2.0, noise: float = 0.5,
                 dt: float = 0.2, response_only: bool = False, delay_jitter: float = 0.0):
        super().__init__(fixation=fixation, stimulus=stimulus, delay=delay, response=response, noise=noise, dt=dt,
                         response_only=response_only, delay_jitter=delay_jitter)
        self.coherences = check_values(coherences, "coherences")

    def config(self) -> dict[str, Any]:
        return {"coherences": list(self.coherences), **super().config()}

    def _sample(self, batch: int, generator: torch.Generator) -> TaskBatch:
        periods, T = layout(self._periods())
        check_batch_size(batch, T, self.input_dim, self.name)
        starts = self._response_starts(periods, batch, generator)
        coherence = pick(self.coherences, batch, generator) * random_signs((batch,), generator)
        fixation = self._fixation_input(starts, T)
        evidence = self._evidence(coherence, periods["stimulus"], T, generator)
        targets, mask = choice_targets(T, starts, self._response_steps, coherence.sign(), self.response_only)
        return self.batch(t=self.grid(T), inputs=torch.stack([fixation, evidence], dim=-1), targets=targets,
                          mask=mask, coherence=coherence)


@register_task
class ContextIntegration(_ChoiceTask):
    """Context-dependent integration of Mante, Sussillo, Shenoy & Newsome (2013), "Context-dependent computation by
    recurrent dynamics in prefrontal cortex", Nature 503.

    Inputs ``(motion, colour, motion cue, colour cue)``: two evidence streams, each its own signed coherence plus
    independent white noise during the stimulus period (0 elsewhere), and a one-hot context cue held through the
    whole trial. The output must be the sign of the cued stream's coherence during the response period (the other
    stream is to be ignored) and 0 before it. Each stream's coherence is a magnitude drawn from ``coherences`` with
    a random sign, independently of the other's; the context is 0 (motion) or 1 (colour) with probability 1/2.

    Trial variables: ``motion_coherence``, ``colour_coherence`` ``(B,)`` (signed); ``context`` ``(B,)`` int64,
    0 for motion and 1 for colour.

    Arguments:
        coherences: the coherence magnitudes (> 0, distinct) each stream draws from.
        fixation, stimulus, delay, response, noise, dt, response_only, delay_jitter: as in the other choice tasks
            (model time units; ``delay`` may be 0).

    Raises:
        ValueError: a parameter out of range (named). TypeError: a parameter of the wrong type.
    """

    name = "context"
    description = "report the sign of whichever of two noisy streams a context cue selects (Mante et al. 2013)"
    input_dim = 4

    def __init__(self, *, coherences: tuple[float, ...] = (0.05, 0.15, 0.5), fixation: float = 1.0,
                 stimulus: float = 5.0, delay: float = 2.0, response: float = 2.0, noise: float = 0.5,
                 dt: float = 0.2, response_only: bool = False, delay_jitter: float = 0.0):
        super().__init__(fixation=fixation, stimulus=stimulus, delay=delay, response=response, noise=noise, dt=dt,
                         response_only=response_only, delay_jitter=delay_jitter)
        self.coherences = check_values(coherences, "coherences")

    def config(self) -> dict[str, Any]:
        return {"coherences": list(self.coherences), **super().config()}

    def conditions(self) -> dict[str, torch.Tensor]:
        """``motion context`` and ``colour context``: the context cue on, both evidence streams off, ``(4,)``
        each (the condition Mante et al. 2013 linearize the network in)."""
        return {"motion context": torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64),
                "colour context": torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)}

    def _sample(self, batch: int, generator: torch.Generator) -> TaskBatch:
        periods, T = layout(self._periods())
        check_batch_size(batch, T, self.input_dim, self.name)
        starts = self._response_starts(periods, batch, generator)
        motion = pick(self.coherences, batch, generator) * random_signs((batch,), generator)
        colour = pick(self.coherences, batch, generator) * random_signs((batch,), generator)
        context = (random_signs((batch,), generator) > 0).long()
        streams = [self._evidence(c, periods["stimulus"], T, generator) for c in (motion, colour)]
        cues = torch.nn.functional.one_hot(context, 2).to(torch.float64).expand(T, batch, 2)
        cued = torch.where(context == 0, motion, colour)
        targets, mask = choice_targets(T, starts, self._response_steps, cued.sign(), self.response_only)
        return self.batch(t=self.grid(T), inputs=torch.cat([torch.stack(streams, dim=-1), cues], dim=-1),
                          targets=targets, mask=mask, motion_coherence=motion, colour_coherence=colour,
                          context=context)


@register_task
class DelayedDiscrimination(_ChoiceTask):
    """Delayed vibrotactile frequency discrimination of Romo, Brody, Hernández & Lemus (1999), "Neuronal correlates
    of parametric working memory in the prefrontal cortex", Nature 399.

    Inputs ``(fixation, stimulus)``: the fixation input is 1 until the response period; the stimulus input is the
    level ``f / (max(f1_values) + difference)`` (in (0, 1]) plus white noise during the first stimulus period
    (``f = f1``) and the second (``f = f2``), with a delay between them, and 0 elsewhere. ``f1`` is drawn from
    ``f1_values`` and ``f2 = f1 ± difference`` with a random sign. The output must be +1 during the response
    period when ``f1 > f2`` and -1 when ``f1 < f2``, and 0 before it.

    Trial variables: ``f1``, ``f2`` ``(B,)`` (Hz).

    Arguments:
        f1_values: the first frequencies (Hz, > 0, distinct), by default Romo's 10 to 34 Hz in steps of 4.
        difference: ``|f2 - f1|`` (Hz), > 0 and below the smallest ``f1`` (so that ``f2 > 0``).
        delay: the delay between the two stimuli (model time units), > 0.
        response_delay: the delay between the second stimulus and the response, >= 0.
        fixation, stimulus, response, noise, dt, response_only: as in the other choice tasks (model time units).

    Raises:
        ValueError: a parameter out of range (named). TypeError: a parameter of the wrong type.
    """

    name = "romo"
    description = "say whether the first of two vibration frequencies held across a delay was higher (Romo 1999)"
    input_dim = 2
    _delay_may_be_zero = False  # the delay between the stimuli is the working-memory period
    _jitters = False  # its delay is between the stimuli, not before the response

    def __init__(self, *, f1_values: tuple[float, ...] = (10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0),
                 difference: float = 8.0, fixation: float = 1.0, stimulus: float = 5.0, delay: float = 10.0,
                 response_delay: float = 0.0, response: float = 2.0, noise: float = 0.1, dt: float = 0.2,
                 response_only: bool = False):
        super().__init__(fixation=fixation, stimulus=stimulus, delay=delay, response=response, noise=noise, dt=dt,
                         response_only=response_only)
        self._response_delay_steps = period_steps(self, response_delay, "response_delay", allow_zero=True)
        self.response_delay = float(response_delay)
        self.f1_values = check_values(f1_values, "f1_values")
        self.difference = check_positive(difference, "difference")
        if self.difference >= min(self.f1_values):
            raise ValueError(f"difference must be below the smallest f1 ({min(self.f1_values):g} Hz) so that "
                             f"f2 = f1 - difference stays > 0, got {difference!r}")
        self.max_frequency = max(self.f1_values) + self.difference

    def _periods(self) -> list[tuple[str, int]]:
        return [("fixation", self._fixation_steps), ("f1", self._stimulus_steps), ("delay", self._delay_steps),
                ("f2", self._stimulus_steps), ("response_delay", self._response_delay_steps),
                ("response", self._response_steps)]

    def config(self) -> dict[str, Any]:
        return {"f1_values": list(self.f1_values), "difference": self.difference,
                "response_delay": self.response_delay, **super().config()}

    def _sample(self, batch: int, generator: torch.Generator) -> TaskBatch:
        periods, T = layout(self._periods())
        check_batch_size(batch, T, self.input_dim, self.name)
        f1 = pick(self.f1_values, batch, generator)
        f2 = f1 + self.difference * random_signs((batch,), generator)
        starts = self._response_starts(periods, batch, generator)
        fixation = self._fixation_input(starts, T)
        stimulus = (self._evidence(f1 / self.max_frequency, periods["f1"], T, generator)
                    + self._evidence(f2 / self.max_frequency, periods["f2"], T, generator))
        targets, mask = choice_targets(T, starts, self._response_steps, (f1 - f2).sign(), self.response_only)
        return self.batch(t=self.grid(T), inputs=torch.stack([fixation, stimulus], dim=-1), targets=targets,
                          mask=mask, f1=f1, f2=f2)
