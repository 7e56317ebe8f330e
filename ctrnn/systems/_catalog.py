"""Models by name, for configs and the command line: ``build_system("rate", {"n": 64}, seed=0)``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from .._errors import ConfigError
from .._registry import Registry
from ._base import System
from ._beer import BeerCTRNN
from ._rate import RateRNN
from ._reference import Lorenz, Rossler, VanDerPol


def _rate(n: int = 128, n_inputs: int = 0, form: str = "x", activation: str = "tanh", tau: float = 1.0,
          g: float = 1.5, zero_diagonal: bool = False, dale: float | None = None, *,
          seed: int | None = None) -> RateRNN:
    return RateRNN(n, n_inputs=n_inputs, form=form, activation=activation, tau=tau, g=g,
                   zero_diagonal=zero_diagonal, dale=dale, seed=seed)


def _beer(weights: list | None = None, taus: float | list = 1.0, biases: float | list | None = None,
          gains: float | list = 1.0, *, seed: int | None = None) -> BeerCTRNN:
    # default: a two-neuron oscillator (a stable limit cycle) in Beer's (1995) parameter family
    if weights is None:
        weights = [[4.5, 1.0], [-1.0, 4.5]]
        biases = [-2.75, -1.75] if biases is None else biases
    dtype = torch.get_default_dtype()
    return BeerCTRNN(torch.tensor(weights, dtype=dtype), taus=torch.tensor(taus, dtype=dtype),
                     biases=torch.tensor(0.0 if biases is None else biases, dtype=dtype),
                     gains=torch.tensor(gains, dtype=dtype))


def _lorenz(sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0, *, seed: int | None = None) -> Lorenz:
    return Lorenz(sigma, rho, beta)


def _rossler(a: float = 0.2, b: float = 0.2, c: float = 5.7, *, seed: int | None = None) -> Rossler:
    return Rossler(a, b, c)


def _vanderpol(mu: float = 1.0, *, seed: int | None = None) -> VanDerPol:
    return VanDerPol(mu)


MODELS: Registry[Callable[..., System]] = Registry("model")
MODELS.register("rate", _rate)
MODELS.register("beer", _beer)
MODELS.register("lorenz", _lorenz)
MODELS.register("rossler", _rossler)
MODELS.register("vanderpol", _vanderpol)


def model_parameters(kind: str) -> dict[str, Any]:
    """The parameters a named model takes, with their defaults."""
    sig = inspect.signature(MODELS[kind])
    return {name: p.default for name, p in sig.parameters.items() if p.kind is not p.KEYWORD_ONLY}


def build_system(kind: str, params: dict[str, Any] | None = None, *, seed: int | None = None) -> System:
    """Build a named model (``rate``, ``beer``, ``lorenz``, ``rossler``, ``vanderpol``).

    Arguments:
        kind: the model's name.
        params: keyword parameters; an unknown name is an error listing the valid ones.
        seed: for models with random weights.

    Raises:
        ValueError: unknown model; ConfigError: unknown parameter.
    """
    factory = MODELS[kind]
    valid = model_parameters(kind)
    params = dict(params or {})
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(map(repr, unknown))} for model {kind!r}; "
                          f"valid: {', '.join(valid)}")
    return factory(**params, seed=seed)
