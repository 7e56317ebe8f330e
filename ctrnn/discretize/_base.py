"""The contract every discrete-time map satisfies: ``x_k = F(x_{k-1}, u_k)``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._errors import locate_divergence
from .._results import save_object
from .._validation import as_state, check_positive_int, check_size, reference_tensor
from ..systems._base import System, batched_jacobian, batched_jvp
from ..systems._wrappers import WrapsCallable


class DiscreteMap(nn.Module):
    """A discrete-time map ``x_k = F(x_{k-1}, u_k)`` (update, then read).

    Subclasses implement :meth:`step`. Analysis code uses only ``step``, :meth:`jacobian` and :meth:`jvp`,
    as it uses ``forward`` / ``jacobian`` / ``jvp`` of a :class:`~ctrnn.System`; time is counted in
    iterations.

    Attributes:
        state_dim: ``n``.
        input_dim: ``m`` (0: autonomous).
    """

    state_dim: int
    input_dim: int
    #: the scheme's name for a discretization (``None`` for a map of one's own)
    scheme: str | None = None

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """One update: ``x`` ``(*batch, n)``, ``u`` ``(*batch, m)`` or ``None`` -> ``(*batch, n)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.step(x, u)

    @property
    def dtype(self) -> torch.dtype | None:
        """dtype of the first parameter or buffer (``None`` for a map without tensors)."""
        ref = reference_tensor(self)
        return None if ref is None else ref.dtype

    def rollout(self, x0: torch.Tensor, inputs: torch.Tensor | None = None, *, steps: int | None = None) -> torch.Tensor:
        """Iterate the map.

        Arguments:
            x0: ``(*batch, n)``.
            inputs: ``(T, *batch, m)``: ``inputs[k]`` produces state ``k + 1``. ``None`` means zero
                input, and then ``steps`` gives ``T``.
            steps: number of iterations when there is no input.

        Returns:
            ``x_1 .. x_T``, shape ``(T, *batch, n)`` (one state per input; ``x0`` not included).

        Raises:
            ValueError: on shapes that do not match, an empty batch, missing ``steps``, or more states than
                the size limit (:class:`~ctrnn.size_limit`).
            DivergenceError: if a state becomes NaN/Inf, naming the iteration and batch elements.
        """
        x0 = as_state(x0, "x0", self.state_dim, reference_tensor(self))
        if inputs is None:  # zero input, as in simulate
            if steps is None:
                raise ValueError("without inputs, pass steps= (the number of iterations)")
            n_steps = check_positive_int(steps, "steps")
        else:
            if inputs.ndim < 2 or inputs.shape[-1] != self.input_dim:
                raise ValueError(f"inputs must have shape (T, *batch, {self.input_dim}), got {tuple(inputs.shape)}")
            n_steps = inputs.shape[0]
            if self.dtype is not None and inputs.dtype != self.dtype.to_real():  # inputs follow the map's dtype
                inputs = inputs.to(self.dtype.to_real())
        check_size(n_steps * x0.numel(), f"the rollout ({n_steps} steps x {x0.numel()} state values of x0)",
                   "take fewer steps or fewer initial states")
        out = self._rollout(x0, inputs, n_steps)
        error = locate_divergence(out, torch.arange(1, n_steps + 1), what="rollout (time in iterations)")
        if error is not None:
            raise error
        return out

    def _rollout(self, x0: torch.Tensor, inputs: torch.Tensor | None, n_steps: int) -> torch.Tensor:
        """``x_1 .. x_T`` from checked arguments, one :meth:`step` at a time; maps with a faster loop override it."""
        states = []
        x = x0
        steps = [None] * n_steps if inputs is None else inputs.unbind(0)  # not inputs[k]: see RateRNN.fused_rollout
        for u in steps:
            x = self.step(x, u)
            states.append(x)
        return torch.stack(states)

    def save(self, path: str) -> None:
        """Write the map to a ``.safetensors`` file; :func:`ctrnn.load` reads it back.

        Raises:
            NotImplementedError: the map wraps a Python callable (an :class:`IteratedMap`).
        """
        save_object(self, path)

    @property
    def source_system(self) -> System | None:
        """The continuous-time model this map discretizes (held as ``self.system``), or ``None`` for a map of
        one's own such as an :class:`IteratedMap`."""
        system = self._modules.get("system")
        return system if isinstance(system, System) else None

    def describe(self) -> str:
        """A one-line description in words: the model a map discretizes describes it, else its class."""
        source = self.source_system
        return source.describe() if source is not None else type(self).__name__

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """``dF/dx`` at ``x``, shape ``(*batch, n, n)``."""
        return batched_jacobian(lambda y: self.step(y, u), x)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """``(dF/dx) v`` for ``v`` of shape ``(*batch, n)`` or ``(*batch, n, k)``."""
        return batched_jvp(lambda y: self.step(y, u), x, v)

    def step_with_tangent(self, x: torch.Tensor, V: torch.Tensor,
                          u: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(F(x, u), (dF/dx) V)`` in one call; maps that share work between the two override it.

        Arguments:
            x: ``(*batch, n)``; V: ``(*batch, n, k)`` tangent vectors (or ``(*batch, n)``); u: as :meth:`step`.

        Returns:
            The next state ``(*batch, n)`` and the advanced vectors, the shape of ``V``.
        """
        return self.step(x, u), self.jvp(x, V, u)


class IteratedMap(WrapsCallable, DiscreteMap):
    """A user's own discrete map ``fn(x, u) -> x_next`` as a :class:`DiscreteMap`.

    Arguments:
        fn: maps ``(*batch, n)`` and ``(*batch, m)`` (``None`` when there is no input) to ``(*batch, n)``;
            an ``nn.Module``'s parameters become this map's.
        state_dim: ``n``.
        input_dim: ``m``.
    """

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], state_dim: int,
                 input_dim: int = 0):
        super().__init__()
        self._wrap(fn, state_dim, input_dim, "fn(x, u)")

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.wrapped(x, u)


def map_time_step(obj: DiscreteMap) -> float | None:
    """The time step a map stands for, so that its per-iteration numbers convert to per unit time.

    Arguments:
        obj: a :class:`DiscreteMap`.

    Returns:
        its ``dt`` attribute when that is one number, else ``None`` (a map of one's own, or per-step steps).
    """
    dt = getattr(obj, "dt", None)
    if isinstance(dt, torch.Tensor):
        return float(dt) if dt.numel() == 1 else None
    return float(dt) if isinstance(dt, (int, float)) else None
