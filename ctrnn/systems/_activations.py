"""Activation functions phi with their derivative and inverse (for ``x0 = phi^-1(h0)``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .._registry import Registry

TensorFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Activation:
    """A pointwise nonlinearity.

    Attributes:
        name: registry name.
        fn: ``phi(x)``.
        derivative: ``phi'(x)``, used by analytic Jacobians and structured JVPs.
        inverse: ``phi^-1(y)`` on the range of ``phi`` (relu: identity on ``y >= 0``).
    """

    name: str
    fn: TensorFn
    derivative: TensorFn
    inverse: TensorFn

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def _tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.tanh(x) ** 2


def _relu_inverse(y: torch.Tensor) -> torch.Tensor:
    if bool((y < 0).any()):
        raise ValueError("relu^-1 is defined only for values >= 0")
    return y


def _softplus_inverse(y: torch.Tensor) -> torch.Tensor:
    # log(expm1(y)) written to stay accurate for large y
    return y + torch.log(-torch.expm1(-y))


def _sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1.0 - s)


ACTIVATIONS: Registry[Activation] = Registry("activation")
for _a in (
    Activation("tanh", torch.tanh, _tanh_derivative, torch.atanh),
    Activation("relu", torch.relu, lambda x: (x > 0).to(x.dtype), _relu_inverse),
    Activation("softplus", F.softplus, torch.sigmoid, _softplus_inverse),
    Activation("sigmoid", torch.sigmoid, _sigmoid_derivative, torch.logit),
    Activation("linear", lambda x: x, torch.ones_like, lambda y: y),
):
    ACTIVATIONS.register(_a.name, _a)


def get_activation(activation: str | Activation) -> Activation:
    """Look an activation up by name.

    Arguments:
        activation: a name from :data:`ACTIVATIONS` (``tanh``, ``relu``, ...) or an :class:`Activation`.

    Returns:
        the :class:`Activation` (one given is passed through).

    Raises:
        ValueError: an unknown name, listing the known ones.
    """
    if isinstance(activation, Activation):
        return activation
    return ACTIVATIONS[activation]
