"""Training networks on tasks: readouts that keep a trained network a System, and ``ctrnn.train``.

``ctrnn.train(model, task, ...) -> TrainingRun``; the trained ``run.model`` is a :class:`TaskModel` (a System with
a readout) or a :class:`TaskMap`, which every analysis verb accepts.
"""

from ._checkpoint import CHECKPOINT
from ._losses import LOSSES, masked_cross_entropy, masked_mse
from ._models import Readout, TaskMap, TaskModel, default_source
from ._train import (OPTIMIZERS, SCHEDULES, THROUGH, TrainingRun, check_training, finite_time_lyapunov, task_model,
                     task_trajectories, train, trial_generator)

__all__ = ["CHECKPOINT", "LOSSES", "OPTIMIZERS", "SCHEDULES", "THROUGH", "Readout", "TaskMap", "TaskModel",
           "TrainingRun", "check_training", "default_source", "finite_time_lyapunov", "masked_cross_entropy",
           "masked_mse", "task_model", "task_trajectories", "train", "trial_generator"]
