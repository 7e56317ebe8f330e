"""The contract every continuous-time model satisfies."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from .._results import save_object
from .._validation import check_finite, reference_tensor


class System(nn.Module):
    """A continuous-time vector field ``dx/dt = f(t, x, u)``.

    Subclasses implement :meth:`forward`; analysis code uses only ``forward``, :meth:`jacobian`
    and :meth:`jvp`, so any subclass (or a :class:`~ctrnn.VectorField`) works everywhere.
    Subclasses with a cheap closed form override ``jacobian`` / ``jvp``; the defaults use autograd.

    Attributes:
        state_dim: ``n``, the size of the state.
        input_dim: ``m``, the size of the input ``u`` (0: autonomous).
    """

    state_dim: int
    input_dim: int
    #: registry of saveable model classes by name, filled by ``__init_subclass__``
    model_classes: ClassVar[dict[str, type[System]]] = {}
    #: attributes that only shape a model's construction (its random draw), never its dynamics: models that
    #: differ only in these can share one batched solve (:func:`~ctrnn.stack_models`)
    construction_only: ClassVar[frozenset[str]] = frozenset({"seed"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        System.model_classes[cls.__name__] = cls

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """Return ``dx/dt``.

        Arguments:
            t: scalar time.
            x: state, shape ``(*batch, n)``.
            u: input, shape broadcastable to ``(*batch, m)``; ``None`` means zero input.

        Returns:
            ``dx/dt``, shape ``(*batch, n)``, per unit time.
        """
        raise NotImplementedError

    # -- derivatives ---------------------------------------------------------------------------
    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None,
                 t: torch.Tensor | float = 0.0) -> torch.Tensor:
        """``df/dx`` at ``x``, shape ``(*batch, n, n)``; row ``i`` is ``d f_i / d x``."""
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        return self._autograd_jacobian(x, u, t)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        """Jacobian-vector product ``(df/dx)(x) v``; ``v`` has shape ``(*batch, n)`` or ``(*batch, n, k)``
        (``k`` tangent vectors in the columns). Returns the same shape as ``v``."""
        t = torch.as_tensor(t, dtype=x.real.dtype, device=x.device)
        if type(self).jacobian is not System.jacobian or self._small_jacobian_applies(x):
            J = self.jacobian(x, u, t)  # a closed form, or the small-state sweep: one batched product with it
            return J @ v if v.ndim == x.ndim + 1 else (J @ v[..., None])[..., 0]
        return batched_jvp(lambda y: self.forward(t, y, u), x, v)

    def _small_jacobian_applies(self, x: torch.Tensor) -> bool:
        """Whether the Jacobian comes from one reverse sweep over ``n`` copies of the batch (small real states, no
        functorch transform around, and the first comparison with the vmapped Jacobian passed or not yet made)."""
        return (x.shape[-1] <= SMALL_STATE and not x.is_complex() and not _is_batched(x)
                and self.__dict__.get("_replicated_jacobian", True))

    def _autograd_jacobian(self, x: torch.Tensor, u: torch.Tensor | None, t: torch.Tensor) -> torch.Tensor:
        def fn(y: torch.Tensor) -> torch.Tensor:
            return self.forward(t, y, u)

        if not self._small_jacobian_applies(x):
            return batched_jacobian(fn, x)
        if "_replicated_jacobian" not in self.__dict__:
            # first use: the batch-copies trick assumes a batch-independent field that takes any leading shape;
            # checked once against the vmapped Jacobian (which needs only the first), at a generic point near x
            # (at x itself, equal components and a symmetric Jacobian can hide a field written for one state)
            noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype).to(x.device)
            probe = x.detach() + (0.1 + 0.2 * noise) * (1 + x.detach().abs())
            self.__dict__["_replicated_jacobian"] = _same_jacobian(fn, probe)
            if not self.__dict__["_replicated_jacobian"]:
                return batched_jacobian(fn, x)
        try:
            return replicated_jacobian(fn, x)
        except (RuntimeError, TypeError, ValueError, IndexError):  # passed the check, yet fails here: the old way
            return batched_jacobian(fn, x)

    def state_parts(self) -> dict[str, slice]:
        """Named blocks of the state (an LSTM's ``{"h": ..., "c": ...}``); none for a plain state."""
        return {}

    # -- hooks for discretization --------------------------------------------------------------
    def leak(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor | None:
        """Rate ``lam`` of a linear decay ``f = -lam * x + N(x, u)`` (broadcastable to ``x``), which
        the ``exp_euler`` scheme integrates exactly; ``None`` when the model has no such split."""
        return None

    def euler_step(self, x: torch.Tensor, u: torch.Tensor | None, dt: float | torch.Tensor) -> torch.Tensor:
        """One explicit Euler step ``x + dt f(x, u)``. Models whose Euler form is staggered (LSTM:
        cell first, then hidden) override it; the ``euler`` scheme then uses the override."""
        return x + dt * self.forward(torch.zeros((), dtype=x.real.dtype, device=x.device), x, u)

    def has_hook(self, name: str) -> bool:
        """Whether this model overrides the discretization hook ``name`` (e.g. ``"euler_step"``) of System.

        Schemes ask this to take the model's own step where it has one and the structured ``jvp`` path
        where it does not.
        """
        return getattr(type(self), name) is not getattr(System, name)

    # -- description and persistence -----------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype | None:
        """dtype of the first parameter or buffer (``None`` for a system without tensors)."""
        ref = reference_tensor(self)
        return None if ref is None else ref.dtype

    @property
    def device(self) -> torch.device | None:
        ref = reference_tensor(self)
        return None if ref is None else ref.device

    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments that, with :meth:`state_dict`, rebuild this model."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved: it has no config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> System:
        """Build a model of the right shapes from :meth:`config`; its tensors come from a state dict."""
        return cls(**config)

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
        """The name and shape of every tensor in the state dict :meth:`from_config` builds from ``config``, worked
        out from the config alone (nothing is allocated), so that :func:`ctrnn.load` checks a file's tensors against
        them before it builds anything. A complex tensor's shape is its own, without the file's (re, im) axis.

        Arguments:
            config: what :meth:`config` returned (read from a file: any JSON object).

        Returns:
            ``name: shape``; ``None`` (this default) when the class cannot tell, and the loader then builds the
            model on torch's ``meta`` device (no data allocated) to compare its state dict with the file before the
            real build; a constructor that cannot run on ``meta`` (it reads a tensor's values) is built for real,
            with only the file's total size capped, so a class of your own whose size a config sets should
            override this.

        Raises:
            TypeError, ValueError: a config value of the wrong type or range, or a missing or unknown key (as
                the constructor would).
        """
        return None

    def check_parameters(self) -> None:
        """Raise ``ValueError`` if a parameter or buffer holds a value this model's constructor refuses.

        The constructors end with this check, and :func:`ctrnn.load` runs it on every model it loads: a file's
        tensors never pass through the constructor. Here every floating parameter and buffer must be finite;
        models add their own conditions (a time constant > 0).

        Returns:
            nothing.

        Raises:
            ValueError: naming the tensor, where it is wrong and the fix.
        """
        for name, t in itertools.chain(self.named_parameters(), self.named_buffers()):
            if t.is_floating_point() or t.is_complex():
                check_finite(t.detach(), name)

    def describe(self) -> str:
        """A one-line description in words, used in plots and reports."""
        return f"{type(self).__name__} (n={self.state_dim}, inputs={self.input_dim})"

    def save(self, path: str) -> None:
        """Write the model (config + tensors) to a ``.safetensors`` file; read it back with :func:`ctrnn.load`.

        Raises:
            NotImplementedError: the model has no :meth:`config` (a ``VectorField`` wraps a Python callable).
            ValueError: ``path`` does not end in ``.safetensors``.
        """
        save_object(self, path)


def constructor_arguments(cls: type, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as the arguments ``cls(**config)`` would receive, defaults filled in (for ``tensor_shapes``).

    Raises:
        TypeError: a missing or an unknown argument, named as the call would name it.
    """
    bound = inspect.signature(cls).bind(**config)
    bound.apply_defaults()
    return dict(bound.arguments)


def config_entries(cls: type, config: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of ``keys`` in a config that must hold exactly those keys (for a ``from_config`` of one's own).

    Raises:
        TypeError: a missing or an unknown key.
    """
    missing = [k for k in keys if k not in config]
    unknown = sorted(k for k in config if k not in keys)
    if missing or unknown:
        what = f"missing the key {missing[0]!r}" if missing else f"an unexpected key {unknown[0]!r}"
        raise TypeError(f"a {cls.__name__} config holds {', '.join(keys)}; this one has {what}")
    return tuple(config[k] for k in keys)


def batched_jacobian(fn: Any, x: torch.Tensor) -> torch.Tensor:
    """Jacobian of a batch-independent map ``fn: (*batch, n) -> (*batch, n)``, shape ``(*batch, n, n)``.

    Because batch elements do not interact, ``d/dx sum_batch fn(x)`` gives every element's Jacobian
    in one reverse-mode sweep per output coordinate.
    """
    x = x.detach()
    y, pullback = torch.func.vjp(fn, x)
    n = y.shape[-1]
    basis = torch.eye(n, dtype=y.dtype, device=y.device).reshape(n, *([1] * (y.ndim - 1)), n).expand(n, *y.shape)
    try:
        (rows,) = torch.func.vmap(pullback)(basis)
    except RuntimeError:
        # user callables with data-dependent Python control flow cannot be vmapped: one sweep per row
        rows = torch.stack([pullback(basis[i])[0] for i in range(n)])
    return rows.movedim(0, -2)


#: whether a tensor is inside a torch.func transform (vmap): looked up once, it is called on every small JVP
_is_batched = getattr(torch._C._functorch, "is_batchedtensor", lambda _: False)

#: states up to this size take their autograd Jacobian by :func:`replicated_jacobian` (per call a few times
#: faster than torch.func's vmapped transforms, whose overhead dominates for small n)
SMALL_STATE = 16


def replicated_jacobian(fn: Any, x: torch.Tensor) -> torch.Tensor:
    """Jacobian ``(*batch, n, n)`` of a batch-independent map by one reverse sweep over ``n`` copies of the batch
    (copy ``i`` carries row ``i``), for a map that takes any leading shape. Differentiable where grad mode is on."""
    n = x.shape[-1]
    record = torch.is_grad_enabled()
    with torch.enable_grad():
        copies = x.unsqueeze(0).expand(n, *x.shape).clone()
        if not copies.requires_grad:
            copies.requires_grad_(True)
        y = fn(copies)
        if y.shape != copies.shape:
            raise ValueError(f"the field returned shape {tuple(y.shape)} for states {tuple(copies.shape)}")
        basis = torch.eye(n, dtype=y.dtype, device=y.device).reshape(n, *([1] * (y.ndim - 2)), n).expand_as(y)
        (rows,) = torch.autograd.grad(y, copies, basis, create_graph=record)
    return rows.movedim(0, -2)


def _same_jacobian(fn: Any, x: torch.Tensor) -> bool:
    """Whether :func:`replicated_jacobian` gives ``fn``'s vmapped Jacobian at ``x`` (to 64 eps of its scale)."""
    with torch.no_grad():
        reference = batched_jacobian(fn, x)
    try:
        J = replicated_jacobian(fn, x)
    except (RuntimeError, TypeError, ValueError, IndexError):  # a callable that wants its own batch shape
        return False
    scale = float(reference.abs().max()) if reference.numel() else 0.0
    tol = 64 * torch.finfo(reference.dtype).eps
    return J.shape == reference.shape and bool(((J.detach() - reference).abs() <= tol * (1 + scale)).all())


def batched_jvp(fn: Any, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Forward-mode ``J(x) v`` for ``v`` of shape ``(*batch, n)`` or ``(*batch, n, k)``."""
    if v.shape == x.shape:
        return torch.func.jvp(fn, (x,), (v,))[1]
    try:  # all k columns in one vectorised forward-mode pass
        return torch.func.vmap(lambda w: torch.func.jvp(fn, (x,), (w,))[1], in_dims=-1, out_dims=-1)(v)
    except RuntimeError:  # data-dependent Python control flow cannot be vmapped: one pass per column
        cols = [torch.func.jvp(fn, (x,), (v[..., j],))[1] for j in range(v.shape[-1])]
        return torch.stack(cols, dim=-1)
