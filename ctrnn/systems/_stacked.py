"""Several networks of one architecture as one batched model, so that a sweep advances them in one solve.

The networks' parameters and buffers are stacked along a new leading axis. A class with a *native* stacked path
(rate and Beer networks: ``stacked_forward`` and ``stacked_jacobian``, optionally ``stacked_jvp``, defined by the
class itself, not inherited) runs its math once on all of them: a rate network's ``W phi(x)`` becomes one batched
matrix product. Any other class runs the first network's code under ``torch.vmap`` with each network's tensors
swapped in (``torch.func.functional_call``): general, but its set-up costs milliseconds per call (2.2 ms for a
vmapped linear layer against 4 us for ``bmm``), so the analyses run such models one at a time unless asked to
stack them. The state batch is laid out network-major: rows ``p * B .. (p + 1) * B - 1`` belong to network ``p``.
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


def per_network(tensor: torch.Tensor, ndim: int) -> torch.Tensor:
    """A stacked scalar ``(P,)`` or per-unit ``(P, n)`` setting shaped to broadcast against stacked states
    ``(P, B, n)`` (``ndim`` 3) or against ``(P, B, n, k)`` Jacobians and tangent vectors (``ndim`` 4: per row)."""
    P = tensor.shape[0]
    if tensor.ndim == 1:
        return tensor.reshape(P, *(1,) * (ndim - 1))
    return tensor.reshape(P, 1, tensor.shape[1], *(1,) * (ndim - 3))


def has_native_stack(model: nn.Module) -> bool:
    """Whether ``model``'s own class (not a parent: a subclass may change the dynamics) defines the native
    stacked path."""
    own = vars(type(model))
    return "stacked_forward" in own and "stacked_jacobian" in own


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

    def _stack(self, models: Sequence[nn.Module], *, native: bool | None = None, available: bool | None = None,
               native_inside: bool = False) -> None:
        """Check and record the models; ``native``: whether to take the native path (``None``: where there is
        one); ``available``: whether there is one (default: the models' class defines it); ``native_inside``: the
        native path runs another stacked model (a map's stacked flow), so this one stacks no tensors then."""
        problem = stacking_obstacle(models)
        if problem is not None:
            raise ValueError(f"these models cannot be stacked: {problem}")
        self.count = len(models)
        self.template = models[0]
        self.state_dim, self.input_dim = models[0].state_dim, models[0].input_dim
        self.descriptions = [m.describe() for m in models]
        available = has_native_stack(models[0]) if available is None else available
        if native and not available:  # a map by its flow's class: that is what lacks the path
            name = type(getattr(models[0], "system", models[0])).__name__
            raise ValueError(f"{name} has no native stacked path: leave native unset")
        self.native = available if native is None else bool(native)
        if native_inside and self.native:
            return
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

    def _native_call(self, method: str, x: torch.Tensor, u: torch.Tensor | None,
                     v: torch.Tensor | None = None) -> torch.Tensor:
        """The template's ``stacked_<method>`` on ``x`` ``(P * B, ..., n)`` as ``(P, B', n)``, with ``u`` shared
        ``(m,)`` or per row and ``v`` ``(P * B, ..., n[, k])``; the result in ``x``'s row layout."""
        P, n = self.count, x.shape[-1]
        if x.shape[0] % P:
            raise ValueError(f"the batch of {x.shape[0]} rows does not split over {P} networks")
        lead = x.shape[:-1]
        xs = x.reshape(P, -1, n)
        if u is not None:
            u = (u.expand(*lead, u.shape[-1]) if u.ndim == 1 else u).reshape(P, -1, u.shape[-1])
        # the buffers themselves (not nn.Module's attribute lookup: microseconds per call add up over a solve)
        tensors = {name[7:]: self._buffers[key] for key, name in self._names.items()}  # 7: len("module.")
        if method == "jvp":
            vs = v.reshape(P, -1, *v.shape[len(lead):])
            if "stacked_jvp" in vars(type(self.template)):
                out = self.template.stacked_jvp(tensors, xs, vs, u)
            else:  # the closed-form Jacobian times v, as System.jvp does for one network
                J = self.template.stacked_jacobian(tensors, xs, u)
                out = J @ vs if vs.ndim == 4 else (J @ vs[..., None])[..., 0]
            return out.reshape(v.shape)
        out = getattr(self.template, f"stacked_{method}")(tensors, xs, u)
        return out.reshape(*lead, *out.shape[2:])

    @staticmethod
    def _input_is_batched(u: torch.Tensor | None) -> bool:
        return u is not None and u.ndim >= 2

    def describe(self) -> str:
        return f"{self.count} stacked networks: {self.descriptions[0]}"


class StackedSystem(_Stacked, System):
    """``P`` flows of one architecture as one :class:`~ctrnn.System` on a ``(P * B, n)`` batch.

    Arguments:
        models: the networks (same class, tensor shapes and settings; see :func:`stacking_obstacle`).

        native: take the class's native stacked path (``None``: where it has one; ``False``: ``torch.vmap``).

    Inputs ``u`` are shared ``(m,)`` or per row ``(P * B, m)``.
    """

    def __init__(self, models: Sequence[System], *, native: bool | None = None):
        System.__init__(self)
        self._stack(models, native=native)

    # the native classes are autonomous: their stacked math takes no time
    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.native:
            return self._native_call("forward", x, u)
        return self._vmapped("forward", (t, x, u), (False, True, self._input_is_batched(u)))

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None, t: torch.Tensor | float = 0.0) -> torch.Tensor:
        if self.native:
            return self._native_call("jacobian", x, u)
        t = torch.as_tensor(t, dtype=x.real.dtype, device=x.device)
        return self._vmapped("jacobian", (x, u, t), (True, self._input_is_batched(u), False))

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        if self.native:
            return self._native_call("jvp", x, u, v)
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
        if self.native and "stacked_leak" in vars(type(self.template)):
            return self._native_call("leak", x, u)
        # each network's rate broadcast to its rows' shape, so that the rows of all networks stack
        return self._vmapped("leak_like_state", (x, u), (True, self._input_is_batched(u)))
