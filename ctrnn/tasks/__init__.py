"""Tasks to train networks on: seeded trial generators with targets, masks and a natural score.

``task.sample(batch, generator) -> TaskBatch``; ``task.score(outputs, batch) -> float``. Any object with the same
``input_dim``, ``output_dim``, ``dt``, ``sample`` and ``score`` is a task too. The built-in tasks are registered in
:data:`TASKS` by name: ``flipflop``, ``sine``, ``decision``, ``context``, ``romo``, ``readysetgo``.
"""

from ._base import TASKS, Task, TaskBatch, check_task, register_task
from ._choice import ContextIntegration, DelayedDiscrimination, PerceptualDecision
from ._flipflop import FlipFlop
from ._sine import SineGenerator
from ._timing import ReadySetGo

__all__ = ["ContextIntegration", "DelayedDiscrimination", "FlipFlop", "PerceptualDecision", "ReadySetGo",
           "SineGenerator", "TASKS", "Task", "TaskBatch", "check_task", "register_task"]
