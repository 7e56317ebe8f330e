"""The contract every task satisfies: seeded trials on a time grid, what a network should output, and a score.

A task is anything with ``input_dim``, ``output_dim``, ``dt``, ``sample(batch, generator) -> TaskBatch`` and
``score(outputs, batch) -> float`` (a user's own class need not subclass :class:`Task`). Time is in the model's
time units; step ``k`` of a trial holds ``inputs[k]`` over ``[t[k], t[k] + dt)``, and ``targets[k]`` is what the
network should output at the end of that step: the convention of :meth:`~ctrnn.DiscreteMap.rollout` (``inputs[k]``
produces state ``k + 1``) and of ``torch.nn.RNN`` (input ``u_t`` produces ``h_t``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from .._registry import Registry
from .._results import Result, plot_result
from .._validation import check_positive, check_positive_int, check_size

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclasses.dataclass(frozen=True, repr=False)
class TaskBatch(Result):
    """A batch of trials of one task, time-major like every trajectory in ctrnn.

    Attributes:
        t: ``(T,)`` start time of each step, ``k * dt`` (model time units).
        inputs: ``(T, B, m)``: ``inputs[k]`` is held over step ``k``.
        targets: ``(T, B, p)``: what the outputs should be at the end of step ``k``.
        mask: ``(T, B, p)`` 1 where an output counts in the loss and the score, 0 elsewhere (same dtype as
            ``targets``).
        trials: the trial variables that define each trial, each a tensor with the batch first (``(B,)`` or
            ``(B, ...)``): cue times, coherences, bits, intervals. They score and plot trials.
        dt: the step (model time units).
        task: the name of the task that made the batch.
    """

    t: torch.Tensor
    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    trials: dict[str, torch.Tensor]
    dt: float
    task: str

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[1]

    @property
    def steps(self) -> int:
        return self.inputs.shape[0]

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> TaskBatch:
        """The batch with ``inputs``, ``targets``, ``mask`` and ``t`` in ``dtype`` on ``device`` (trial
        variables stay where they are: they describe trials, the network never sees them)."""
        def move(x: torch.Tensor) -> torch.Tensor:
            return x.to(dtype=dtype if dtype is not None and x.is_floating_point() else x.dtype, device=device)
        return dataclasses.replace(self, t=move(self.t), inputs=move(self.inputs), targets=move(self.targets),
                                   mask=move(self.mask))

    def summary(self) -> str:
        return (f"{self.task}: {self.batch_size} trials of {self.steps} steps (dt = {self.dt:g}), "
                f"{self.inputs.shape[-1]} inputs, {self.targets.shape[-1]} outputs")

    def plot(self, *, outputs: torch.Tensor | None = None, trials: int = 4, title: str | None = None) -> Figure:
        """The first ``trials`` trials: inputs above; targets where they count and, given, a model's ``outputs``
        (``(T, B, p)``) below, against time. Returns a Figure."""
        return plot_result(self, outputs=outputs, trials=trials, title=title)


class Task:
    """Base of the built-in tasks: a trial generator on a grid of step ``dt``, and its natural score.

    Subclasses set ``name``, ``input_dim``, ``output_dim`` and ``description``, and implement
    ``_sample`` (trials from a generator, in float64 on the CPU) and :meth:`score`; :meth:`config`
    returns the constructor's arguments, so a task is rebuilt from a run's config file.

    Attributes:
        name: the registered name (``ctrnn train --task NAME``).
        input_dim: ``m``. output_dim: ``p``. dt: the step (model time units).
        loss: the loss the task is trained with by default, ``"mse"`` or ``"cross_entropy"``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    loss: ClassVar[str] = "mse"
    input_dim: int
    output_dim: int
    dt: float

    def __init__(self, dt: float):
        self.dt = check_positive(dt, "dt")

    def steps_for(self, duration: float, what: str) -> int:
        """The number of steps of length ``dt`` in ``duration`` (model time units), at least 1.

        Raises:
            ValueError: a duration that is not finite and > 0, or one that gives more steps than the size limit.
        """
        duration = check_positive(duration, what)
        steps = max(1, round(duration / self.dt))
        check_size(steps, f"{what} = {duration:g} at dt = {self.dt:g} ({steps} steps)", "use a larger dt")
        return steps

    def sample(self, batch: int, generator: torch.Generator | None = None) -> TaskBatch:
        """``batch`` trials drawn from ``generator``.

        Arguments:
            batch: the number of trials, >= 1.
            generator: a CPU ``torch.Generator`` (the same generator state gives the same trials in any dtype:
                draws are made in float64); ``None`` draws from a fresh, unseeded one.

        Returns:
            a :class:`TaskBatch`, float64 on the CPU (``batch.to(dtype, device)`` moves it).

        Raises:
            ValueError: ``batch`` not an int >= 1, or a batch larger than the size limit.
            TypeError: ``generator`` not a ``torch.Generator``.
        """
        batch = check_positive_int(batch, "batch")
        if generator is None:
            generator = torch.Generator()
            generator.seed()
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return self._sample(batch, generator)

    def _sample(self, batch: int, generator: torch.Generator) -> TaskBatch:
        raise NotImplementedError

    def score(self, outputs: torch.Tensor, batch: TaskBatch) -> float:
        """The task's natural accuracy of ``outputs`` (``(T, B, p)``, aligned with ``batch.targets``), in [0, 1]
        where higher is better unless the subclass says otherwise."""
        raise NotImplementedError

    def conditions(self) -> dict[str, torch.Tensor]:
        """The task's held input conditions: the constant inputs a trained network sits in between events, where
        its fixed points are analysed (:func:`ctrnn.mechanisms.task_fixed_points`).

        Returns:
            ``{name: (m,) float64 input}``; the base task's is the zero input alone.
        """
        return {"zero input": torch.zeros(self.input_dim, dtype=torch.float64)}

    #: whether :meth:`score` is an error (lower is better) rather than an accuracy
    score_is_error: ClassVar[bool] = False
    #: what :meth:`score` measures, in words (for progress bars, tables and plots)
    score_name: ClassVar[str] = "accuracy"

    def config(self) -> dict[str, Any]:
        """The JSON-able constructor arguments that rebuild this task (``type(task)(**task.config())``)."""
        raise NotImplementedError

    def batch(self, t: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
              **trials: torch.Tensor) -> TaskBatch:
        """A :class:`TaskBatch` of this task (for subclasses' ``_sample``)."""
        return TaskBatch(t=t, inputs=inputs, targets=targets, mask=mask.to(targets.dtype), trials=trials,
                         dt=self.dt, task=self.name)

    def grid(self, steps: int) -> torch.Tensor:
        """``(steps,)`` the step start times ``k * dt`` in float64."""
        return torch.arange(steps, dtype=torch.float64) * self.dt

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


#: the built-in tasks by name (``ctrnn tasks`` lists them; ``ctrnn train --task NAME``)
TASKS: Registry[type[Task]] = Registry("task")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: add a task class to ``ctrnn.tasks.TASKS`` under its ``name``."""
    TASKS.register(cls.name, cls)
    return cls


def check_task(task: Any) -> None:
    """Raise ``TypeError`` naming what is missing when ``task`` does not follow the task protocol."""
    missing = [a for a in ("input_dim", "output_dim", "dt", "sample", "score") if not hasattr(task, a)]
    if missing:
        raise TypeError(f"a task needs input_dim, output_dim, dt, sample(batch, generator) and "
                        f"score(outputs, batch); {type(task).__name__} has no {', '.join(missing)}")
    if not callable(task.sample) or not callable(task.score):
        raise TypeError(f"{type(task).__name__}.sample and .score must be methods")
    dt = float(task.dt)
    if not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"{type(task).__name__}.dt must be a finite number > 0, got {task.dt!r}")
