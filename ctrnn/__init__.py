"""ctrnn: recurrent networks as dynamical systems ``dx/dt = f(x, u(t), W)``.

Simulate (torchdiffeq underneath), discretize and analyse continuous-time recurrent networks. The layers, top
to bottom (each imports only from those above it): ``systems`` -> ``inputs`` -> ``simulate`` -> ``discretize``
-> ``analysis`` -> ``tasks`` / ``training`` / ``mechanisms`` -> ``plot`` / ``io`` -> ``report``. Importing ``ctrnn`` loads ``plot`` and ``io``, which register
how every result draws (``.plot()``) and saves (``.save()``) itself.
"""

from ._version import __version__
from . import analysis, inputs, mechanisms, systems, tasks, training
from ._errors import ConfigError, DivergenceError, SolverError
from ._progress import ProgressBar, show_progress
from ._simulate import METHODS, SolverStats, Trajectory, simulate
from ._validation import MAX_ELEMENTS, size_limit
from .analysis import (Basins, ConnectivitySpectrum, DiscretizationError, FixedPointBranches, FixedPoints,
                       GradientPropagation, JacobianSpectra, LimitCycle, LyapunovSpectrum, NoCycleError, SlowModes,
                       Survey, SurveySettings, Sweep, UnstableManifolds,
                       discretization_error, find_fixed_points, find_limit_cycle, fixed_point_branches,
                       gradient_propagation, jacobian, largest_lyapunov_exponent, lyapunov_spectra, lyapunov_spectrum,
                       slow_manifold, slow_modes, survey, sweep, unstable_manifolds)
from .discretize import (DiscreteMap, IteratedMap, LinearMap, discretize, from_torch, selective_scan, stack_models,
                         to_torch)
from . import plot  # noqa: E402  (registers every result's figure)
from .io import load, save_model, simulate_to_file  # registers every result's file format
from .plot import compare_gradient_propagation
from .reports import Report, report
from .training import TaskMap, TaskModel, TrainingRun, train
from . import config, setup  # noqa: E402  (run configs and run set-up, for the CLI, the gallery and users)
from .systems import (ACTIVATIONS, GRUODE, LSTMODE, MODELS, Activation, BeerCTRNN, DiagonalSSM, LinearSSM, RateRNN,
                      SelectiveSSM, System, VectorField, build_system)

__all__ = [
    "ACTIVATIONS", "Activation", "Basins", "BeerCTRNN", "ConfigError", "ConnectivitySpectrum", "DiagonalSSM",
    "DiscreteMap", "DiscretizationError", "DivergenceError", "FixedPointBranches", "FixedPoints", "GRUODE",
    "GradientPropagation", "IteratedMap", "JacobianSpectra", "LSTMODE", "LimitCycle", "LinearMap", "LinearSSM",
    "LyapunovSpectrum", "MAX_ELEMENTS", "METHODS", "MODELS", "NoCycleError", "ProgressBar", "RateRNN", "Report",
    "SelectiveSSM", "SlowModes", "SolverError", "SolverStats", "Survey", "SurveySettings", "Sweep", "System", "TaskMap",
    "TaskModel", "TrainingRun", "Trajectory", "UnstableManifolds", "VectorField", "__version__", "analysis", "build_system",
    "compare_gradient_propagation", "config", "discretization_error", "discretize", "find_fixed_points",
    "find_limit_cycle", "fixed_point_branches", "from_torch", "gradient_propagation", "inputs", "io", "jacobian",
    "largest_lyapunov_exponent", "load", "lyapunov_spectra", "lyapunov_spectrum", "mechanisms", "plot", "report", "save_model",
    "selective_scan", "setup", "show_progress", "simulate", "simulate_to_file", "size_limit", "slow_manifold", "slow_modes",
    "stack_models", "survey", "systems", "tasks", "to_torch", "train", "training", "unstable_manifolds",
]
