"""Gradients: how ``d x_T / d x_{T-k}`` vanishes or explodes with the lag, for flows and their discretizations."""

from ._propagation import RATE_BAND, GradientPropagation, gradient_propagation, state_parts

__all__ = ["GradientPropagation", "RATE_BAND", "gradient_propagation", "state_parts"]
