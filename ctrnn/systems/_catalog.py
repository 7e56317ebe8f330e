"""Models by name, for configs and the command line: ``build_system("rate", {"n": 64}, seed=0)``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from .._errors import ConfigError
from .._registry import Registry
from .._validation import check_seed
from ._base import System
from ._beer import BeerCTRNN
from ._gated import GRUODE, LSTMODE
from ._selective import SelectiveSSM
from ._ssm import DiagonalSSM, LinearSSM
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


def _gru(n: int = 32, n_inputs: int = 1, tau: float = 1.0, *, seed: int | None = None) -> GRUODE:
    return GRUODE(n, n_inputs, tau=tau, seed=seed)


def _lstm(n: int = 32, n_inputs: int = 1, tau: float = 1.0, *, seed: int | None = None) -> LSTMODE:
    return LSTMODE(n, n_inputs, tau=tau, seed=seed)


def _linear(n: int = 8, m: int = 1, decay: float = 0.5, *, seed: int | None = None) -> LinearSSM:
    """A random stable system ``dx/dt = A x + B u`` observed in full (``C = I``, ``D = 0``).

    ``A = J - (1 + decay) I`` with ``J_ij ~ N(0, 1/n)``: J's eigenvalues fill the unit disc as n grows
    (circular law), so A's fill the unit disc around ``-(1 + decay)`` and the slowest mode decays at
    about ``decay`` per time unit (finite n spreads the edge by a few percent at n = 400, more at the
    default n = 8). ``B_ij ~ N(0, 1)``.
    """
    gen = torch.Generator().manual_seed(0 if seed is None else check_seed(seed))
    dtype = torch.get_default_dtype()
    # the shift is 1 + decay, not decay: J's spectrum reaches Re = 1, so this keeps every mode decaying
    A = torch.randn(n, n, generator=gen, dtype=torch.float64) / n**0.5 - (1 + decay) * torch.eye(n, dtype=torch.float64)
    B = torch.randn(n, m, generator=gen, dtype=torch.float64)
    return LinearSSM(A.to(dtype), B.to(dtype))


def _s4d(n: int = 16, m: int = 1, *, seed: int | None = None) -> DiagonalSSM:
    return DiagonalSSM.s4d_lin(n, m, seed=seed)


def _lru(n: int = 16, m: int = 1, r_min: float = 0.9, r_max: float = 0.999, *, seed: int | None = None) -> DiagonalSSM:
    return DiagonalSSM.lru(n, m, r_min=r_min, r_max=r_max, seed=seed)


def _selective(d: int = 4, n_state: int = 16, *, seed: int | None = None) -> SelectiveSSM:
    return SelectiveSSM(d, n_state, seed=seed)


MODELS: Registry[Callable[..., System]] = Registry("model")
MODELS.register("rate", _rate)
MODELS.register("beer", _beer)
MODELS.register("lorenz", _lorenz)
MODELS.register("rossler", _rossler)
MODELS.register("vanderpol", _vanderpol)
MODELS.register("gru", _gru)
MODELS.register("lstm", _lstm)
MODELS.register("linear", _linear)
MODELS.register("s4d", _s4d)
MODELS.register("lru", _lru)
MODELS.register("selective", _selective)


def model_parameters(kind: str) -> dict[str, Any]:
    """The parameters a named model takes, with their defaults.

    Arguments:
        kind: a model name from :data:`MODELS`.

    Returns:
        parameter name -> default value, in the constructor's order.

    Raises:
        ValueError: an unknown model name.
    """
    sig = inspect.signature(MODELS[kind])
    return {name: p.default for name, p in sig.parameters.items() if p.kind is not p.KEYWORD_ONLY}


def build_system(kind: str, params: dict[str, Any] | None = None, *, seed: int | None = None) -> System:
    """Build a named model (``rate``, ``beer``, ``gru``, ``lstm``, ``linear``, ``s4d``, ``lru``, ``selective``,
    ``lorenz``, ``rossler``, ``vanderpol``).

    Arguments:
        kind: the model's name.
        params: keyword parameters; an unknown name is an error listing the valid ones.
        seed: for models with random weights.

    Returns:
        the model, a :class:`~ctrnn.System`, in torch's default dtype.

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
