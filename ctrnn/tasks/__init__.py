"""Tasks to train networks on: seeded trial generators with targets, masks and a natural score.

``task.sample(batch, generator) -> TaskBatch``; ``task.score(outputs, batch) -> float``. Any object with the same
``input_dim``, ``output_dim``, ``dt``, ``sample`` and ``score`` is a task too.
"""

from ._base import TASKS, Task, TaskBatch, check_task, register_task

__all__ = ["TASKS", "Task", "TaskBatch", "check_task", "register_task"]
