"""Selective state-space model (Mamba style): input-dependent step ``Delta(u)``, ``B(u)``, ``C(u)``."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_positive_int
from ._base import System, constructor_arguments
from ._rate import make_generator


class SelectiveSSM(System):
    r"""Mamba-style selective SSM read as a flow with one unit of time per token.

    For ``d`` channels with ``N`` states each (state ``x`` of shape ``(*batch, d * N)``, channel-major):
    ``dx_dn/dt = Delta_d(u) (A_dn x_dn + B_n(u) u_d)``, output ``y_d = sum_n C_n(u) x_dn + D_d u_d``, with
    ``Delta(u) = softplus(W_delta u + delta_bias)`` ``(d,)``, ``B(u) = W_B u``, ``C(u) = W_C u`` ``(N,)`` and
    ``A = -exp(A_log)``. While an input is held, Delta, B and C are constant, so the ``zoh`` map with
    ``dt = 1`` is the exact solution over one token and the ``mamba`` map (ZOH for A, Euler for B) is
    Mamba's recurrence ``x_k = exp(Delta A) x_{k-1} + Delta B u_k``.

    Arguments:
        d: channels (= input size m).
        n_state: ``N``, states per channel.
        seed: initialisation: ``A_log = log(1 .. N)`` per channel (S4D-Real, as Mamba), ``delta_bias``
            so that ``Delta`` starts in ``[1e-3, 1e-1]`` (log-uniform), projections ``N(0, 1/d)``, ``D = 1``.
    """

    def __init__(self, d: int, n_state: int = 16, *, seed: int | torch.Generator | None = None):
        super().__init__()
        d, N = check_positive_int(d, "d"), check_positive_int(n_state, "n_state")
        gen, self.seed = make_generator(seed)
        dtype = torch.get_default_dtype()
        self.channels, self.n_state = d, N
        self.state_dim, self.input_dim, self.output_dim = d * N, d, d
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=dtype)).repeat(d, 1))
        delta0 = torch.exp(torch.rand(d, generator=gen, dtype=torch.float64) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        self.delta_bias = nn.Parameter((delta0 + torch.log(-torch.expm1(-delta0))).to(dtype))  # softplus^-1
        scale = 1.0 / math.sqrt(d)
        self.W_delta = nn.Parameter((torch.randn(d, d, generator=gen, dtype=torch.float64) * scale).to(dtype))
        self.W_B = nn.Parameter((torch.randn(N, d, generator=gen, dtype=torch.float64) * scale).to(dtype))
        self.W_C = nn.Parameter((torch.randn(N, d, generator=gen, dtype=torch.float64) * scale).to(dtype))
        self.D = nn.Parameter(torch.ones(d, dtype=dtype))
        self.check_parameters()

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        args = constructor_arguments(cls, config)
        d, N = check_positive_int(args["d"], "d"), check_positive_int(args["n_state"], "n_state")
        return {"A_log": (d, N), "delta_bias": (d,), "W_delta": (d, d), "W_B": (N, d), "W_C": (N, d), "D": (d,)}

    @property
    def A(self) -> torch.Tensor:
        """``(d, N)``, negative: every mode decays."""
        return -torch.exp(self.A_log)

    def selection(self, u: torch.Tensor | None, batch: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(Delta (*batch, d), B (*batch, N), C (*batch, N), u (*batch, d))`` for input ``u`` (zero if ``None``)."""
        if u is None:
            u = torch.zeros(*batch, self.channels, dtype=self.A_log.dtype, device=self.A_log.device)
        delta = F.softplus(F.linear(u, self.W_delta, self.delta_bias))
        return delta, F.linear(u, self.W_B), F.linear(u, self.W_C), u

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        X = x.reshape(*x.shape[:-1], self.channels, self.n_state)
        delta, B, _, u = self.selection(u, x.shape[:-1])
        dX = delta[..., None] * (self.A * X + B[..., None, :] * u[..., :, None])
        return dX.reshape(x.shape)

    def output(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """``y_d = sum_n C_n(u) x_dn + D_d u_d``, shape ``(*batch, d)``."""
        X = x.reshape(*x.shape[:-1], self.channels, self.n_state)
        _, _, C, u = self.selection(u, x.shape[:-1])
        return (X * C[..., None, :]).sum(-1) + self.D * u

    def leak(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        delta = self.selection(u, x.shape[:-1])[0]
        return (-delta[..., None] * self.A).reshape(*delta.shape[:-1], self.state_dim)

    def config(self) -> dict[str, Any]:
        return {"d": self.channels, "n_state": self.n_state, "seed": self.seed}

    def describe(self) -> str:
        return (f"SelectiveSSM d={self.channels}, N={self.n_state}: dx/dt = Delta(u) (A x + B(u) u), "
                "y = C(u) x + D u")
