"""Chaos: Lyapunov spectra (Kaplan-Yorke dimension, entropy) and their sweeps over a parameter."""

from ._lyapunov import (ZERO_STDERRS, LyapunovSpectrum, kaplan_yorke_dimension, largest_lyapunov_exponent, lyapunov_spectra,
                        lyapunov_spectrum)
from ._sweep import Sweep, sweep

__all__ = ["LyapunovSpectrum", "Sweep", "ZERO_STDERRS", "kaplan_yorke_dimension", "largest_lyapunov_exponent",
           "lyapunov_spectra", "lyapunov_spectrum", "sweep"]
