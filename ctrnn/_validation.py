"""Entry-point checks shared by models, inputs and solvers. Errors name the argument and the fix."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


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
