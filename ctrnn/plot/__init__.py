"""matplotlib figures for every result, registered per result type: ``result.plot()`` dispatches here.

Importing this package (``import ctrnn`` does) fills :data:`ctrnn._results.PLOTTERS`; results themselves never
import matplotlib.
"""

from __future__ import annotations

from ._style import KIND_MARKERS, PALETTE, STYLE, kind_style, plot_eigenvalues  # first: selects the backend
from .._results import PLOTTERS
from .._simulate import Trajectory
from ..analysis import Survey, principal_components
from ..analysis.accuracy import DiscretizationError
from ..analysis.chaos import LyapunovSpectrum, Sweep
from ..analysis.gradients import GradientPropagation
from ..analysis.periodic import LimitCycle
from ..analysis.stability import (Basins, ConnectivitySpectrum, FixedPointBranches, FixedPoints, JacobianSpectra,
                                  SlowModes, UnstableManifolds)
from ._accuracy import plot_discretization_error
from ._chaos import plot_lyapunov_spectrum, plot_sweep
from ._gradients import compare_gradient_propagation, plot_gradient_propagation
from ._mechanisms import (plot_slow_modes, plot_task_fixed_points, plot_topology_comparison,
                          plot_unstable_manifolds)
from ._periodic import plot_limit_cycle
from ._stability import (plot_basins, plot_branches, plot_connectivity_spectrum, plot_fixed_points,
                         plot_jacobian_spectra, plot_phase_portrait, plot_survey)
from ._trajectory import plot_rollouts, plot_trajectory
from ._training import plot_task_batch, plot_training_run
from ..tasks import TaskBatch
from ..training import TrainingRun
from ..mechanisms import TaskFixedPoints, TopologyComparison

PLOTTERS.update({
    Trajectory: plot_trajectory,
    FixedPoints: plot_fixed_points,
    FixedPointBranches: plot_branches,
    Basins: plot_basins,
    ConnectivitySpectrum: plot_connectivity_spectrum,
    JacobianSpectra: plot_jacobian_spectra,
    LimitCycle: plot_limit_cycle,
    LyapunovSpectrum: plot_lyapunov_spectrum,
    Sweep: plot_sweep,
    GradientPropagation: plot_gradient_propagation,
    DiscretizationError: plot_discretization_error,
    Survey: plot_survey,
    TrainingRun: plot_training_run,
    TaskBatch: plot_task_batch,
    UnstableManifolds: plot_unstable_manifolds,
    SlowModes: plot_slow_modes,
    TaskFixedPoints: plot_task_fixed_points,
    TopologyComparison: plot_topology_comparison,
})

__all__ = ["KIND_MARKERS", "PALETTE", "STYLE", "compare_gradient_propagation", "kind_style", "plot_basins",
           "plot_branches", "plot_connectivity_spectrum", "plot_discretization_error", "plot_eigenvalues",
           "plot_fixed_points", "plot_gradient_propagation", "plot_jacobian_spectra", "plot_limit_cycle",
           "plot_lyapunov_spectrum", "plot_phase_portrait", "plot_rollouts", "plot_slow_modes", "plot_survey", "plot_sweep",
           "plot_task_fixed_points", "plot_topology_comparison", "plot_trajectory", "plot_unstable_manifolds",
           "principal_components"]
