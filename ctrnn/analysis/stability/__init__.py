"""Stability: fixed and slow points, their branches against an input, basins of attraction, eigenvalue spectra,
the unstable manifolds of saddles and the slow modes of line attractors."""

from ._basins import Basins, basins
from ._branches import FixedPointBranches, fixed_point_branches
from ._fixed_points import (FixedPoints, check_search_size, classify, find_fixed_points, fixed_point_starts,
                            sample_starts)
from ._manifolds import UnstableManifolds, unstable_manifolds
from ._slow_modes import SlowModes, slow_manifold, slow_modes
from ._spectra import ConnectivitySpectrum, JacobianSpectra, connectivity_spectrum, spectra_along

__all__ = ["Basins", "ConnectivitySpectrum", "FixedPointBranches", "FixedPoints", "JacobianSpectra", "SlowModes",
           "UnstableManifolds", "basins", "check_search_size", "classify", "connectivity_spectrum", "find_fixed_points",
           "fixed_point_branches", "fixed_point_starts", "sample_starts", "slow_manifold", "slow_modes", "spectra_along",
           "unstable_manifolds"]
