"""Beer's continuous-time recurrent neural network (Beer 1995)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._validation import as_tensor, check_all_positive, check_square, per_unit
from ._base import System, constructor_arguments
from ._stacked import per_network


class BeerCTRNN(System):
    r"""``tau_i dy_i/dt = -y_i + sum_j W_ij sigma(g_j (y_j + theta_j)) + I_i`` with logistic ``sigma``.

    Arguments:
        weights: ``(n, n)``, ``weights[i, j]`` is the connection from neuron j to neuron i.
        taus: time constants, scalar or ``(n,)``, > 0.
        biases: ``theta``, scalar or ``(n,)``.
        gains: ``g``, scalar or ``(n,)``.

    The external input ``I`` is the system's input: ``input_dim = n`` (zero when no input is given).

    Raises:
        ValueError: if ``weights`` is not square, a parameter has the wrong shape, is non-finite,
            or a time constant is not positive.
    """

    def __init__(self, weights: torch.Tensor, *, taus: float | torch.Tensor = 1.0,
                 biases: float | torch.Tensor = 0.0, gains: float | torch.Tensor = 1.0):
        super().__init__()
        W = as_tensor(weights, "weights")
        check_square(W, "weights")
        n = W.shape[0]
        self.state_dim = self.input_dim = n
        dtype = W.dtype
        self.weights = nn.Parameter(W)
        self.biases = nn.Parameter(per_unit(biases, "biases", n, dtype=dtype))
        self.gains = nn.Parameter(per_unit(gains, "gains", n, dtype=dtype))
        self.register_buffer("taus", per_unit(taus, "taus", n, positive=True, dtype=dtype))
        self.check_parameters()  # the weights finite

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        args = constructor_arguments(cls, config)
        W = as_tensor(args["weights"], "weights")  # the config holds the weights themselves
        check_square(W, "weights")
        n = W.shape[0]
        per_unit_shapes = {k: (n,) if isinstance(args[k], list) else () for k in ("biases", "gains", "taus")}
        return {"weights": (n, n), **per_unit_shapes}

    def check_parameters(self) -> None:
        super().check_parameters()
        check_all_positive(self.taus, "taus")

    def _argument(self, y: torch.Tensor) -> torch.Tensor:
        return self.gains * (y + self.biases)

    def forward(self, t: torch.Tensor, y: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        rhs = torch.sigmoid(self._argument(y)) @ self.weights.T - y
        if u is not None:
            rhs = rhs + u
        return rhs / self.taus

    def jacobian(self, y: torch.Tensor, u: torch.Tensor | None = None,
                 t: torch.Tensor | float = 0.0) -> torch.Tensor:
        s = torch.sigmoid(self._argument(y))
        slope = s * (1.0 - s) * self.gains  # d sigma(g_j (y_j + theta_j)) / d y_j
        eye = torch.eye(self.state_dim, dtype=y.dtype, device=y.device)
        J = self.weights * slope[..., None, :] - eye
        return J / (self.taus if self.taus.ndim == 0 else self.taus[:, None])

    def leak(self, y: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return 1.0 / self.taus

    # the native stacked path (ctrnn.systems._stacked): P networks' tensors stacked along a leading axis, states
    # (P, B, n); the stacked JVP is this Jacobian times v, as the class's own
    def stacked_forward(self, T: dict[str, torch.Tensor], y: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """``forward`` of ``P`` stacked networks: ``y`` ``(P, B, n)``, ``u`` ``(P, B, n)`` or ``None``."""
        s = torch.sigmoid(per_network(T["gains"], 3) * (y + per_network(T["biases"], 3)))
        rhs = torch.bmm(s, T["weights"].mT) - y
        return (rhs if u is None else rhs + u) / per_network(T["taus"], 3)

    def stacked_leak(self, T: dict[str, torch.Tensor], x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """``leak`` of ``P`` stacked networks, broadcast to ``x``'s shape ``(P, B, n)``."""
        return torch.broadcast_to(1.0 / per_network(T["taus"], 3), x.shape)

    def stacked_jacobian(self, T: dict[str, torch.Tensor], y: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """``jacobian`` of ``P`` stacked networks, ``(P, B, n, n)``."""
        gains = per_network(T["gains"], 3)
        s = torch.sigmoid(gains * (y + per_network(T["biases"], 3)))
        eye = torch.eye(self.state_dim, dtype=y.dtype, device=y.device)
        J = T["weights"][:, None] * (s * (1.0 - s) * gains)[..., None, :] - eye
        return J / per_network(T["taus"], 4)

    def config(self) -> dict[str, Any]:
        return {"weights": self.weights.tolist(), "taus": self.taus.tolist(),
                "biases": self.biases.tolist(), "gains": self.gains.tolist()}

    def describe(self) -> str:
        return f"BeerCTRNN n={self.state_dim}: tau_i dy_i/dt = -y_i + sum_j W_ij sigma(g_j (y_j + theta_j)) + I_i"
