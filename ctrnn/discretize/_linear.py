"""Discretization of linear systems (``scipy.signal.cont2discrete`` conventions) and their maps.

Each scheme gives scipy's four matrices ``(Ad, Bd, Cd, Dd)`` for a dense ``A`` or a diagonal ``lam``,
for one step size or one per step (``dt`` of shape ``(T,)``, as Mamba's Delta).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._errors import locate_divergence
from .._registry import Registry
from ._base import DiscreteMap

Matrices = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


# -- helpers for the diagonal case: phi_1(z) = (e^z - 1)/z and phi_2(z) = (e^z - 1 - z)/z^2 ---------------
def phi1(z: torch.Tensor) -> torch.Tensor:
    z = torch.as_tensor(z)
    small = z.abs() < 1e-3  # series where the quotient cancels: error ~ z^4/120 < 1e-14
    safe = torch.where(small, torch.ones_like(z), z)
    return torch.where(small, 1 + z / 2 + z * z / 6 + z**3 / 24, torch.expm1(safe) / safe)


def phi2(z: torch.Tensor) -> torch.Tensor:
    small = z.abs() < 1e-3
    safe = torch.where(small, torch.ones_like(z), z)
    return torch.where(small, 0.5 + z / 6 + z * z / 24 + z**3 / 120, (torch.expm1(safe) - safe) / (safe * safe))


def _eye_like(A: torch.Tensor) -> torch.Tensor:
    return torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)


@dataclass(frozen=True)
class LinearScheme:
    """A discretization of ``dx/dt = A x + B u``.

    Attributes:
        name: registry name.
        dense: ``(A, B, C, D, dt) -> (Ad, Bd, Cd, Dd)`` with ``dt`` of shape ``S`` (``()`` or ``(T,)``):
            ``Ad (*S, n, n)``, ``Bd (*S, n, m)``, ``Cd``, ``Dd`` as scipy returns them.
        diagonal: the same for ``A = diag(lam)``: ``Ad (*S, n)``, ``Bd (*S, n, m)``.
        shifted_state: the map's state is scipy's realisation, not ``x(t_k)`` (FOH), so its output
            uses ``Cd, Dd``; other schemes keep the continuous ``C, D`` (S4 / Mamba convention).
    """

    name: str
    dense: Callable[..., Matrices]
    diagonal: Callable[..., Matrices]
    shifted_state: bool = False


def _gbt_dense(alpha: float) -> Callable[..., Matrices]:
    def f(A, B, C, D, dt):
        h = dt[..., None, None]
        eye = _eye_like(A)
        ima = eye - alpha * h * A
        Ad = torch.linalg.solve(ima, eye + (1 - alpha) * h * A)
        Bd = torch.linalg.solve(ima, h * B)
        Cd = torch.linalg.solve(ima.mT, C.mT).mT
        return Ad, Bd, Cd, D + alpha * C @ Bd
    return f


def _gbt_diagonal(alpha: float) -> Callable[..., Matrices]:
    def f(lam, B, C, D, dt):
        z = dt[..., None] * lam
        ima = 1 - alpha * z
        Ad = (1 + (1 - alpha) * z) / ima
        Bd = (dt[..., None] / ima)[..., None] * B
        Cd = C / ima[..., None, :]
        return Ad, Bd, Cd, D + alpha * C @ Bd
    return f


def _zoh_dense(A, B, C, D, dt):
    n, m = B.shape[-2], B.shape[-1]
    top = torch.cat([A, B], dim=-1)
    block = torch.cat([top, torch.zeros(m, n + m, dtype=A.dtype, device=A.device)], dim=-2)
    E = torch.linalg.matrix_exp(dt[..., None, None] * block)
    return E[..., :n, :n], E[..., :n, n:], C, D


def _zoh_diagonal(lam, B, C, D, dt):
    z = dt[..., None] * lam
    return torch.exp(z), (dt[..., None] * phi1(z))[..., None] * B, C, D


def _foh_dense(A, B, C, D, dt):
    n, m = B.shape[-2], B.shape[-1]
    h = dt[..., None, None]
    size = n + 2 * m
    shape = (*dt.shape, size, size)
    block = torch.zeros(shape, dtype=A.dtype, device=A.device)
    block[..., :n, :n] = h * A
    block[..., :n, n:n + m] = h * B
    block[..., n:n + m, n + m:] = torch.eye(m, dtype=A.dtype, device=A.device)
    E = torch.linalg.matrix_exp(block)
    E11, E12, E13 = E[..., :n, :n], E[..., :n, n:n + m], E[..., :n, n + m:]
    return E11, E12 - E13 + E11 @ E13, C, D + C @ E13


def _foh_diagonal(lam, B, C, D, dt):
    z = dt[..., None] * lam
    ez = torch.exp(z)
    g1 = (dt[..., None] * phi1(z))[..., None] * B
    g2 = (dt[..., None] * phi2(z))[..., None] * B
    return ez, g1 - g2 + ez[..., None] * g2, C, D + C @ g2


def _impulse_dense(A, B, C, D, dt):
    if bool((D != 0).any()):
        raise ValueError("the impulse scheme applies only to strictly proper systems (D = 0)")
    h = dt[..., None, None]
    Ad = torch.linalg.matrix_exp(h * A)
    return Ad, Ad @ B * h, C, C @ B * h


def _impulse_diagonal(lam, B, C, D, dt):
    if bool((D != 0).any()):
        raise ValueError("the impulse scheme applies only to strictly proper systems (D = 0)")
    Ad = torch.exp(dt[..., None] * lam)
    Bd = (Ad * dt[..., None])[..., None] * B
    return Ad, Bd, C, C @ B * dt[..., None, None]


def _mamba_dense(A, B, C, D, dt):
    h = dt[..., None, None]
    return torch.linalg.matrix_exp(h * A), h * B, C, D


def _mamba_diagonal(lam, B, C, D, dt):
    return torch.exp(dt[..., None] * lam), dt[..., None, None] * B, C, D


LINEAR_SCHEMES: Registry[LinearScheme] = Registry("linear scheme")
for _s in (
    LinearScheme("zoh", _zoh_dense, _zoh_diagonal),
    LinearScheme("foh", _foh_dense, _foh_diagonal, shifted_state=True),
    LinearScheme("bilinear", _gbt_dense(0.5), _gbt_diagonal(0.5)),
    LinearScheme("euler", _gbt_dense(0.0), _gbt_diagonal(0.0)),
    LinearScheme("backward_euler", _gbt_dense(1.0), _gbt_diagonal(1.0)),
    LinearScheme("impulse", _impulse_dense, _impulse_diagonal),
    LinearScheme("mamba", _mamba_dense, _mamba_diagonal),
):
    LINEAR_SCHEMES.register(_s.name, _s)


def gbt(alpha: float) -> LinearScheme:
    """The generalized bilinear transform as a linear scheme (scipy's ``cont2discrete(method="gbt")``).

    Arguments:
        alpha: in ``[0, 1]``: 0 is forward Euler, 1/2 bilinear (Tustin), 1 backward Euler.

    Returns:
        the scheme, named ``gbt(alpha)``, for :func:`~ctrnn.discretize`.

    Raises:
        ValueError: ``alpha`` outside ``[0, 1]``.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"gbt needs 0 <= alpha <= 1, got {alpha}")
    return LinearScheme(f"gbt({alpha:g})", _gbt_dense(alpha), _gbt_diagonal(alpha))


class LinearMap(DiscreteMap):
    """The discrete linear system ``x_k = Abar_k x_{k-1} + Bbar_k u_k``, ``y_k = C x_k + D u_k``
    (update, then read, as S4 / Mamba / LRU).

    Attributes:
        Abar: ``(n, n)``, or ``(n,)`` for a diagonal system; a leading ``(T,)`` when the step
            size varies per step.
        Bbar: ``(n, m)`` (leading ``(T,)`` likewise).
        C, D: the output matrices the recursion reads with (``Re(C x)`` for a complex state).
        dt: the step size(s).
        scheme: the scheme's name.
        diagonal: whether ``Abar`` is stored as its diagonal.
    """

    def __init__(self, Abar: torch.Tensor, Bbar: torch.Tensor, C: torch.Tensor, D: torch.Tensor, *, dt: torch.Tensor,
                 scheme: str, diagonal: bool, scipy_matrices: Matrices):
        super().__init__()
        self.diagonal, self.scheme = diagonal, scheme
        self.state_dim, self.input_dim = Bbar.shape[-2], Bbar.shape[-1]
        for name, value in (("Abar", Abar), ("Bbar", Bbar), ("C", C), ("D", D), ("dt", dt)):
            self.register_buffer(name, value)
        self._scipy = scipy_matrices
        self.per_step = dt.ndim == 1

    def cont2discrete_matrices(self) -> Matrices:
        """``(Ad, Bd, Cd, Dd)`` exactly as ``scipy.signal.cont2discrete`` defines them for this scheme
        (``Ad`` as a full matrix also for a diagonal system)."""
        Ad, Bd, Cd, Dd = self._scipy
        return (torch.diag_embed(Ad) if self.diagonal else Ad), Bd, Cd, Dd

    def _transition(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        return A * x if self.diagonal else x @ A.mT

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.per_step:
            raise ValueError("this map has one step size per step: use rollout(x0, inputs) or scan(x0, inputs)")
        x = self._transition(x.to(self.Abar.dtype), self.Abar)
        return x if u is None else x + u.to(self.Bbar.dtype) @ self.Bbar.mT

    def output(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """``y = C x + D u`` (the real part of ``C x`` for a complex state); any leading shape."""
        y = x @ self.C.mT
        if y.is_complex():
            y = y.real
        return y if u is None else y + u @ self.D.mT

    def _inputs(self, x0: torch.Tensor, inputs: torch.Tensor | None,
                steps: int | None) -> tuple[int, tuple[int, ...], torch.Tensor | None]:
        """The number of steps, the batch shape and the inputs ``(T, *batch or 1s, m)`` in the map's dtype."""
        if x0.shape[-1] != self.state_dim:
            raise ValueError(f"x0 must have shape (*batch, {self.state_dim}), got {tuple(x0.shape)}")
        if inputs is None:
            if steps is None:
                raise ValueError("pass inputs (T, *batch, m), or steps= for a free run")
            T = steps
        else:
            if inputs.ndim < 2 or inputs.shape[-1] != self.input_dim:
                raise ValueError(f"inputs must have shape (T, *batch, {self.input_dim}), got {tuple(inputs.shape)}")
            T = inputs.shape[0]
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"a linear map runs at least one step: got {T!r} (inputs of length 0, or steps=)")
        if self.per_step and self.Abar.shape[0] != T:
            raise ValueError(f"this map has {self.Abar.shape[0]} step sizes but {T} inputs were given")
        batch = x0.shape[:-1] if inputs is None else torch.broadcast_shapes(x0.shape[:-1], inputs.shape[1:-1])
        if inputs is None:
            return T, batch, None
        u = inputs.to(self.Abar.dtype)
        return T, batch, u.reshape(T, *([1] * (len(batch) - (u.ndim - 2))), *u.shape[1:])  # shared across the batch

    def _drive(self, T: int, batch: tuple[int, ...], u: torch.Tensor | None,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-step transitions ``A_k`` and drives ``b_k = Bbar_k u_k``, shapes ``(T, ..., n[, n])``, for
        :meth:`_inputs`' steps, batch shape and inputs."""
        dtype = self.Abar.dtype
        if u is None:
            b = torch.zeros(T, *batch, self.state_dim, dtype=dtype, device=device)
        else:
            # one batched product for every step: (T, *batch, m) x (T or 1, m, n)
            Bt = self.Bbar.mT if not self.per_step else self.Bbar.mT.reshape(T, *([1] * (u.ndim - 2)), self.input_dim, self.state_dim)
            b = (u[..., None, :] @ Bt)[..., 0, :].expand(T, *batch, self.state_dim)
        A = self.Abar if self.per_step else self.Abar.expand(T, *self.Abar.shape)
        return A, b

    def rollout(self, x0: torch.Tensor, inputs: torch.Tensor | None = None, *, steps: int | None = None) -> torch.Tensor:
        """Sequential evaluation: ``x_1 .. x_T``, shape ``(T, *batch, n)``."""
        A, b = self._drive(*self._inputs(x0, inputs, steps), x0.device)
        x = x0.to(self.Abar.dtype)
        states = []  # unbind and one stack, not [k] reads and writes (their backward is O(T) each: see RateRNN)
        for A_k, b_k in zip(A.unbind(0), b.unbind(0)):
            x = self._transition(x, A_k) + b_k
            states.append(x)
        return self._checked(torch.stack(states))

    def scan(self, x0: torch.Tensor, inputs: torch.Tensor | None = None, *, steps: int | None = None,
             chunk: int | None = None) -> torch.Tensor:
        """The same states as :meth:`rollout`, by the chunked scan (:func:`chunked_scan`): about ``2 sqrt(T)``
        sequential steps over batches of chunks instead of ``T`` small ones; each step's drive ``Bbar u_k``
        is made as the scan reaches it.

        Arguments:
            x0: the initial state ``(*batch, n)``.
            inputs: ``(T, *batch, m)``, or ``None`` with ``steps`` for a free run.
            steps: the number of steps of a free run.
            chunk: steps per chunk (``None``: about ``sqrt(T)``; ``1``: the associative scan alone).

        Returns:
            ``x_1 .. x_T``, ``(T, *batch, n)``.

        Raises:
            ValueError: for inputs or a state of the wrong shape, or a chunk below 1.
        """
        T, batch, u = self._inputs(x0, inputs, steps)
        if u is None or self.per_step:
            A, b = self._drive(T, batch, u, x0.device)
            source, drive = b, (lambda part: part)
        else:
            A = self.Abar.expand(T, *self.Abar.shape)
            Bt = self.Bbar.mT
            source = u
            # one input channel: a broadcast product, several times faster than a matmul of inner size 1
            drive = (lambda part: part * Bt[0]) if self.input_dim == 1 else (lambda part: part @ Bt)
        A = _per_batch(A, len(batch) + 2, self.diagonal)
        return self._checked(_chunked(A, source, drive, x0, self.diagonal, chunk))

    def _checked(self, states: torch.Tensor) -> torch.Tensor:
        # a linear recurrence keeps a non-finite component non-finite (0 * inf and 0 * nan are nan), so a
        # finite last state means finite states throughout: only then is the whole sequence searched
        if states.shape[0] == 0 or bool(torch.isfinite(states[-1]).all()):
            return states
        error = locate_divergence(states, torch.arange(1, states.shape[0] + 1), what="linear map (time in steps)")
        if error is not None:
            raise error
        return states

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.per_step:
            raise ValueError("this map has one step size per step: its Jacobian depends on the step")
        A = torch.diag_embed(self.Abar) if self.diagonal else self.Abar
        return A.expand(*x.shape[:-1], self.state_dim, self.state_dim)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        if self.per_step:
            raise ValueError("this map has one step size per step: its Jacobian depends on the step")
        if v.ndim == x.ndim + 1:
            return self.Abar[:, None] * v if self.diagonal else self.Abar @ v
        return self._transition(v, self.Abar)


def _chunk_length(T: int) -> int:
    # about sqrt(T): the two sequential passes take 2 sqrt(T) steps over the batch of sqrt(T) chunks, and the
    # scan between chunks has log2 sqrt(T) levels (on 2 cores at T = 4096, chunks of 16 to 128 are within 10%)
    return max(1, math.isqrt(T))


def chunked_scan(A: torch.Tensor, b: torch.Tensor, *, diagonal: bool, x0: torch.Tensor | None = None,
                 chunk: int | None = None) -> torch.Tensor:
    """``x_k = A_k x_{k-1} + b_k`` for ``k = 0 .. T-1`` from ``x_{-1} = x0``, by chunks.

    The sequence is cut into ``C = T // chunk`` chunks. A first pass runs every chunk at once from a zero start
    (the first from ``x0``), sequentially over the ``chunk`` positions: each chunk's end state and transition
    product. The associative scan (:func:`associative_scan`) over the ``C`` chunks turns these into each
    chunk's true start, and a second sequential pass writes the states from those starts; the last
    ``T mod chunk`` steps run on sequentially. ``2 chunk + T mod chunk`` steps over whole batches of chunks
    and ``log2 C`` associative levels replace ``T`` small steps; ``chunk = 1`` is the associative scan alone
    and ``chunk >= T`` the sequential loop.

    Arguments:
        A: the transitions: ``(T, n)`` or ``(T, *batch, n)`` (diagonal), ``(T, n, n)`` (dense). A
            time-invariant ``A`` may be an expanded view (stride 0 along time): its chunk product is then
            computed once.
        b: the drives ``(T, *batch, n)``.
        diagonal: whether ``A`` holds diagonals (elementwise products) or matrices.
        x0: the state before the first step, ``(*batch, n)``; ``None``: zero.
        chunk: steps per chunk; ``None``: about ``sqrt(T)``.

    Returns:
        The states ``x_0 .. x_{T-1}``, ``(T, *batch, n)``.

    Raises:
        ValueError: for a chunk below 1.
    """
    A = _per_batch(A, b.ndim, diagonal)
    return _chunked(A, b, lambda part: part, x0, diagonal, chunk)


def _per_batch(A: torch.Tensor, b_ndim: int, diagonal: bool) -> torch.Tensor:
    """``A`` with singleton batch axes where it is shared across the batch."""
    if A.ndim != b_ndim + (0 if diagonal else 1):
        A = A.reshape(A.shape[0], *([1] * (b_ndim - 2)), *A.shape[1:])
    return A


def _chunked(A: torch.Tensor, source: torch.Tensor, drive, x0: torch.Tensor | None, diagonal: bool,
             chunk: int | None) -> torch.Tensor:
    """The chunked scan with the drives made on the fly: ``drive(source[k...])`` is ``b`` at those steps
    (``source`` the drives themselves, or the inputs that make them: no ``(T, *batch, n)`` drive is held)."""
    T = source.shape[0]
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk must be an int of at least 1 (or None for about sqrt(T)), got {chunk!r}")
    if T == 0:
        raise ValueError("the scan needs at least one step (inputs of length 0, or steps=0)")
    L = _chunk_length(T) if chunk is None else chunk
    if diagonal:
        def advance(a, x, b, out=None):
            return torch.addcmul(b, a, x, out=out) if out is not None else torch.addcmul(b, a, x)
        compose = torch.mul
    else:
        def advance(a, x, b, out=None):
            product = (a @ x[..., None])[..., 0]
            return torch.add(product, b, out=out) if out is not None else product + b
        compose = torch.matmul
    first = drive(source[:1])[0]
    # out= writes are not differentiable: where a gradient is recorded, each state is copied in instead
    recorded = torch.is_grad_enabled() and (A.requires_grad or first.requires_grad
                                            or (x0 is not None and x0.requires_grad))
    if recorded:
        plain = advance

        def advance(a, x, b, out=None):
            value = plain(a, x, b)
            if out is not None:
                out.copy_(value)
            return value
    dtype = torch.promote_types(first.dtype, A.dtype)
    batch = first.shape[:-1] if x0 is None else torch.broadcast_shapes(first.shape[:-1], x0.shape[:-1])
    n = first.shape[-1]
    out = torch.empty(T, *batch, n, dtype=dtype, device=first.device)
    C = T // L
    prev = (torch.zeros((*batch, n), dtype=dtype, device=out.device) if x0 is None
            else x0.to(dtype).expand(*batch, n))
    if C >= 2:
        T0 = C * L
        Ac, Sc = A[:T0].unflatten(0, (C, L)), source[:T0].unflatten(0, (C, L))
        # a time-invariant A (a view with stride 0 along time) has one chunk product for every chunk
        invariant = A.stride(0) == 0
        starts = torch.zeros((C, *batch, n), dtype=dtype, device=out.device)
        starts[0] = prev
        # pass 1: every chunk from zero (the first from x0) at once: its end state and its transition product
        x, product = starts, None
        for position in range(L):
            a = Ac[:, position]
            x = advance(a, x, drive(Sc[:, position]))
            a = a[:1] if invariant else a
            product = a if product is None else compose(a, product)
        # between chunks: chunk c's end is product_c (end of chunk c - 1) + its own zero-start end
        ends = associative_scan(product.expand(C, *product.shape[1:]), x, diagonal=diagonal)
        starts = torch.cat([prev[None], ends[:-1]])
        # pass 2: every chunk from its true start, written in place
        chunks = out[:T0].unflatten(0, (C, L))
        x = starts
        for position in range(L):
            x = advance(Ac[:, position], x, drive(Sc[:, position]), out=chunks[:, position])
        prev, begin = x[-1], T0
    else:
        begin = 0
    for k in range(begin, T):  # the rest (or all, for fewer than two chunks): step by step
        prev = advance(A[k], prev, drive(source[k:k + 1])[0], out=out[k])
    return out


def associative_scan(A: torch.Tensor, b: torch.Tensor, *, diagonal: bool) -> torch.Tensor:
    """Inclusive scan of ``x_k = A_k x_{k-1} + b_k`` with ``x_{-1} = 0`` (fold ``x0`` into ``b_0``).

    Work-efficient recursive form (Blelloch 1990): compose adjacent pairs of steps, scan the half-length
    sequence, then fill in the remaining positions; about 2 T products in ``ceil(log2 T)`` levels of
    whole-sequence operations, instead of T sequential steps.

    Arguments:
        A: ``(T, n)`` or, per element, ``(T, *batch, n)`` (diagonal); ``(T, n, n)`` (dense).
        b: ``(T, *batch, n)``.

    Returns:
        ``(T, *batch, n)``.
    """
    A = _per_batch(A, b.ndim, diagonal)
    if diagonal:
        return _scan(A, b, lambda a, c: a * c, lambda a, x: a * x)
    return _scan(A, b, lambda a, c: a @ c, lambda a, x: (a @ x[..., None])[..., 0])


def _scan(A: torch.Tensor, b: torch.Tensor, compose, apply) -> torch.Tensor:
    T = b.shape[0]
    if T == 1:
        return b
    half = T // 2
    A_even, A_odd = A[0:2 * half:2], A[1:2 * half:2]
    b_even, b_odd = b[0:2 * half:2], b[1:2 * half:2]
    # pair i composes steps 2i and 2i+1: its scan gives the states at the odd positions
    odd = _scan(compose(A_odd, A_even), apply(A_odd, b_even) + b_odd, compose, apply)
    out = torch.empty(b.shape, dtype=odd.dtype, device=b.device)
    out[1:2 * half:2] = odd
    out[0] = b[0]
    rest = out[2::2]  # x_{2i} = A_{2i} x_{2i-1} + b_{2i}
    if rest.shape[0]:
        out[2::2] = apply(A[2::2], odd[: rest.shape[0]]) + b[2::2]
    return out
