"""The core verbs in float32 as well as float64 (conftest's ``dtype`` fixture): one test body per check, its
tolerance derived from the dtype (``eps = torch.finfo(dtype).eps``), the method's order and the problem's
scale, written beside each assertion.

Every reference (scipy's expm, DOP853 and cont2discrete, torch.nn's RNN and GRUCell, the published Lorenz
points) is evaluated in float64 on the float32-rounded data, so the difference measured is ctrnn's own."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch
from conftest import dop853, eps_of, solver_bound
from torch import nn

import ctrnn


def solver_tolerances(dtype) -> tuple[float, float]:
    """rtol for an adaptive solve: 1e-10 in float64; in float32 100 eps (1.2e-5), since a step's error estimate
    cannot resolve less than a few eps |x|. atol a tenth of it."""
    rtol = max(1e-10, 100 * eps_of(dtype))
    return rtol, rtol / 10


def tensor(a) -> torch.Tensor:
    """numpy data in the default dtype (torch.tensor keeps numpy's float64)."""
    return torch.tensor(np.asarray(a), dtype=torch.get_default_dtype())


def f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def test_linear_flow_matches_expm(dtype):
    rng = np.random.default_rng(3)
    A = tensor(rng.standard_normal((5, 5)) / np.sqrt(5) - 0.3 * np.eye(5))
    x0 = tensor(rng.standard_normal((4, 5)))
    t = np.linspace(0.0, 3.0, 7)
    rtol, atol = solver_tolerances(dtype)
    traj = ctrnn.simulate(ctrnn.VectorField(lambda t, x, u: x @ A.T, 5), x0, t, rtol=rtol, atol=atol)
    assert traj.x.dtype == dtype and traj.t.dtype == dtype  # no upcast on the way
    expected = np.stack([f64(x0) @ scipy.linalg.expm(f64(A) * tk).T for tk in t])
    # solver_bound: n_steps x (atol + rtol |x|) x 10; in float32 each step also rounds, n_steps x eps |x|
    bound = solver_bound(traj) + traj.stats.n_steps * eps_of(dtype) * float(traj.x.abs().max())
    np.testing.assert_allclose(f64(traj.x), expected, rtol=0, atol=bound)


def test_rate_network_matches_dop853(dtype):
    n, m, B = 6, 1, 2
    net = ctrnn.RateRNN(n, n_inputs=m, g=1.5, seed=11, tau=torch.linspace(0.5, 1.5, n))
    W, W_in, b, tau = (f64(p) for p in (net.W, net.W_in, net.bias, net.tau))
    assert net.W.dtype == dtype
    x0 = torch.randn(B, n, generator=torch.Generator().manual_seed(1))
    t = np.linspace(0.0, 4.0, 21)
    rtol, atol = solver_tolerances(dtype)
    traj = ctrnn.simulate(net, x0, t, inputs=0.3, rtol=rtol, atol=atol)
    assert traj.x.dtype == dtype
    bound = solver_bound(traj) + traj.stats.n_steps * eps_of(dtype) * float(traj.x.detach().abs().max())
    for i in range(B):
        ref = dop853(lambda s, x: (-x + W @ np.tanh(x) + W_in[:, 0] * 0.3 + b) / tau, f64(x0[i]), t)
        np.testing.assert_allclose(f64(traj.x[:, i]), ref, rtol=0, atol=bound)


@pytest.mark.parametrize("scheme", ["zoh", "bilinear"])
def test_linear_ssm_discretization_equals_cont2discrete(dtype, scheme):
    rng = np.random.default_rng(1)
    n, m, p, dt = 5, 2, 3, 0.07
    A = rng.standard_normal((n, n)) / np.sqrt(n) - np.eye(n)
    mats = [tensor(M) for M in (A, rng.standard_normal((n, m)), rng.standard_normal((p, n)),
                                      rng.standard_normal((p, m)))]
    dmap = ctrnn.discretize(ctrnn.LinearSSM(*mats), dt, scheme=scheme)
    ref = scipy.signal.cont2discrete(tuple(f64(M) for M in mats), dt, method=scheme)[:4]
    for ours, theirs, name in zip(dmap.cont2discrete_matrices(), ref, "ABCD", strict=True):
        assert ours.dtype == dtype, name
        # expm (Pade) and the bilinear solve of an n x n system with |A dt| < 1 and condition ~1: a few n eps
        # relative to the matrix's size; 10 n eps leaves room for the different summation orders
        np.testing.assert_allclose(f64(ours), theirs, rtol=0, atol=10 * n * eps_of(dtype) * max(1, np.abs(theirs).max()),
                                   err_msg=name)


def test_r_form_euler_map_equals_nn_rnn(dtype):
    """torch.nn.RNN in the default dtype (float32 for most users) against the r-form rate network's dt = tau map."""
    T, B, m, n = 12, 3, 2, 5
    gen = torch.Generator().manual_seed(0)
    u, h0 = torch.randn(T, B, m, generator=gen), 0.5 * torch.randn(B, n, generator=gen)
    torch.manual_seed(0)
    rnn = nn.RNN(m, n)
    assert rnn.weight_hh_l0.dtype == dtype
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(0.5)  # spectral norm below 1: rounding errors are not amplified along the run
    model = ctrnn.from_torch(rnn, tau=0.5)
    states = ctrnn.discretize(model, 0.5).rollout(h0, u)
    assert states.dtype == dtype
    ref, _ = rnn.double()(u.double(), h0.double()[None])
    # each step rounds a sum of n + m + 2 terms of size <= 1 (tanh <= 1): (n + m + 2) eps; the errors of earlier
    # steps pass through tanh' <= 1 and ||W||_2 = L, so after T steps (n + m + 2) eps sum_k L^k
    L = float(torch.linalg.matrix_norm(rnn.weight_hh_l0.detach(), 2))
    bound = (n + m + 2) * eps_of(dtype) * sum(L**k for k in range(T))
    np.testing.assert_allclose(f64(states), f64(ref), rtol=0, atol=bound)


def test_lorenz_fixed_points_and_their_kinds(dtype):
    sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
    starts = torch.randn(64, 3, generator=torch.Generator().manual_seed(0)) * 10 + torch.tensor([0.0, 0.0, 25.0])
    fp = ctrnn.find_fixed_points(ctrnn.systems.Lorenz(), starts)
    assert len(fp) == 3 and fp.n_diverged == 0 and fp.slow_points.shape[0] == 0
    assert fp.points.dtype == dtype and fp.jacobians.dtype == dtype
    c = math.sqrt(beta * (rho - 1))  # REFERENCES.md: C+- = (+-8.485281, +-8.485281, 27), and the origin
    expected = np.array([[-c, -c, rho - 1], [0.0, 0.0, 0.0], [c, c, rho - 1]])
    order = torch.argsort(fp.points[:, 0])
    points, kinds = fp.points[order], [fp.kinds[i] for i in order]
    eps = eps_of(dtype)
    for i, x_star in enumerate(expected):
        J = np.array([[-sigma, sigma, 0], [rho - x_star[2], -1, -x_star[0]], [x_star[1], x_star[0], -beta]])
        # Newton stops where f is rounding, a few eps times the size of f's terms (|rho x| and |x z| < 250);
        # the point's error is that divided by the smallest singular value of J
        size_f = 250.0
        dx = 8 * eps * size_f / np.linalg.svd(J, compute_uv=False).min()
        np.testing.assert_allclose(f64(points[i]), x_star, rtol=0, atol=dx)
        # Bauer-Fike: |d lambda| <= cond(V) ||dJ||; dJ from the point's error (J is linear in x with unit
        # coefficients: ||dJ|| <= 2 dx) and from rounding J's entries (3 eps ||J||)
        evals, V = np.linalg.eig(J)
        dlam = np.linalg.cond(V) * (2 * dx + 3 * eps * np.linalg.norm(J, 2))
        ours = fp.eigenvalues[order[i]].numpy().astype(complex)
        np.testing.assert_allclose(np.sort_complex(ours), np.sort_complex(evals), rtol=0, atol=dlam)
    # the published classification: origin one unstable direction, C+- the unstable focus pair 0.094 +- 10.19i
    assert kinds == ["saddle (2 unstable)", "saddle (1 unstable)", "saddle (2 unstable)"]


def test_float32_torch_gru_has_one_fixed_point(dtype):
    """A small torch.nn.GRU with its default weights contracts to one fixed point. With a fixed tol = 1e-12
    (below float32 resolution) float32 reported "0 fixed points, 1 slow point (speed 4e-9)"; the default
    tolerance now follows the dtype."""
    n = 4
    torch.manual_seed(1)
    gru = nn.GRU(2, n)
    model = ctrnn.from_torch(gru)
    starts = 0.8 * torch.randn(32, n, generator=torch.Generator().manual_seed(0))
    fp = ctrnn.find_fixed_points(model, starts)
    assert len(fp) == 1 and fp.slow_points.shape[0] == 0 and fp.n_converged == 32, fp.summary()
    assert fp.points.dtype == dtype and fp.kinds[0].startswith("stable")
    # independent check: the point is a fixed point of torch's own GRU cell (dt = tau Euler map) in float64;
    # the float32 point is correct to the default tol's 256 eps (1 + |x|), |x| < 1, over a contraction
    # whose slowest rate is |lambda_0|
    cell = nn.GRUCell(2, n, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(gru, f"{name}_l0"))
        x = fp.points.double()
        residual = (cell(torch.zeros(1, 2, dtype=torch.float64), x) - x).abs().max()
    assert float(residual) <= 2 * 256 * eps_of(dtype), float(residual)
    slowest = float(fp.eigenvalues[0].real.abs().min())
    assert slowest > 0.05  # well separated from marginal, so the kind does not depend on rounding


def test_linear_flow_lyapunov_exponents_are_re_eig(dtype):
    """dx/dt = A x = P diag(lam) P^-1 x: the exponents are lam. The tangent frame aligns with the (fixed) Schur
    basis at the rate of the smallest gap, so after t_transient_vectors the estimate's error is about
    cond(P) exp(-gap t_transient_vectors) / t_total; in float32 each of the t_total / dt RK4 steps also rounds
    the growth factors, eps / dt per unit time; RK4's truncation |lambda|^5 dt^4 / 120 is 1e-5 here."""
    rng = np.random.default_rng(0)
    lam = np.array([-0.2, -0.6, -1.1, -1.7])
    P = rng.standard_normal((4, 4)) + 2 * np.eye(4)
    A = tensor(P @ np.diag(lam) @ np.linalg.inv(P))
    system = ctrnn.LinearSSM(A, torch.zeros(4, 1))
    x0 = tensor(rng.standard_normal((2, 4)))
    t_total, dt = 20.0, 0.1
    les = ctrnn.lyapunov_spectrum(system, x0, t_transient=1, t_total=t_total, dt=dt, t_transient_vectors=10)
    assert les.exponents.dtype == dtype
    gap = np.diff(-lam).min()
    tol = (np.linalg.cond(P) * math.exp(-gap * 10) / t_total + 10 * eps_of(dtype) / dt
           + np.abs(lam).max() ** 5 * dt**4 / 120)
    np.testing.assert_allclose(f64(les.exponents), lam, rtol=0, atol=tol)
