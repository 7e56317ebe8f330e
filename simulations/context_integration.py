"""Context-dependent integration (Mante, Sussillo, Shenoy & Newsome 2013): two noisy evidence streams and a cue
that says which one counts. Reverse-engineered: in each context the network's slow points lie along a line (an
approximate line attractor) whose slow mode's left eigenvector, the selection vector, picks up the relevant
stream more than the irrelevant one."""

from __future__ import annotations

from ._trained import run_one as run

__all__ = ["run"]
