"""Training networks on tasks: readouts that keep a trained network a System, and ``ctrnn.train``.

``ctrnn.train(model, task, ...) -> TrainingRun``; the trained ``run.model`` is a :class:`TaskModel` (a System with
a readout) or a :class:`TaskMap`, which every analysis verb accepts.
"""

from ._losses import LOSSES, masked_cross_entropy, masked_mse
from ._models import Readout, TaskMap, TaskModel, default_source
from ._train import OPTIMIZERS, SCHEDULES, TrainingRun, finite_time_lyapunov, task_model, train

__all__ = ["LOSSES", "OPTIMIZERS", "SCHEDULES", "Readout", "TaskMap", "TaskModel", "TrainingRun", "default_source",
           "finite_time_lyapunov", "masked_cross_entropy", "masked_mse", "task_model", "train"]
