"""Entry-point checks shared by models, inputs and solvers. Errors name the argument and the fix."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

MAX_ELEMENTS = 2**28
"""The most values (tensor elements) one array that a run is about to allocate may hold by default: 2**28 =
268,435,456, about 2.1 GB in float64 (1.1 GB in float32), far above what the defaults need (a default
``ctrnn simulate`` keeps 10^6 values) and below a laptop's memory. Sizes are checked against it before anything
is allocated (time grids and trajectories, fixed-step grids, rollouts, batches of initial states, fixed-point
starts and their Jacobians, basin grids, the states kept by gradient propagation, sweep values), so that a typo
(``dt_out = 1e-9``, ``--values 1:2:100000000000``) fails at once with a message naming what to change instead
of exhausting the memory. A run that really needs more raises the limit with :class:`~ctrnn.size_limit` (the CLI:
the config key ``max_elements``)."""
_size_limit: contextvars.ContextVar[int] = contextvars.ContextVar("ctrnn_size_limit", default=MAX_ELEMENTS)

#: the seeds ``torch.Generator.manual_seed`` takes (inclusive)
SEED_RANGE = (-(2**63), 2**64 - 1)
#: the dtypes ctrnn computes in: real models in float32 / float64, complex ones in complex64 / complex128
SUPPORTED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def as_tensor(value: Any, name: str, *, dtype: torch.dtype | None = None,
              device: torch.device | str | None = None) -> torch.Tensor:
    """Convert ``value`` to a floating tensor, refusing things that are not numbers.

    Python numbers and sequences go through NumPy, so they arrive as float64 / complex128 (as NumPy
    does) before any cast: ``0.1`` never passes through float32 on its way to a float64 tensor.
    Integer tensors become the default dtype.
    """
    if isinstance(value, torch.Tensor):
        t = value
    else:
        try:
            array = np.asarray(value)
            if array.dtype.kind in "iub":
                array = array.astype(np.float64)
            t = torch.from_numpy(array) if array.dtype.kind in "fc" else torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor or array of numbers, got {type(value).__name__}") from exc
    if not (t.is_floating_point() or t.is_complex()):
        t = t.to(torch.get_default_dtype() if dtype is None else dtype)
    if dtype is not None or device is not None:
        t = t.to(dtype=dtype if dtype is not None else t.dtype, device=device if device is not None else t.device)
    return t


def max_elements() -> int:
    """The size limit in force: :data:`~ctrnn.MAX_ELEMENTS`, or what :class:`~ctrnn.size_limit` set last in this
    context."""
    return _size_limit.get()


class size_limit:
    """Set the most values one array of a run may hold (default :data:`~ctrnn.MAX_ELEMENTS`, 2**28), for the current
    context; as a ``with`` block, only until the block ends (like ``torch.set_grad_enabled``).

    ``with ctrnn.size_limit(2**32): ctrnn.simulate(...)`` lets one large run through; a bare
    ``ctrnn.size_limit(2**32)`` raises the limit from then on.

    Arguments:
        max_elements: the new limit, an int >= 1 (values, not bytes: 8 bytes each in float64).

    Raises:
        ValueError: a limit that is not an int >= 1.
    """

    def __init__(self, max_elements: int):
        if isinstance(max_elements, bool) or not isinstance(max_elements, int) or max_elements < 1:
            raise ValueError(f"max_elements must be an int >= 1 (the most values one array may hold), "
                             f"got {max_elements!r}")
        self._token = _size_limit.set(max_elements)

    def __enter__(self) -> size_limit:
        return self

    def __exit__(self, *exc: Any) -> None:
        _size_limit.reset(self._token)


def check_size(count: float, what: str, fix: str) -> int:
    """Refuse to allocate ``count`` values above the size limit (:data:`~ctrnn.MAX_ELEMENTS`, or the one
    :class:`~ctrnn.size_limit` set).

    Arguments:
        count: how many values the array would hold (a float is fine: ``t_end / dt_out`` before rounding).
        what: what would be allocated, naming the argument or config key that sets its size.
        fix: how to make it smaller.

    Returns:
        ``count`` as an int.

    Raises:
        ValueError: ``count`` is above the limit, or not finite.
    """
    limit = max_elements()
    if not math.isfinite(count) or count > limit:
        shown = f"{count:.3g}" if isinstance(count, float) or count >= 1e6 else str(count)
        raise ValueError(f"{what} would hold {shown} values, above the limit of {limit:,} ({limit * 8 / 1e9:.2g} GB in "
                         f"float64); {fix}, or raise the limit (ctrnn.size_limit; the CLI: --set max_elements=N)")
    return int(count)


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int in :data:`SEED_RANGE` (what ``torch.Generator.manual_seed`` takes), else ``TypeError`` /
    ``ValueError`` naming ``name``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(seed).__name__} {seed!r}")
    low, high = SEED_RANGE
    if not low <= int(seed) <= high:
        raise ValueError(f"{name} must be an integer in [-2**63, 2**64 - 1] (torch's seed range), got {seed}")
    return int(seed)


def check_dtype(dtype: torch.dtype, what: str) -> None:
    """Refuse a dtype ctrnn does not compute in (float16, bfloat16, ...), naming ``what`` has it."""
    if dtype not in SUPPORTED_DTYPES:
        name = str(dtype).removeprefix("torch.")
        raise ValueError(f"{what} has dtype {name}, which ctrnn does not support: use float32 or float64 (complex64 or "
                         f"complex128 for complex models), e.g. .double() or .float()")


def check_number(value: Any, name: str) -> float:
    """``value`` as a finite real float, else ``TypeError`` / ``ValueError`` naming ``name``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return float(value)


def check_nonempty(t: torch.Tensor, name: str) -> None:
    """Refuse an empty batch: ``t`` ``(*batch, n)`` with a zero-sized batch dimension (nothing to compute on,
    and every mean over it would be NaN)."""
    if t.numel() == 0:
        raise ValueError(f"{name} has an empty batch (shape {tuple(t.shape)}): give at least one state")


def as_state(value: Any, name: str, n: int, like: torch.Tensor | None) -> torch.Tensor:
    """States ``(*batch, n)`` for a model: converted to the dtype and device of ``like`` (the model's reference
    tensor; ``None``: a model without tensors, whose states keep their own dtype), checked non-empty and finite.

    Raises:
        TypeError: not numbers. ValueError: the wrong shape, an empty batch, non-finite values, complex states for
        a real model (the imaginary part would be dropped), or a dtype ctrnn does not support (float16, ...).
    """
    x = as_tensor(value, name)
    if like is not None:
        check_dtype(like.dtype, "the model")
        if x.is_complex() and not like.is_complex():
            raise ValueError(f"{name} is complex ({str(x.dtype).removeprefix('torch.')}) but the model is real "
                             f"({str(like.dtype).removeprefix('torch.')}): its imaginary part would be dropped; pass "
                             f"real states (e.g. {name}.real), or use a complex model")
        x = x.to(device=like.device, dtype=like.dtype)
    check_dtype(x.dtype, name)
    if x.ndim < 1 or x.shape[-1] != n:
        raise ValueError(f"{name} must have shape (*batch, {n}) for this model, got {tuple(x.shape)}")
    check_nonempty(x, name)
    check_finite(x, name)
    return x


def check_finite(t: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` if ``t`` holds NaN or Inf, saying where the first one is."""
    if t.numel() and not bool(torch.isfinite(t).all()):
        bad = (~torch.isfinite(t)).nonzero()
        first = tuple(int(i) for i in bad[0]) if t.ndim else ()
        raise ValueError(
            f"{name} contains {len(bad)} non-finite value(s) (NaN or Inf), the first at index {first}; "
            "pass finite values"
        )


def reference_tensor(module: torch.nn.Module) -> torch.Tensor | None:
    """The first parameter, else the first buffer: the tensor a model's dtype and device follow."""
    return next(itertools.chain(module.parameters(), module.buffers()), None)


def check_square(t: torch.Tensor, name: str) -> None:
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {tuple(t.shape)}")


def check_shape(t: torch.Tensor, name: str, shape: tuple[int, ...]) -> None:
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(t.shape)}")


def check_positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_nonnegative(value: float, name: str) -> float:
    """``value`` as a finite float >= 0, else ``TypeError`` / ``ValueError`` naming ``name``."""
    if check_number(value, name) < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def check_count(value: int, name: str) -> int:
    """An int >= 0 (a number of inputs or outputs, which may be zero)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


def check_all_positive(t: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` unless every entry of ``t`` is > 0 (a time constant)."""
    if t.numel() and bool((t <= 0).any()):
        raise ValueError(f"{name} must be > 0 everywhere, got minimum {float(t.min())}")


def per_unit(value: Any, name: str, n: int, *, positive: bool = False,
             dtype: torch.dtype | None = None) -> torch.Tensor:
    """A scalar or ``(n,)`` parameter as a tensor of shape ``()`` or ``(n,)``, checked finite."""
    t = as_tensor(value, name, dtype=dtype if dtype is not None else torch.get_default_dtype())
    if t.ndim not in (0, 1) or (t.ndim == 1 and t.shape[0] != n):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got shape {tuple(t.shape)}")
    check_finite(t, name)
    if positive:
        check_all_positive(t, name)
    return t


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Within the block, tensors made without an explicit dtype take ``dtype`` (a real dtype); restored after.
    Analyses make small tensors (times, identities) that way, and a float32 default would cap the accuracy
    of a float64 model's solves."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)
