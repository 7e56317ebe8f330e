"""Analysis of flows and maps: Jacobians, fixed and slow points."""

from ._basins import Basins, basins, pca_plane, state_plane
from ._branches import FixedPointBranches, fixed_point_branches
from ._common import jacobian
from ._gradients import GradientPropagation, compare_gradient_propagation, gradient_propagation, state_parts
from ._sweep import Sweep, sweep
from ._tangent import map_time_step
from ._lyapunov import LyapunovSpectrum, kaplan_yorke_dimension, largest_lyapunov_exponent, lyapunov_spectra, lyapunov_spectrum
from ._stacked import StackedMap, StackedSystem, stack_models, stacking_obstacle
from ._fixed_points import FixedPoints, classify, find_fixed_points, sample_starts
from ._limit_cycles import LimitCycle, NoCycleError, find_limit_cycle
from ._spectra import ConnectivitySpectrum, JacobianSpectra, connectivity_spectrum, spectra_along

__all__ = ["map_time_step", "Sweep", "sweep", "GradientPropagation", "compare_gradient_propagation", "gradient_propagation", "state_parts", "LyapunovSpectrum", "kaplan_yorke_dimension", "largest_lyapunov_exponent", "lyapunov_spectrum", "lyapunov_spectra", "StackedMap", "StackedSystem", "stack_models", "stacking_obstacle", "Basins", "FixedPointBranches", "fixed_point_branches", "JacobianSpectra", "pca_plane", "state_plane", "ConnectivitySpectrum", "basins", "connectivity_spectrum", "spectra_along", "FixedPoints", "LimitCycle", "NoCycleError", "find_limit_cycle", "classify", "find_fixed_points", "jacobian", "sample_starts"]
