"""ctrnn: recurrent networks as dynamical systems ``dx/dt = f(x, u(t), W)``.

Simulate (torchdiffeq underneath), discretize and analyse continuous-time recurrent networks.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ctrnn-dynamics")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from . import inputs, systems
from ._errors import ConfigError, DivergenceError, SolverError
from ._checkpoint import simulate_to_file
from ._simulate import METHODS, SolverStats, Trajectory, simulate
from .discretize import DiscreteMap, IteratedMap, LinearMap, discretize, from_torch, selective_scan, to_torch
from .io import load, save_model
from .systems import (ACTIVATIONS, GRUODE, LSTMODE, MODELS, Activation, BeerCTRNN, DiagonalSSM, LinearSSM, RateRNN,
                      SelectiveSSM, System, VectorField, build_system)

__all__ = [
    "ACTIVATIONS", "Activation", "BeerCTRNN", "ConfigError", "DiagonalSSM", "LinearMap", "LinearSSM", "MODELS",
    "GRUODE", "LSTMODE", "build_system", "discretize", "SelectiveSSM", "from_torch", "selective_scan", "to_torch", "DiscreteMap", "DivergenceError", "IteratedMap",
    "METHODS", "RateRNN", "SolverError", "SolverStats", "System", "Trajectory", "VectorField", "__version__",
    "inputs", "load", "save_model", "simulate", "simulate_to_file", "systems",
]
