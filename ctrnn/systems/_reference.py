"""Classic systems with published answers, used to validate the analysis.

Their parameters are plain floats, so dtype and device follow the state they are given; a constructor raises
``ValueError`` for one that is NaN or Inf.
"""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_number
from ._base import System, constructor_arguments


class _Reference(System):
    """A reference system; its parameters are checked finite numbers (``TypeError`` / ``ValueError`` naming them)."""

    input_dim = 0

    def _set(self, **params: Any) -> None:
        for name, value in params.items():
            setattr(self, name, check_number(value, name))
        self._params = {name: getattr(self, name) for name in params}

    def config(self) -> dict[str, Any]:
        return dict(self._params)

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        for name, value in constructor_arguments(cls, config).items():
            check_number(value, name)  # as the constructor checks it
        return {}  # plain floats: no tensors

    def check_parameters(self) -> None:
        for name, value in self._params.items():
            check_number(value, name)

    def describe(self) -> str:
        params = ", ".join(f"{k}={v:g}" for k, v in self._params.items())
        return f"{type(self).__name__} ({params}): {self.equations}"

    def _stack(self, parts: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(parts, dim=-1)


class Lorenz(_Reference):
    """Lorenz-63: ``x' = sigma (y - x)``, ``y' = x (rho - z) - y``, ``z' = x y - beta z``.

    Raises:
        TypeError: a parameter that is not a number. ValueError: a NaN or infinite parameter.
    """

    state_dim = 3
    equations = "x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z"

    def __init__(self, sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0):
        super().__init__()
        self._set(sigma=sigma, rho=rho, beta=beta)

    def forward(self, t: torch.Tensor, s: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        x, y, z = s.unbind(-1)
        return self._stack([self.sigma * (y - x), x * (self.rho - z) - y, x * y - self.beta * z])

    def jacobian(self, s: torch.Tensor, u: torch.Tensor | None = None,
                 t: torch.Tensor | float = 0.0) -> torch.Tensor:
        x, y, z = s.unbind(-1)
        one, zero = torch.ones_like(x), torch.zeros_like(x)
        rows = [self._stack([-self.sigma * one, self.sigma * one, zero]),
                self._stack([self.rho - z, -one, -x]),
                self._stack([y, x, -self.beta * one])]
        return torch.stack(rows, dim=-2)

    def jvp(self, s: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        many = v.ndim == s.ndim + 1  # (*batch, 3, k): k tangent vectors as columns
        x, y, z = (c[..., None] if many else c for c in s.unbind(-1))
        vx, vy, vz = v.unbind(-2 if many else -1)
        out = [self.sigma * (vy - vx), (self.rho - z) * vx - vy - x * vz, y * vx + x * vy - self.beta * vz]
        return torch.stack(out, dim=-2 if many else -1)


class Rossler(_Reference):
    """Rössler: ``x' = -y - z``, ``y' = x + a y``, ``z' = b + z (x - c)``.

    Raises:
        TypeError: a parameter that is not a number. ValueError: a NaN or infinite parameter.
    """

    state_dim = 3
    equations = "x' = -y - z, y' = x + a y, z' = b + z (x - c)"

    def __init__(self, a: float = 0.2, b: float = 0.2, c: float = 5.7):
        super().__init__()
        self._set(a=a, b=b, c=c)

    def forward(self, t: torch.Tensor, s: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        x, y, z = s.unbind(-1)
        return self._stack([-y - z, x + self.a * y, self.b + z * (x - self.c)])

    def jacobian(self, s: torch.Tensor, u: torch.Tensor | None = None,
                 t: torch.Tensor | float = 0.0) -> torch.Tensor:
        x, y, z = s.unbind(-1)
        one, zero = torch.ones_like(x), torch.zeros_like(x)
        rows = [self._stack([zero, -one, -one]),
                self._stack([one, self.a * one, zero]),
                self._stack([z, zero, x - self.c])]
        return torch.stack(rows, dim=-2)


class VanDerPol(_Reference):
    """Van der Pol ``x'' - mu (1 - x^2) x' + x = 0`` as ``x' = v``, ``v' = mu (1 - x^2) v - x``.

    Raises:
        TypeError: a parameter that is not a number. ValueError: a NaN or infinite parameter.
    """

    state_dim = 2
    equations = "x' = v, v' = mu (1 - x^2) v - x"

    def __init__(self, mu: float = 1.0):
        super().__init__()
        self._set(mu=mu)

    def forward(self, t: torch.Tensor, s: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        x, v = s.unbind(-1)
        return self._stack([v, self.mu * (1.0 - x * x) * v - x])

    def jacobian(self, s: torch.Tensor, u: torch.Tensor | None = None,
                 t: torch.Tensor | float = 0.0) -> torch.Tensor:
        x, v = s.unbind(-1)
        rows = [self._stack([torch.zeros_like(x), torch.ones_like(x)]),
                self._stack([-2.0 * self.mu * x * v - 1.0, self.mu * (1.0 - x * x)])]
        return torch.stack(rows, dim=-2)
