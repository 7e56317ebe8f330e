"""Rate networks in the Sompolinsky (x-form) and Yang et al. 2019 (r-form) conventions."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import (as_tensor, check_all_positive, check_count, check_positive_int, check_seed, check_shape,
                           per_unit)
from ._activations import Activation, get_activation
from ._base import System, constructor_arguments
from ._stacked import per_network


def make_generator(seed: int | torch.Generator | None) -> tuple[torch.Generator, int | None]:
    """A CPU generator from an explicit seed (a fresh, recorded seed when ``None``); global RNG untouched."""
    if isinstance(seed, torch.Generator):
        return seed, None
    gen = torch.Generator()
    if seed is None:
        return gen, gen.seed()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, a torch.Generator or None, got {type(seed).__name__}")
    gen.manual_seed(check_seed(seed))
    return gen, seed


class RateRNN(System):
    r"""Continuous-time rate network.

    x-form (Sompolinsky et al. 1988; PsychRNN):  ``tau dx/dt = -x + W phi(x) + W_in u + b``.
    r-form (Yang et al. 2019):                   ``tau dr/dt = -r + phi(W r + W_in u + b)``.
    Euler with ``dt = tau`` of the r-form is exactly ``torch.nn.RNN``.

    Arguments:
        n: number of units.
        n_inputs: input size ``m`` (0: autonomous).
        form: ``"x"`` or ``"r"``.
        activation: a registered name (tanh, relu, softplus, sigmoid, linear) or an ``Activation``.
        tau: time constant, scalar or per unit ``(n,)``, in the model's time units.
        g: gain of the random initialisation ``W_ij ~ N(0, g^2 / n)`` (ignored when ``W`` is given).
        W, W_in, bias: explicit weights ``(n, n)``, ``(n, m)``, ``(n,)``; random / zero when ``None``.
            ``W_in`` is initialised ``N(0, 1/m)``; ``bias`` zero.
        zero_diagonal: zero the diagonal of the initial ``W`` (no self-coupling). Applied at
            construction; training can make it non-zero again.
        dale: excitatory fraction in (0, 1) to impose Dale's law: the recurrent matrix used is
            ``W_eff = |W| @ diag(sign)`` with the first ``round(dale * n)`` units excitatory. The random
            initial magnitudes of inhibitory columns are scaled by ``n_E / n_I`` so each row's expected
            input sums to zero (balanced E/I, as in Rajan & Abbott 2006).
        seed: int or ``torch.Generator`` for the random initialisation; ``None`` draws a fresh seed
            and records it in :meth:`config`.

    Attributes:
        W: ``(n, n)`` recurrent weights (``W[i, j]`` from unit j to unit i), a parameter.
        W_in: ``(n, m)`` input weights, a parameter.
        bias: ``(n,)``, a parameter.
        tau: ``()`` or ``(n,)`` time constant(s), a buffer.

    Raises:
        ValueError: on shapes that do not match ``n`` / ``n_inputs``, non-finite weights, ``tau <= 0``,
            an unknown form or activation, or ``dale`` outside (0, 1).
    """

    construction_only = frozenset({"seed", "g", "zero_diagonal"})

    def __init__(self, n: int, *, n_inputs: int = 0, form: str = "x", activation: str | Activation = "tanh",
                 tau: float | torch.Tensor = 1.0, g: float = 1.5, W: torch.Tensor | None = None,
                 W_in: torch.Tensor | None = None, bias: torch.Tensor | None = None,
                 zero_diagonal: bool = False, dale: float | None = None,
                 seed: int | torch.Generator | None = None):
        super().__init__()
        n = check_positive_int(n, "n")
        n_inputs = check_count(n_inputs, "n_inputs")
        if form not in ("x", "r"):
            raise ValueError(f"unknown form {form!r}; choose one of: r, x")
        if dale is not None and not (0.0 < float(dale) < 1.0):
            raise ValueError(f"dale is the excitatory fraction and must lie in (0, 1), got {dale}")
        if isinstance(g, bool) or not isinstance(g, (int, float)):
            raise TypeError(f"g must be a number, got {type(g).__name__}")
        if not math.isfinite(g) or g < 0:
            raise ValueError(f"g must be a finite number >= 0, got {g}")
        self.state_dim, self.input_dim = n, n_inputs
        self.form = form
        self.phi = get_activation(activation)
        self.g = float(g)
        self.zero_diagonal = bool(zero_diagonal)
        self.dale = None if dale is None else float(dale)
        gen, self.seed = make_generator(seed)
        # random draws are float64 (same network in every dtype) and take the default dtype;
        # explicit weights keep theirs
        target = torch.get_default_dtype() if W is None else as_tensor(W, "W").dtype

        if W is None:
            # drawn in float64 so the same seed gives the same network in every dtype
            W = torch.randn(n, n, generator=gen, dtype=torch.float64) * (g / math.sqrt(n))
            if self.dale is not None:
                n_exc = self._n_excitatory(n, self.dale)
                W = W.abs()
                W[:, n_exc:] *= n_exc / (n - n_exc)
        else:
            W = as_tensor(W, "W")
            check_shape(W, "W", (n, n))
        if zero_diagonal:
            W = W.clone()
            W.fill_diagonal_(0.0)
        if W_in is None:
            W_in = torch.randn(n, n_inputs, generator=gen, dtype=torch.float64) / math.sqrt(max(n_inputs, 1))
        else:
            W_in = as_tensor(W_in, "W_in")
            check_shape(W_in, "W_in", (n, n_inputs))
        bias = torch.zeros(n, dtype=torch.float64) if bias is None else as_tensor(bias, "bias")
        check_shape(bias, "bias", (n,))
        self.W = nn.Parameter(W.to(target))
        self.W_in = nn.Parameter(W_in.to(target))
        self.bias = nn.Parameter(bias.to(target))
        self.register_buffer("tau", per_unit(tau, "tau", n, positive=True, dtype=target))
        if self.dale is not None:
            sign = torch.ones(n, dtype=target)
            sign[self._n_excitatory(n, self.dale):] = -1.0
            self.register_buffer("sign", sign)
        self.check_parameters()  # W, W_in and bias finite (in the dtype they are kept in), tau > 0

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        args = constructor_arguments(cls, config)
        n, m = check_positive_int(args["n"], "n"), check_count(args["n_inputs"], "n_inputs")
        shapes = {"W": (n, n), "W_in": (n, m), "bias": (n,), "tau": (n,) if isinstance(args["tau"], list) else ()}
        if args["dale"] is not None:
            shapes["sign"] = (n,)
        return shapes

    def check_parameters(self) -> None:
        super().check_parameters()
        check_all_positive(self.tau, "tau")

    @staticmethod
    def _n_excitatory(n: int, fraction: float) -> int:
        n_exc = round(fraction * n)
        if not 0 < n_exc < n:
            raise ValueError(f"dale={fraction} leaves no excitatory or no inhibitory unit for n={n}")
        return n_exc

    @property
    def W_eff(self) -> torch.Tensor:
        """The recurrent matrix the dynamics use: ``W``, or ``|W| @ diag(sign)`` under Dale's law."""
        if self.dale is None:
            return self.W
        return self.W.abs() * self.sign

    def _drive(self, x: torch.Tensor, u: torch.Tensor | None, W: torch.Tensor) -> torch.Tensor:
        """x-form: ``W phi(x) + W_in u + b``; r-form: ``W r + W_in u + b`` (the argument of phi)."""
        a = F.linear(self.phi(x) if self.form == "x" else x, W, self.bias)
        if u is not None:
            a = a + F.linear(u, self.W_in)
        return a

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        a = self._drive(x, u, self.W_eff)
        rhs = a - x if self.form == "x" else self.phi(a) - x
        return rhs / self.tau

    def _tau_column(self, x: torch.Tensor) -> torch.Tensor:
        return self.tau if self.tau.ndim == 0 else self.tau[:, None]

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None,
                 t: torch.Tensor | float = 0.0) -> torch.Tensor:
        W = self.W_eff
        rate = 1.0 / self.tau
        scaled = W * (rate if rate.ndim == 0 else rate[:, None])  # row i over tau_i
        return self._jacobian_from(scaled, rate, x if self.form == "x" else self._drive(x, u, W))

    def _jacobian_from(self, scaled: torch.Tensor, rate: torch.Tensor, argument: torch.Tensor) -> torch.Tensor:
        """``(W / tau) D - diag(1 / tau)`` in one pass over the ``(..., n, n)`` result and then its diagonal (not
        ``(W D - I) / tau``: three passes, and the batch of Jacobians is the memory-bound part of a fixed-point
        search); ``D`` is phi' at ``argument`` (x-form: scales columns; r-form: rows). One network or stacked."""
        d = self.phi.derivative(argument)
        J = scaled * d[..., None, :] if self.form == "x" else d[..., :, None] * scaled
        J.diagonal(dim1=-2, dim2=-1).sub_(rate)
        return J

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        W = self.W_eff
        many = v.ndim == x.ndim + 1  # (*batch, n, k): k tangent vectors as columns
        # einsum, not W @ v, for batched tangents: a broadcast matmul copies W per batch element (and per network
        # under vmap); one state's (n, k) tangents are one plain mm (einsum's batch-of-one bmm was 20% slower)
        product = torch.mm if v.ndim == 2 and many else (lambda A, B: torch.einsum("ij,...jk->...ik", A, B))
        if self.form == "x":
            d = self.phi.derivative(x)
            Jv = product(W, d[..., None] * v) if many else F.linear(d * v, W)
        else:
            d = self.phi.derivative(self._drive(x, u, W))
            Jv = d[..., None] * product(W, v) if many else d * F.linear(v, W)
        # in place on the fresh product (its backward needs only its inputs): two passes fewer over (n, k)
        return Jv.sub_(v).div_(self._tau_column(x) if many else self.tau)

    def leak(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return 1.0 / self.tau

    # -- the native stacked path (ctrnn.systems._stacked): the math above on P networks at once, their tensors
    # stacked along a leading axis (W (P, n, n); tau, bias, sign (P,) or (P, n)) and states (P, B, n): one batched
    # product per call where torch.vmap would cost milliseconds of set-up per linear layer
    def _stacked_W(self, T: dict[str, torch.Tensor]) -> torch.Tensor:
        return T["W"] if self.dale is None else T["W"].abs() * T["sign"][:, None, :]

    def _stacked_drive(self, T: dict[str, torch.Tensor], x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        a = torch.baddbmm(T["bias"][:, None, :], self.phi(x) if self.form == "x" else x, self._stacked_W(T).mT)
        return a if u is None else a.baddbmm(u, T["W_in"].mT)

    def stacked_forward(self, T: dict[str, torch.Tensor], x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """:meth:`forward` of ``P`` stacked networks: ``x`` ``(P, B, n)``, ``u`` ``(P, B, m)`` or ``None``."""
        a = self._stacked_drive(T, x, u)
        return ((a - x) if self.form == "x" else (self.phi(a) - x)) / per_network(T["tau"], 3)

    def stacked_leak(self, T: dict[str, torch.Tensor], x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """:meth:`leak` of ``P`` stacked networks, broadcast to ``x``'s shape ``(P, B, n)``."""
        return torch.broadcast_to(1.0 / per_network(T["tau"], 3), x.shape)

    def stacked_jacobian(self, T: dict[str, torch.Tensor], x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """:meth:`jacobian` of ``P`` stacked networks, ``(P, B, n, n)``."""
        rate = 1.0 / T["tau"]
        scaled = self._stacked_W(T)[:, None] * per_network(rate, 4)  # (P, 1, n, n), row i over tau_i
        argument = x if self.form == "x" else self._stacked_drive(T, x, u)
        return self._jacobian_from(scaled, per_network(rate, 3), argument)

    def stacked_jvp(self, T: dict[str, torch.Tensor], x: torch.Tensor, v: torch.Tensor,
                    u: torch.Tensor | None) -> torch.Tensor:
        """:meth:`jvp` of ``P`` stacked networks: ``v`` ``(P, B, n)`` or ``(P, B, n, k)``."""
        W = self._stacked_W(T)
        many = v.ndim == 4
        if self.form == "x":
            d = self.phi.derivative(x)
            Jv = torch.einsum("pij,pbjk->pbik", W, d[..., None] * v) if many else torch.bmm(d * v, W.mT)
        else:
            d = self.phi.derivative(self._stacked_drive(T, x, u))
            Jv = d[..., None] * torch.einsum("pij,pbjk->pbik", W, v) if many else d * torch.bmm(v, W.mT)
        return Jv.sub_(v).div_(per_network(T["tau"], v.ndim))  # in place on the fresh product, as jvp does

    def fused_rollout(self, x0: torch.Tensor, inputs: torch.Tensor | None, steps: int, dt: float | torch.Tensor,
                      scheme: str) -> torch.Tensor | None:
        """The ``euler`` / ``exp_euler`` rollout in few operations per step, for training and long rollouts.

        Both schemes are the leaky update ``x_k = x + alpha (a_k - x)`` (x-form: ``a = W phi(x) + W_in u + b``;
        r-form: ``a = phi(W r + W_in u + b)``) with ``alpha = dt / tau`` (Euler) or ``1 - exp(-dt / tau)``
        (exponential Euler, exact for the leak). The input drive of all steps is one matrix product up front;
        each step is then one ``addmm``, the activation and one ``lerp``: the same map as the scheme's step, to
        rounding.

        Arguments:
            x0: ``(*batch, n)``. inputs: ``(steps, *batch, m)`` or ``None`` (zero input). steps: ``T``.
            dt: the step. scheme: the scheme's name.

        Returns:
            ``(steps, *batch, n)``, or ``None`` when this path does not apply (another scheme, or inputs whose
            batch shape differs from the states': the generic rollout then broadcasts them).
        """
        if scheme not in ("euler", "exp_euler") or x0.is_complex():
            return None
        if inputs is not None and inputs.shape[1:-1] != x0.shape[:-1]:
            return None
        n = self.state_dim
        ratio = torch.as_tensor(dt, dtype=x0.dtype, device=x0.device) / self.tau
        alpha = ratio if scheme == "euler" else -torch.expm1(-ratio)
        W_t = self.W_eff.t()
        x = x0.reshape(-1, n)
        if inputs is None or self.input_dim == 0:
            drive = self.bias.expand(steps, *x.shape)
        else:
            drive = F.linear(inputs.reshape(steps, -1, self.input_dim), self.W_in, self.bias)
        # unbind once: indexing drive[k] each step would make backpropagation allocate and fill a zero tensor of
        # the whole sequence per step (select's backward), O(T^2) work that dominated training (4x at T = 200)
        # alpha = 1 (dt = tau, Euler): the update is x = a (lerp's weight-1 branch returns its end exactly), and
        # skipping the lerp and its backward makes the r-form step torch.nn.RNN's, op for op
        unit = bool((alpha == 1).all())
        states = []
        for drive_k in drive.unbind(0):
            if self.form == "x":
                a = torch.addmm(drive_k, self.phi(x), W_t)
            else:
                a = self.phi(torch.addmm(drive_k, x, W_t))
            x = a if unit else torch.lerp(x, a, alpha)
            states.append(x)
        return torch.stack(states).reshape(steps, *x0.shape)

    def config(self) -> dict[str, Any]:
        tau = self.tau.tolist()
        return {"n": self.state_dim, "n_inputs": self.input_dim, "form": self.form,
                "activation": self.phi.name, "tau": tau, "g": self.g, "zero_diagonal": self.zero_diagonal,
                "dale": self.dale, "seed": self.seed}

    def describe(self) -> str:
        eq = ("tau dx/dt = -x + W phi(x) + W_in u + b" if self.form == "x"
              else "tau dr/dt = -r + phi(W r + W_in u + b)")
        dale = f", Dale's law ({self.dale:.0%} excitatory)" if self.dale is not None else ""
        return f"RateRNN {self.form}-form, n={self.state_dim}, phi={self.phi.name}, g={self.g:g}{dale}: {eq}"
