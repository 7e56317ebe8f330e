"""Discrete-time maps: the base contract, a user's own map, and the discretization of Systems."""

from ._base import DiscreteMap, IteratedMap, map_time_step
from ._discretize import all_schemes, applicable_schemes, discretize
from ._linear import LINEAR_SCHEMES, LinearMap, associative_scan, chunked_scan, gbt
from ._nonlinear import SystemMap
from ._selective import SelectiveMap, selective_scan
from ._stacked import StackedMap, stack_models, stacks_natively
from ._torch import from_torch, to_torch

__all__ = ["DiscreteMap", "IteratedMap", "LINEAR_SCHEMES", "LinearMap", "SelectiveMap", "StackedMap", "SystemMap",
           "all_schemes", "applicable_schemes", "associative_scan", "chunked_scan", "discretize", "from_torch", "gbt", "map_time_step",
           "selective_scan", "stack_models", "stacks_natively", "to_torch"]
