"""Continuous-time models: ``System`` subclasses with ``forward(t, x, u)``, ``jacobian`` and ``jvp``."""

from ._activations import ACTIVATIONS, Activation, get_activation
from ._base import System
from ._beer import BeerCTRNN
from ._gated import GRUODE, LSTMODE
from ._catalog import MODELS, build_system, model_parameters
from ._rate import RateRNN
from ._reference import Lorenz, Rossler, VanDerPol
from ._selective import SelectiveSSM
from ._stacked import StackedSystem, stacking_obstacle
from ._ssm import DiagonalSSM, LinearSSM
from ._wrappers import VectorField

__all__ = ["ACTIVATIONS", "Activation", "BeerCTRNN", "DiagonalSSM", "GRUODE", "LSTMODE", "LinearSSM", "Lorenz", "MODELS", "RateRNN", "Rossler", "SelectiveSSM", "StackedSystem", "System",
           "VanDerPol", "VectorField", "build_system", "get_activation", "model_parameters", "stacking_obstacle"]
