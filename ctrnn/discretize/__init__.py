"""Discrete-time maps: the base contract, a user's own map, and the discretization of Systems."""

from ._base import DiscreteMap, IteratedMap
from ._discretize import all_schemes, applicable_schemes, discretize
from ._error import DiscretizationError, discretization_error
from ._linear import LINEAR_SCHEMES, LinearMap, associative_scan, gbt
from ._nonlinear import SystemMap
from ._selective import SelectiveMap, selective_scan
from ._torch import from_torch, to_torch

__all__ = ["LINEAR_SCHEMES", "DiscreteMap", "DiscretizationError", "IteratedMap", "LinearMap", "SelectiveMap", "SystemMap", "all_schemes", "applicable_schemes",
           "associative_scan", "discretization_error", "discretize", "from_torch", "gbt", "selective_scan", "to_torch"]
