"""Linear state-space models ``dx/dt = A x + B u``, ``y = C x + D u``: dense and diagonal (complex allowed)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._validation import as_tensor, check_count, check_positive_int, check_square
from ._base import System, config_entries
from ._rate import make_generator


def _input_matrix(B: Any, n: int) -> torch.Tensor:
    B = as_tensor(B, "B")
    if B.ndim != 2 or B.shape[0] != n:
        raise ValueError(f"B must have shape ({n}, m), got {tuple(B.shape)}")
    return B


def _output_matrices(C: Any, D: Any, n: int, m: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    C = torch.eye(n, dtype=dtype) if C is None else as_tensor(C, "C")
    if C.ndim != 2 or C.shape[1] != n:
        raise ValueError(f"C must have shape (p, {n}), got {tuple(C.shape)}")
    real = torch.empty((), dtype=dtype).real.dtype
    D = torch.zeros(C.shape[0], m, dtype=real) if D is None else as_tensor(D, "D")
    if D.shape != (C.shape[0], m):
        raise ValueError(f"D must have shape ({C.shape[0]}, {m}), got {tuple(D.shape)}")
    return C, D


def _sizes(cls: type, config: dict[str, Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    """A state-space config's ``n`` (>= 1), ``m`` and ``p`` (>= 0), then any further keys' values."""
    n, m, p, *rest = config_entries(cls, config, keys)
    return check_positive_int(n, "n"), check_count(m, "m"), check_count(p, "p"), *rest


class LinearSSM(System):
    """``dx/dt = A x + B u``, ``y = C x + D u``.

    Arguments:
        A: ``(n, n)``, any (stable when every eigenvalue has ``Re(lambda) < 0``).
        B: ``(n, m)``.
        C: ``(p, n)``, default the identity (the output is the state).
        D: ``(p, m)``, default zero.

    All four are parameters. ``jacobian`` is ``A`` everywhere.
    """

    def __init__(self, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor | None = None, D: torch.Tensor | None = None):
        super().__init__()
        A = as_tensor(A, "A")
        check_square(A, "A")
        n = A.shape[0]
        B = _input_matrix(B, n)
        C, D = _output_matrices(C, D, n, B.shape[1], A.dtype)
        self.state_dim, self.input_dim, self.output_dim = n, B.shape[1], C.shape[0]
        self.A, self.B = nn.Parameter(A), nn.Parameter(B.to(A.dtype))
        self.C, self.D = nn.Parameter(C.to(A.dtype)), nn.Parameter(D.to(A.dtype))
        self.check_parameters()  # A, B, C, D finite

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        dx = x @ self.A.T
        return dx if u is None else dx + u @ self.B.T

    def output(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """``y = C x + D u``, shape ``(*batch, p)``."""
        y = x @ self.C.T
        return y if u is None else y + u @ self.D.T

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None, t: torch.Tensor | float = 0.0) -> torch.Tensor:
        return self.A.expand(*x.shape[:-1], self.state_dim, self.state_dim)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        return self.A @ v if v.ndim == x.ndim + 1 else v @ self.A.T

    def config(self) -> dict[str, Any]:
        return {"n": self.state_dim, "m": self.input_dim, "p": self.output_dim}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LinearSSM:
        n, m, p = _sizes(cls, config, ("n", "m", "p"))
        return cls(torch.zeros(n, n), torch.zeros(n, m), torch.zeros(p, n), torch.zeros(p, m))

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        n, m, p = _sizes(cls, config, ("n", "m", "p"))
        return {"A": (n, n), "B": (n, m), "C": (p, n), "D": (p, m)}

    def describe(self) -> str:
        return f"LinearSSM n={self.state_dim}, m={self.input_dim}, p={self.output_dim}: dx/dt = A x + B u, y = C x + D u"


class DiagonalSSM(System):
    """Diagonal state-space model (S4D / LRU style): ``dx/dt = lam * x + B u``, ``y = Re(C x) + D u``.

    Arguments:
        lam: ``(n,)`` eigenvalues, complex allowed (stable when ``Re(lam) < 0``).
        B: ``(n, m)``, complex allowed.
        C: ``(p, n)``, default the identity; the output takes the real part of ``C x``.
        D: ``(p, m)``, real, default zero.

    The state is complex when ``lam``, ``B`` or ``C`` is. Use :meth:`s4d_lin` or :meth:`lru` for the
    published initialisations.
    """

    def __init__(self, lam: torch.Tensor, B: torch.Tensor, C: torch.Tensor | None = None, D: torch.Tensor | None = None):
        super().__init__()
        lam = as_tensor(lam, "lam")
        if lam.ndim != 1:
            raise ValueError(f"lam must be 1-D (n,), got shape {tuple(lam.shape)}")
        n = lam.shape[0]
        B = _input_matrix(B, n)
        dtype = torch.promote_types(lam.dtype, B.dtype)
        if C is not None:
            dtype = torch.promote_types(dtype, as_tensor(C, "C").dtype)
        C, D = _output_matrices(C, D, n, B.shape[1], dtype)
        self.state_dim, self.input_dim, self.output_dim = n, B.shape[1], C.shape[0]
        self.lam, self.B, self.C = nn.Parameter(lam.to(dtype)), nn.Parameter(B.to(dtype)), nn.Parameter(C.to(dtype))
        self.D = nn.Parameter(D.to(torch.empty((), dtype=dtype).real.dtype))
        self.check_parameters()  # lam, B, C, D finite

    @classmethod
    def s4d_lin(cls, n: int, m: int = 1, *, seed: int | torch.Generator | None = None) -> DiagonalSSM:
        """S4D-Lin (Gu et al. 2022): ``lam_k = -1/2 + i pi k``, ``B = 1``, ``C ~ N(0, 1/2)`` complex."""
        n = check_positive_int(n, "n")
        gen, _ = make_generator(seed)
        k = torch.arange(n, dtype=torch.float64)
        lam = torch.complex(torch.full((n,), -0.5, dtype=torch.float64), math.pi * k)
        C = torch.complex(torch.randn(1, n, generator=gen, dtype=torch.float64),
                          torch.randn(1, n, generator=gen, dtype=torch.float64)) * math.sqrt(0.5)
        return cls(lam, torch.ones(n, m, dtype=torch.complex128), C.expand(m, n).clone())

    @classmethod
    def lru(cls, n: int, m: int = 1, *, r_min: float = 0.9, r_max: float = 0.999, max_phase: float = 2 * math.pi,
            dt: float = 1.0, seed: int | torch.Generator | None = None) -> DiagonalSSM:
        """LRU-style (Orvieto et al. 2023): the ZOH map with step ``dt`` has eigenvalues uniform on the
        ring ``r_min <= |z| <= r_max`` with phase in ``[0, max_phase]``; ``lam = log(z) / dt``.
        ``B`` and ``C`` are complex Gaussian with variance ``1/(2m)`` and ``1/(2n)``."""
        if not 0 < r_min < r_max <= 1:
            raise ValueError(f"need 0 < r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}")
        n = check_positive_int(n, "n")
        gen, _ = make_generator(seed)
        u1, u2 = torch.rand(n, generator=gen, dtype=torch.float64), torch.rand(n, generator=gen, dtype=torch.float64)
        modulus = torch.sqrt(u1 * (r_max**2 - r_min**2) + r_min**2)  # uniform on the ring's area
        lam = torch.complex(torch.log(modulus), max_phase * u2) / dt

        def cgauss(*shape: int, var: float) -> torch.Tensor:
            re, im = torch.randn(*shape, generator=gen, dtype=torch.float64), torch.randn(*shape, generator=gen, dtype=torch.float64)
            return torch.complex(re, im) * math.sqrt(var / 2)

        return cls(lam, cgauss(n, m, var=1.0 / m), cgauss(m, n, var=1.0 / n))

    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        dx = self.lam * x
        return dx if u is None else dx + u.to(self.B.dtype) @ self.B.T

    def output(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """``y = Re(C x) + D u``, shape ``(*batch, p)``."""
        y = (x @ self.C.T).real if x.is_complex() or self.C.is_complex() else x @ self.C.T
        return y if u is None else y + u @ self.D.T

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None, t: torch.Tensor | float = 0.0) -> torch.Tensor:
        return torch.diag_embed(self.lam).expand(*x.shape[:-1], self.state_dim, self.state_dim)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        return self.lam[:, None] * v if v.ndim == x.ndim + 1 else self.lam * v

    def config(self) -> dict[str, Any]:
        return {"n": self.state_dim, "m": self.input_dim, "p": self.output_dim, "complex": self.lam.is_complex()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DiagonalSSM:
        n, m, p, is_complex = cls._config_sizes(config)
        dtype = torch.complex128 if is_complex else torch.get_default_dtype()
        return cls(torch.zeros(n, dtype=dtype), torch.zeros(n, m, dtype=dtype), torch.zeros(p, n, dtype=dtype),
                   torch.zeros(p, m))

    @classmethod
    def _config_sizes(cls, config: dict[str, Any]) -> tuple[int, int, int, bool]:
        n, m, p, is_complex = _sizes(cls, config, ("n", "m", "p", "complex"))
        if not isinstance(is_complex, bool):
            raise TypeError(f"complex must be true or false, got {type(is_complex).__name__}")
        return n, m, p, is_complex

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        n, m, p, _ = cls._config_sizes(config)
        return {"lam": (n,), "B": (n, m), "C": (p, n), "D": (p, m)}

    def describe(self) -> str:
        return (f"DiagonalSSM n={self.state_dim}, m={self.input_dim}, p={self.output_dim}: "
                "dx/dt = lam * x + B u, y = Re(C x) + D u")
