"""Continuous-time gated units in torch's gate conventions: their ``dt = tau`` Euler steps are
``torch.nn.GRUCell`` and ``torch.nn.LSTMCell``."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_tensor, check_count, check_positive, check_positive_int, check_shape
from ._base import System, constructor_arguments
from ._rate import make_generator


class _Gated(System):
    """Shared weights ``weight_ih (G n, m)``, ``weight_hh (G n, n)``, ``bias_ih``, ``bias_hh`` (torch's
    names and layout), drawn ``U(-1/sqrt(n), 1/sqrt(n))`` like torch when not given."""

    gates: int

    def __init__(self, n: int, n_inputs: int, *, tau: float, weight_ih: Any, weight_hh: Any, bias_ih: Any,
                 bias_hh: Any, seed: int | torch.Generator | None):
        super().__init__()
        n = check_positive_int(n, "n")
        n_inputs = check_count(n_inputs, "n_inputs")
        self.hidden, self.input_dim, self.tau = n, n_inputs, check_positive(float(tau), "tau")
        gen, self.seed = make_generator(seed)
        bound = 1.0 / math.sqrt(n)
        shapes = self._weight_shapes(n, n_inputs)
        given = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}
        dtype = next((as_tensor(v, k).dtype for k, v in given.items() if v is not None), torch.get_default_dtype())
        for name, shape in shapes.items():
            if given[name] is None:
                value = (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound
            else:
                value = as_tensor(given[name], name)
                check_shape(value, name, shape)
            setattr(self, name, nn.Parameter(value.to(dtype)))
        self.check_parameters()  # given weights finite

    @classmethod
    def _weight_shapes(cls, n: int, m: int) -> dict[str, tuple[int, ...]]:
        G = cls.gates
        return {"weight_ih": (G * n, m), "weight_hh": (G * n, n), "bias_ih": (G * n,), "bias_hh": (G * n,)}

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        args = constructor_arguments(cls, config)
        check_positive(args["tau"], "tau")
        return cls._weight_shapes(check_positive_int(args["n"], "n"), check_count(args["n_inputs"], "n_inputs"))

    def check_parameters(self) -> None:
        super().check_parameters()
        check_positive(self.tau, "tau")

    def _gates(self, h: torch.Tensor, u: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        gi = self.bias_ih if u is None else F.linear(u, self.weight_ih, self.bias_ih)
        return gi, F.linear(h, self.weight_hh, self.bias_hh)

    def config(self) -> dict[str, Any]:
        return {"n": self.hidden, "n_inputs": self.input_dim, "tau": self.tau, "seed": self.seed}


class GRUODE(_Gated):
    r"""Continuous GRU: ``dh/dt = (1 - z) * (n - h) / tau`` with torch's gates (rows ``[r; z; n]``,
    reset applied after the matmul): ``r = sigma(W_ir u + b_ir + W_hr h + b_hr)``,
    ``z = sigma(W_iz u + b_iz + W_hz h + b_hz)``, ``n = tanh(W_in u + b_in + r * (W_hn h + b_hn))``.
    Its Euler step with ``dt = tau`` is exactly ``torch.nn.GRUCell``.

    Arguments:
        n: hidden size.
        n_inputs: input size.
        tau: time constant (> 0).
        weight_ih: ``(3n, m)`` in torch's layout; drawn like torch's when ``None``, from ``seed``.
        weight_hh: ``(3n, n)``, likewise.
        bias_ih: ``(3n,)``, likewise.
        bias_hh: ``(3n,)``, likewise.
        seed: an int or a ``torch.Generator`` for the weights not given.
    """

    gates = 3

    def __init__(self, n: int, n_inputs: int = 0, *, tau: float = 1.0, weight_ih: Any = None, weight_hh: Any = None,
                 bias_ih: Any = None, bias_hh: Any = None, seed: int | torch.Generator | None = None):
        super().__init__(n, n_inputs, tau=tau, weight_ih=weight_ih, weight_hh=weight_hh, bias_ih=bias_ih,
                         bias_hh=bias_hh, seed=seed)
        self.state_dim = n

    def _update(self, h: torch.Tensor, u: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, n)``: the update gate and the candidate state."""
        gi, gh = self._gates(h, u)
        i_r, i_z, i_n = gi.chunk(3, -1)
        h_r, h_z, h_n = gh.chunk(3, -1)
        r = torch.sigmoid(i_r + h_r)
        return torch.sigmoid(i_z + h_z), torch.tanh(i_n + r * h_n)

    def forward(self, t: torch.Tensor, h: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        z, cand = self._update(h, u)
        return (1 - z) * (cand - h) / self.tau

    def leak(self, h: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return (1 - self._update(h, u)[0]) / self.tau

    def describe(self) -> str:
        return f"GRUODE n={self.hidden}, inputs={self.input_dim}, tau={self.tau:g}: dh/dt = (1 - z)(n - h) / tau"


class LSTMODE(_Gated):
    r"""Continuous LSTM with state ``[h, c]`` (``state_dim = 2n``), torch's gate order ``i, f, g, o``:
    ``tau dc/dt = f c + i g - c`` and ``tau dh/dt = o tanh(c) - h``, the gates computed from ``(u, h)``.

    Its Euler scheme is staggered: the cell first, then the hidden state from the new cell,
    ``c' = c + a (f c + i g - c)``, ``h' = h + a (o tanh(c') - h)`` with ``a = dt / tau`` and the gates of
    ``(u, h)``; with ``dt = tau`` this is exactly ``torch.nn.LSTMCell``.
    """

    gates = 4

    def __init__(self, n: int, n_inputs: int = 0, *, tau: float = 1.0, weight_ih: Any = None, weight_hh: Any = None,
                 bias_ih: Any = None, bias_hh: Any = None, seed: int | torch.Generator | None = None):
        super().__init__(n, n_inputs, tau=tau, weight_ih=weight_ih, weight_hh=weight_hh, bias_ih=bias_ih,
                         bias_hh=bias_hh, seed=seed)
        self.state_dim = 2 * n

    def state_parts(self) -> dict[str, slice]:
        """The hidden state ``h`` and the cell ``c`` within ``x = [h, c]``."""
        n = self.state_dim // 2
        return {"h": slice(0, n), "c": slice(n, 2 * n)}

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[..., : self.hidden], x[..., self.hidden:]

    def _gate_values(self, h: torch.Tensor, u: torch.Tensor | None):
        gi, gh = self._gates(h, u)
        i, f, g, o = (gi + gh).chunk(4, -1)
        return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        h, c = self._split(x)
        i, f, g, o = self._gate_values(h, u)
        return torch.cat([o * torch.tanh(c) - h, f * c + i * g - c], -1) / self.tau

    def euler_step(self, x: torch.Tensor, u: torch.Tensor | None, dt: float | torch.Tensor) -> torch.Tensor:
        a = dt / self.tau
        h, c = self._split(x)
        i, f, g, o = self._gate_values(h, u)
        c_next = c + a * (f * c + i * g - c)
        return torch.cat([h + a * (o * torch.tanh(c_next) - h), c_next], -1)

    def leak(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return torch.full_like(x[..., :1], 1.0 / self.tau)

    def describe(self) -> str:
        return (f"LSTMODE n={self.hidden}, inputs={self.input_dim}, tau={self.tau:g}: "
                "tau dc/dt = f c + i g - c, tau dh/dt = o tanh(c) - h; state [h, c]")
