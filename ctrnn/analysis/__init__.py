"""Analysis of flows and maps, one folder per question: ``stability`` (fixed points, branches, basins,
spectra), ``periodic`` (limit cycles), ``chaos`` (Lyapunov spectra, sweeps), ``gradients`` (gradient
propagation) and ``accuracy`` (discretization error). Every verb takes a :class:`~ctrnn.System` or a
:class:`~ctrnn.DiscreteMap` through the same interface, so a user's own model works everywhere."""

from ._common import jacobian
from ._projection import pca_plane, principal_components, state_plane
from ._survey import Survey, SurveySettings, survey
from ..discretize import map_time_step
from .accuracy import DiscretizationError, discretization_error, fitted_order
from .chaos import (LyapunovSpectrum, Sweep, kaplan_yorke_dimension, largest_lyapunov_exponent, lyapunov_spectra,
                    lyapunov_spectrum, sweep)
from .gradients import GradientPropagation, gradient_propagation, state_parts
from .periodic import LimitCycle, NoCycleError, find_limit_cycle
from .stability import (Basins, ConnectivitySpectrum, FixedPointBranches, FixedPoints, JacobianSpectra, SlowModes,
                        UnstableManifolds, basins, check_search_size, classify, connectivity_spectrum,
                        find_fixed_points, fixed_point_branches, fixed_point_starts, sample_starts, slow_manifold,
                        slow_modes, spectra_along, unstable_manifolds)

__all__ = ["Basins", "ConnectivitySpectrum", "DiscretizationError", "FixedPointBranches", "FixedPoints",
           "GradientPropagation", "JacobianSpectra", "LimitCycle", "LyapunovSpectrum", "NoCycleError", "SlowModes", "Survey", "SurveySettings", "Sweep",
           "UnstableManifolds", "basins", "check_search_size", "classify", "connectivity_spectrum", "discretization_error",
           "find_fixed_points", "find_limit_cycle", "fitted_order", "fixed_point_branches", "fixed_point_starts", "gradient_propagation", "jacobian",
           "kaplan_yorke_dimension", "largest_lyapunov_exponent", "lyapunov_spectra", "lyapunov_spectrum",
           "map_time_step", "pca_plane", "principal_components", "sample_starts", "slow_manifold", "slow_modes", "spectra_along", "state_parts",
           "state_plane", "survey", "sweep", "unstable_manifolds"]
