"""Analysis of flows and maps: Jacobians, fixed and slow points."""

from ._basins import Basins, basins, pca_plane
from ._branches import FixedPointBranches, fixed_point_branches
from ._common import jacobian
from ._fixed_points import FixedPoints, classify, find_fixed_points, sample_starts
from ._limit_cycles import LimitCycle, NoCycleError, find_limit_cycle
from ._spectra import ConnectivitySpectrum, JacobianSpectra, connectivity_spectrum, spectra_along

__all__ = ["Basins", "FixedPointBranches", "fixed_point_branches", "JacobianSpectra", "pca_plane", "ConnectivitySpectrum", "basins", "connectivity_spectrum", "spectra_along", "FixedPoints", "LimitCycle", "NoCycleError", "find_limit_cycle", "classify", "find_fixed_points", "jacobian", "sample_starts"]
