"""Discretization accuracy: each scheme's error against a tight continuous solution, and its fitted order."""

from ._discretization_error import DiscretizationError, discretization_error, fitted_order

__all__ = ["DiscretizationError", "discretization_error", "fitted_order"]
