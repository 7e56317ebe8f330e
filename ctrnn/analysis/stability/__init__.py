"""Stability: fixed and slow points, their branches against an input, basins of attraction, eigenvalue spectra."""

from ._basins import Basins, basins
from ._branches import FixedPointBranches, fixed_point_branches
from ._fixed_points import (FixedPoints, check_search_size, classify, find_fixed_points, fixed_point_starts,
                            sample_starts)
from ._spectra import ConnectivitySpectrum, JacobianSpectra, connectivity_spectrum, spectra_along

__all__ = ["Basins", "ConnectivitySpectrum", "FixedPointBranches", "FixedPoints", "JacobianSpectra", "basins",
           "check_search_size", "classify", "connectivity_spectrum", "find_fixed_points", "fixed_point_branches",
           "fixed_point_starts", "sample_starts", "spectra_along"]
