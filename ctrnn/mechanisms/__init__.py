"""How a trained network solves its task (reverse-engineering; Sussillo & Barak 2013, Mante et al. 2013,
Maheswaranathan et al. 2019): its fixed points per held input condition, the saddles between them and where their
unstable manifolds lead, its slow modes and the inputs they select, and the comparison of trained networks.

``task_fixed_points(run_or_model, task) -> TaskFixedPoints``; ``compare_topologies({name: result}) ->
TopologyComparison``.
"""

from ._compare import TopologyComparison, compare_topologies
from ._conditions import DYNAMICS, TaskFixedPoints, check_task_model, task_fixed_points

__all__ = ["DYNAMICS", "TaskFixedPoints", "TopologyComparison", "check_task_model", "compare_topologies",
           "task_fixed_points"]
