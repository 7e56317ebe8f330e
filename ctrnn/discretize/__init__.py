"""Discrete-time maps: the base contract and a user's own map."""

from ._base import DiscreteMap, IteratedMap

__all__ = ["DiscreteMap", "IteratedMap"]
