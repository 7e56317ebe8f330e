"""Periodic orbits: limit cycles of flows, their periods and Floquet multipliers."""

from ._limit_cycles import LimitCycle, NoCycleError, find_limit_cycle

__all__ = ["LimitCycle", "NoCycleError", "find_limit_cycle"]
