"""Wrap a user's callable as a System."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._validation import check_positive_int
from ._base import System


class WrapsCallable:
    """Holds a user's callable for a wrapper model: an ``nn.Module`` is registered as a submodule (its
    parameters become the wrapper's), anything else is kept as a plain attribute."""

    state_dim: int
    input_dim: int

    def _wrap(self, fn: Callable, state_dim: int, input_dim: int, signature: str) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable as {signature}, got {type(fn).__name__}")
        self.state_dim = check_positive_int(state_dim, "state_dim")
        if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 0:
            raise ValueError(f"input_dim must be an int >= 0, got {input_dim!r}")
        self.input_dim = input_dim
        if isinstance(fn, nn.Module):
            self.fn = fn
        else:
            self._fn = fn

    @property
    def wrapped(self) -> Callable:
        """The user's callable."""
        return self.fn if "fn" in self._modules else self._fn  # type: ignore[attr-defined]


class VectorField(WrapsCallable, System):
    """Any callable ``fn(t, x, u) -> dx/dt`` as a :class:`System`.

    Arguments:
        fn: maps scalar time ``t``, state ``(*batch, n)`` and input ``(*batch, m)`` (``None`` when
            there is no input) to ``dx/dt`` of shape ``(*batch, n)``. If it is an ``nn.Module`` its
            parameters belong to this system (adjoint gradients, ``.to(device)``).
        state_dim: ``n``.
        input_dim: ``m``.

    Jacobians and JVPs use autograd, so ``fn`` must be written in torch operations. The analyses pass batches
    of states, so read a state's components as ``x[..., i]`` (``x[i]`` reads the i-th state of a batch).
    """

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor],
                 state_dim: int, input_dim: int = 0):
        super().__init__()
        self._wrap(fn, state_dim, input_dim, "fn(t, x, u)")

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        try:
            return self.wrapped(t, x, u)
        except IndexError as exc:  # the usual cause: a function written for one state, given a batch
            raise IndexError(f"{exc} (the VectorField's function got states of shape {tuple(x.shape)}: it is "
                             "given batches (*batch, n), so read components as x[..., i], not x[i])") from exc

    def describe(self) -> str:
        fn = self.wrapped
        return f"VectorField {getattr(fn, '__name__', type(fn).__name__)} (n={self.state_dim}, inputs={self.input_dim})"
