"""Several networks of one architecture as one batched model, so that a sweep advances them in one solve.

The networks' parameters and buffers are stacked along a new leading axis and the first network's code is
run under ``torch.vmap`` with each network's tensors swapped in (``torch.func.functional_call``): a rate
network's ``W @ v`` becomes one batched matrix product over the networks. The state batch is laid out
network-major: rows ``p * B .. (p + 1) * B - 1`` belong to network ``p``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from ._base import System


def stacking_obstacle(models: Sequence[nn.Module]) -> str | None:
    """Why these models cannot share one batched solve (``None`` when they can): they must be of one class
    with tensors of the same names, shapes, dtypes and devices, and the same non-tensor settings (form,
    activation, Dale's law, ...); the values of their tensors may differ. Attributes a model class lists in
    ``construction_only`` (a rate network's ``g`` and ``seed``: they shape its random draw, never its dynamics)
    may differ too.

    Arguments:
        models: the flows or maps to stack.

    Returns:
        ``None`` when they can be stacked, else the first difference in words.
    """
    if not models:
        return "no models"
    first = models[0]
    for index, other in enumerate(models[1:], start=1):
        mods_a, mods_b = list(first.modules()), list(other.modules())
        if len(mods_a) != len(mods_b):
            return f"model {index} has a different structure"
        for a, b in zip(mods_a, mods_b):
            if type(a) is not type(b):
                return f"model {index} is a {type(b).__name__}, model 0 a {type(a).__name__}"
            # a VectorField / IteratedMap keeps a plain callable as _fn: one solve runs model 0's, so the
            # others must wrap that very callable (different closures would silently share model 0's dynamics)
            if vars(a).get("_fn") is not vars(b).get("_fn"):
                return f"model {index} wraps a different callable than model 0"
            ignored = getattr(a, "construction_only", frozenset())
            for key, value in vars(a).items():
                if key.startswith("_") or key == "training" or key in ignored or isinstance(value, nn.Module):
                    continue
                theirs = vars(b).get(key)
                try:
                    same = (torch.equal(value, theirs) if isinstance(value, torch.Tensor) else bool(value == theirs))
                except Exception:  # values that cannot be compared are treated as different
                    same = False
                if not same:
                    return f"model {index} differs from model 0 in {type(a).__name__}.{key}"
        tensors_a = {**dict(first.named_parameters()), **dict(first.named_buffers())}
        tensors_b = {**dict(other.named_parameters()), **dict(other.named_buffers())}
        if tensors_a.keys() != tensors_b.keys():
            return f"model {index} has different parameters"
        for name, t in tensors_a.items():
            u = tensors_b[name]
            if (t.shape, t.dtype, t.device) != (u.shape, u.dtype, u.device):
                return f"model {index}'s {name} is {tuple(u.shape)} {u.dtype} on {u.device}, model 0's " \
                       f"{tuple(t.shape)} {t.dtype} on {t.device}"
    return None


class _Method(nn.Module):
    """Calls one method of a module, so that ``functional_call`` can swap tensors in for any method."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, *args: Any) -> Any:
        if self.method == "leak_like_state":  # a leak (scalar, per unit or per row) with the state's shape
            return torch.broadcast_to(self.module.leak(*args), args[0].shape)
        return getattr(self.module, self.method)(*args)


class _Stacked:
    """What the stacked flow and the stacked map share."""

    count: int
    template: nn.Module
    _names: dict[str, str]

    def _stack(self, models: Sequence[nn.Module]) -> None:
        problem = stacking_obstacle(models)
        if problem is not None:
            raise ValueError(f"these models cannot be stacked: {problem}")
        self.count = len(models)
        self.template = models[0]
        self.state_dim, self.input_dim = models[0].state_dim, models[0].input_dim
        self.descriptions = [m.describe() for m in models]
        # buffers (moved by .to()) named without dots; _names maps them back to the template's names
        self._names = {}
        self._calls: dict[tuple[str, tuple[bool, ...]], Any] = {}
        per_model = [{**dict(m.named_parameters()), **dict(m.named_buffers())} for m in models]
        for i, name in enumerate(per_model[0]):
            key = f"stacked_{i}"
            self._names[key] = "module." + name
            self.register_buffer(key, torch.stack([d[name].detach() for d in per_model]))

    def _vmapped(self, method: str, args: tuple[Any, ...], batched: tuple[bool, ...]) -> torch.Tensor:
        """``method(*args)`` of every network; arguments flagged in ``batched`` are ``(P * B, ...)`` batches,
        the rest are shared (a constant input, the time)."""
        P = self.count
        prepared = []
        for a, is_batch in zip(args, batched):
            if is_batch:
                if a.shape[0] % P:
                    raise ValueError(f"the batch of {a.shape[0]} rows does not split over {P} networks")
                a = a.reshape(P, a.shape[0] // P, *a.shape[1:])
            prepared.append(a)
        key = (method, batched)
        if key not in self._calls:  # built once per method and argument layout: vmap's set-up is not free
            caller = _Method(self.template, method)
            self._calls[key] = torch.vmap(lambda params, *a: functional_call(caller, params, a),
                                          in_dims=(0, *(0 if b else None for b in batched)))
        tensors = {name: getattr(self, key) for key, name in self._names.items()}
        out = self._calls[key](tensors, *prepared)
        return out.reshape(-1, *out.shape[2:])

    @staticmethod
    def _input_is_batched(u: torch.Tensor | None) -> bool:
        return u is not None and u.ndim >= 2

    def describe(self) -> str:
        return f"{self.count} stacked networks: {self.descriptions[0]}"


class StackedSystem(_Stacked, System):
    """``P`` flows of one architecture as one :class:`~ctrnn.System` on a ``(P * B, n)`` batch.

    Arguments:
        models: the networks (same class, tensor shapes and settings; see :func:`stacking_obstacle`).

    Inputs ``u`` are shared ``(m,)`` or per row ``(P * B, m)``.
    """

    def __init__(self, models: Sequence[System]):
        System.__init__(self)
        self._stack(models)

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self._vmapped("forward", (t, x, u), (False, True, self._input_is_batched(u)))

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None, t: torch.Tensor | float = 0.0) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.real.dtype, device=x.device)
        return self._vmapped("jacobian", (x, u, t), (True, self._input_is_batched(u), False))

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.real.dtype, device=x.device)
        return self._vmapped("jvp", (x, v, u, t), (True, True, self._input_is_batched(u), False))

    # the discretization hooks, so that a scheme steps stacked networks as it steps each one alone
    def has_hook(self, name: str) -> bool:
        return self.template.has_hook(name)

    def euler_step(self, x: torch.Tensor, u: torch.Tensor | None, dt: float | torch.Tensor) -> torch.Tensor:
        return self._vmapped("euler_step", (x, u, dt), (True, self._input_is_batched(u), False))

    def leak(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor | None:
        if self.template.leak(x[:1], None if u is None or u.ndim < 2 else u[:1]) is None:
            return None
        # each network's rate broadcast to its rows' shape, so that the rows of all networks stack
        return self._vmapped("leak_like_state", (x, u), (True, self._input_is_batched(u)))
