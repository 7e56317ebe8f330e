"""Analysis of flows and maps: Jacobians, fixed and slow points."""

from ._common import jacobian
from ._fixed_points import FixedPoints, classify, find_fixed_points, sample_starts

__all__ = ["FixedPoints", "classify", "find_fixed_points", "jacobian", "sample_starts"]
