"""ctrnn: recurrent networks as dynamical systems ``dx/dt = f(x, u(t), W)``.

Simulate (torchdiffeq underneath), discretize and analyse continuous-time recurrent networks.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ctrnn-dynamics")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from . import analysis, inputs, systems
from ._errors import ConfigError, DivergenceError, SolverError
from ._checkpoint import simulate_to_file
from ._simulate import METHODS, SolverStats, Trajectory, simulate
from .discretize import (DiscreteMap, DiscretizationError, IteratedMap, LinearMap, discretization_error, discretize,
                          from_torch, selective_scan, to_torch)
from .analysis import (FixedPointBranches, FixedPoints, LimitCycle, NoCycleError, find_fixed_points, find_limit_cycle,
                       GradientPropagation, LyapunovSpectrum, compare_gradient_propagation, fixed_point_branches,
                       gradient_propagation, jacobian, largest_lyapunov_exponent, lyapunov_spectra, lyapunov_spectrum, stack_models, Sweep,
                       sweep)
from .io import load, save_model
from ._report import Report, report
from .systems import (ACTIVATIONS, GRUODE, LSTMODE, MODELS, Activation, BeerCTRNN, DiagonalSSM, LinearSSM, RateRNN,
                      SelectiveSSM, System, VectorField, build_system)

__all__ = [
    "Report", "report",
    "analysis", "GradientPropagation", "LyapunovSpectrum", "compare_gradient_propagation", "gradient_propagation",
    "largest_lyapunov_exponent", "lyapunov_spectrum", "lyapunov_spectra", "stack_models", "Sweep", "sweep", "FixedPointBranches", "fixed_point_branches", "FixedPoints", "find_fixed_points", "find_limit_cycle", "jacobian", "LimitCycle", "NoCycleError",
    "Activation", "ACTIVATIONS", "BeerCTRNN", "build_system", "ConfigError", "DiagonalSSM", "DiscreteMap", "discretization_error",
    "DiscretizationError", "discretize", "DivergenceError", "from_torch", "GRUODE", "inputs", "IteratedMap", "LinearMap",
    "LinearSSM", "load", "LSTMODE", "METHODS", "MODELS", "RateRNN", "save_model", "selective_scan",
    "SelectiveSSM", "simulate", "simulate_to_file", "SolverError", "SolverStats", "System", "systems", "to_torch",
    "Trajectory", "VectorField", "__version__",
]
