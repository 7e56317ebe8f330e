"""Discretization accuracy: each scheme's error against a tight continuous solution, and its fitted order."""

from ._discretization_error import (SLOPE_AGREEMENT, DiscretizationError, discretization_error, fitted_order,
                                    is_asymptotic, successive_slopes)

__all__ = ["DiscretizationError", "SLOPE_AGREEMENT", "discretization_error", "fitted_order", "is_asymptotic",
           "successive_slopes"]
