"""The sine-wave generator of Sussillo & Barak (2013): a static input level asks for a frequency, and the trained
network oscillates at it. Reverse-engineered: for each input, a stable limit cycle of the asked-for period
around an unstable fixed point whose linearization turns at about that frequency."""

from __future__ import annotations

from ._trained import run_one as run

__all__ = ["run"]
