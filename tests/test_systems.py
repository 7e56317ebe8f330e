"""Models: equations, analytic Jacobians and JVPs against autograd, construction and bad input."""

import math

import pytest
import torch

import ctrnn
from ctrnn.systems import Lorenz, Rossler, VanDerPol


def autograd_jacobian(system, x, u=None):
    """Independent reference: torch.autograd.functional.jacobian, one batch element at a time."""
    t = torch.tensor(0.0)
    flat = x.reshape(-1, x.shape[-1])
    us = [None] * len(flat) if u is None else u.expand(*x.shape[:-1], u.shape[-1]).reshape(len(flat), -1)
    return torch.stack([torch.autograd.functional.jacobian(lambda y: system(t, y, ui), xi)
                        for xi, ui in zip(flat, us)]).reshape(*x.shape, x.shape[-1])


MODELS = {  # name -> (factory, input size); built inside the test, after the float64 fixture ran
    "rate-x-tanh": (lambda: ctrnn.RateRNN(6, n_inputs=2, form="x", g=1.3, seed=3, tau=torch.linspace(0.5, 2, 6)), 2),
    "rate-r-softplus": (lambda: ctrnn.RateRNN(5, n_inputs=1, form="r", activation="softplus", seed=4), 1),
    "rate-r-sigmoid-dale": (lambda: ctrnn.RateRNN(6, n_inputs=2, form="r", activation="sigmoid", dale=0.5, seed=5), 2),
    "rate-x-relu": (lambda: ctrnn.RateRNN(4, form="x", activation="relu", seed=6, bias=torch.full((4,), 0.3)), 0),
    "beer": (lambda: ctrnn.BeerCTRNN(torch.randn(4, 4, generator=torch.Generator().manual_seed(1)),
                                     taus=torch.tensor([1.0, 2.0, 0.5, 1.5]), biases=torch.tensor([0.5, -1.0, 0.0, 2.0]),
                                     gains=torch.tensor([1.0, 2.0, 0.5, 1.0])), 4),
    "lorenz": (Lorenz, 0),
    "rossler": (Rossler, 0),
    "vanderpol": (lambda: VanDerPol(mu=2.5), 0),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_analytic_jacobian_and_jvp_match_autograd(name):
    factory, m = MODELS[name]
    system = factory()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, system.state_dim, generator=gen)
    if name == "rate-x-relu":
        x = x + 0.05 * torch.sign(x)  # keep away from relu's kink, where the derivative is a convention
    u = torch.randn(3, 2, m, generator=gen) if m else None
    J = system.jacobian(x, u)
    J_ref = autograd_jacobian(system, x, u)
    assert J.shape == (3, 2, system.state_dim, system.state_dim)
    torch.testing.assert_close(J, J_ref, rtol=1e-12, atol=1e-12)  # same float64 arithmetic, re-ordered
    v = torch.randn(3, 2, system.state_dim, generator=gen)
    torch.testing.assert_close(system.jvp(x, v, u), (J_ref @ v[..., None])[..., 0], rtol=1e-12, atol=1e-12)
    V = torch.randn(3, 2, system.state_dim, 3, generator=gen)  # k = 3 tangent vectors
    torch.testing.assert_close(system.jvp(x, V, u), J_ref @ V, rtol=1e-12, atol=1e-12)


def test_default_jacobian_of_a_vector_field_is_autograd():
    A = torch.randn(4, 4, generator=torch.Generator().manual_seed(2))
    field = ctrnn.VectorField(lambda t, x, u: torch.sin(x) @ A.T, 4)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(3))
    expected = A * torch.cos(x)[:, None, :]  # d/dx_j sum_k A_ik sin(x_k) = A_ij cos(x_j)
    torch.testing.assert_close(field.jacobian(x), expected, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(field.jvp(x, x), (expected @ x[..., None])[..., 0], rtol=1e-14, atol=1e-14)


def test_a_small_fields_jacobian_takes_one_sweep_only_where_it_is_the_same():
    """n <= 16: the Jacobian by one reverse sweep over n copies of the batch, checked once against the vmapped
    one; a field written for one state only (x[0], x[1]: copies would be read as states) is caught by that check
    and keeps the vmapped Jacobian. Both against the closed form; gradients through the fast one too."""
    A = torch.randn(3, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    batched = ctrnn.VectorField(lambda t, x, u: torch.tanh(x) @ A.T, 3)
    single = ctrnn.VectorField(lambda t, x, u: torch.stack([x[1] * x[2], -x[0], torch.sin(x[0])]), 3)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    expected = A * (1 - torch.tanh(x) ** 2)[:, None, :]
    for _ in range(2):  # the first call checks, the second takes the verdict
        torch.testing.assert_close(batched.jacobian(x), expected, rtol=1e-14, atol=1e-14)
    assert batched.__dict__["_replicated_jacobian"] is True
    V = torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    torch.testing.assert_close(batched.jvp(x, V), expected @ V, rtol=1e-14, atol=1e-14)
    p = x[0]
    expected_single = torch.tensor([[0.0, p[2], p[1]], [-1.0, 0.0, 0.0], [torch.cos(p[0]), 0.0, 0.0]],
                                   dtype=torch.float64)
    for _ in range(2):
        torch.testing.assert_close(single.jacobian(p), expected_single, rtol=1e-14, atol=1e-14)
    assert single.__dict__["_replicated_jacobian"] is False
    # checked at a generic point, not at the first one asked for: at the origin this one's copies happen to give
    # the right (symmetric) Jacobian, and would have been trusted at (1, 2) too (a new-user trial found it)
    radial = ctrnn.VectorField(lambda t, x, u: torch.stack([-x[0] - x[0] * x[1] ** 2, -x[1] - x[0] ** 2 * x[1]]), 2)
    torch.testing.assert_close(radial.jacobian(torch.zeros(2, dtype=torch.float64)),
                               -torch.eye(2, dtype=torch.float64), rtol=0, atol=0)
    torch.testing.assert_close(radial.jacobian(torch.tensor([1.0, 2.0], dtype=torch.float64)),
                               torch.tensor([[-5.0, -4.0], [-4.0, -2.0]], dtype=torch.float64), rtol=0, atol=1e-15)
    # differentiable: d/dx of sum(J) = d/dx sum_ij A_ij (1 - tanh(x_j)^2), by autograd through the fast path
    y = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(batched.jacobian(y).sum(), y)
    torch.testing.assert_close(grad, A.sum(0) * -2 * torch.tanh(x) * (1 - torch.tanh(x) ** 2), rtol=1e-12,
                               atol=1e-12)


def test_a_field_written_for_one_state_is_told_how_to_read_a_batch():
    rossler = ctrnn.VectorField(lambda t, x, u: torch.stack([-x[1] - x[2], x[0] + 0.2 * x[1], 0.2 + x[2] * (x[0] - 5.7)]),
                                3)
    with pytest.raises(IndexError, match=r"got states of shape \(1, 3\).*read components as x\[\.\.\., i\]"):
        ctrnn.lyapunov_spectrum(rossler, torch.ones(3, dtype=torch.float64), t_total=1.0, dt=0.01, t_transient=0.01)


def test_linear_catalog_model_has_the_documented_spectrum():
    """build_system("linear"): A = J - (1 + decay) I, J_ij ~ N(0, 1/n), C = I, D = 0 (its docstring)."""
    n, decay = 400, 0.5
    ssm = ctrnn.build_system("linear", {"n": n, "m": 2, "decay": decay}, seed=0)
    lam = torch.linalg.eigvals(ssm.A.detach())
    # mean eigenvalue = trace(A) / n = -(1 + decay) + trace(J) / n, and trace(J) / n has std 1 / n
    assert abs(float(lam.real.mean()) + 1 + decay) < 5 / n
    # circular law: the eigenvalues fill the unit disc around -(1 + decay); at n = 400 the edge
    # spreads by a few percent (1.004 to 1.05 over seeds 0-4), so 0.15 is a wide margin
    assert float((lam + 1 + decay).abs().max()) < 1.15
    assert -decay - 0.15 < float(lam.real.max()) < -decay + 0.15  # stable: the slowest mode decays at ~decay
    torch.testing.assert_close(ssm.C.detach(), torch.eye(n), rtol=0, atol=0)  # the state is the output
    assert ssm.B.shape == (n, 2) and not ssm.D.detach().any()
    for seed in range(5):  # the default model (n = 8) is stable too
        A = ctrnn.build_system("linear", seed=seed).A.detach()
        assert float(torch.linalg.eigvals(A).real.max()) < 0


def test_rate_equations_written_out():
    net = ctrnn.RateRNN(3, n_inputs=2, form="x", seed=0, tau=torch.tensor([1.0, 2.0, 4.0]),
                        bias=torch.tensor([0.1, -0.2, 0.3]))
    x, u = torch.randn(3), torch.randn(2)
    expected = (-x + net.W @ torch.tanh(x) + net.W_in @ u + net.bias) / net.tau
    torch.testing.assert_close(net(torch.tensor(0.0), x, u), expected, rtol=1e-15, atol=1e-15)
    r_net = ctrnn.RateRNN(3, n_inputs=2, form="r", activation="relu", seed=0)
    expected = -x + torch.relu(r_net.W @ x + r_net.W_in @ u + r_net.bias)
    torch.testing.assert_close(r_net(torch.tensor(0.0), x, u), expected, rtol=1e-15, atol=1e-15)


def test_random_init_statistics_and_seed():
    n = 400
    net = ctrnn.RateRNN(n, g=1.5, seed=7)
    assert abs(float(net.W.detach().std()) * math.sqrt(n) - 1.5) < 0.02  # std of 160k N(0, g^2/n) draws: ~0.2% error
    assert torch.equal(net.W, ctrnn.RateRNN(n, g=1.5, seed=7).W)
    assert not torch.equal(net.W, ctrnn.RateRNN(n, g=1.5, seed=8).W)
    # the same seed gives the same network in float32 and float64
    torch.set_default_dtype(torch.float32)
    net32 = ctrnn.RateRNN(n, g=1.5, seed=7)
    assert net32.W.dtype == torch.float32
    torch.testing.assert_close(net32.W.double(), net.W, rtol=0, atol=1e-7)
    assert ctrnn.RateRNN(5, seed=None).config()["seed"] is not None  # a fresh seed is recorded
    zd = ctrnn.RateRNN(50, zero_diagonal=True, seed=1)
    assert torch.count_nonzero(torch.diagonal(zd.W)) == 0


def test_dale_law_signs_and_balance():
    n = 200
    net = ctrnn.RateRNN(n, dale=0.8, seed=0)
    W = net.W_eff.detach()
    n_exc = 160
    assert bool((W[:, :n_exc] >= 0).all()) and bool((W[:, n_exc:] <= 0).all())
    # balanced E/I: expected row sum zero; the row sums' mean is zero up to sampling error
    # (std of one row sum ~ g sqrt(1 - 2/pi) * sqrt(1 + n_E/n_I) ~ 1.4, mean over 200 rows ~ 0.1)
    assert abs(float(W.sum(1).mean())) < 0.5
    # the raw parameter may change sign during training; the effective matrix keeps Dale's law
    with torch.no_grad():
        net.W.mul_(-1)
    assert bool((net.W_eff[:, :n_exc] >= 0).all()) and bool((net.W_eff[:, n_exc:] <= 0).all())


@pytest.mark.parametrize("kwargs,match", [
    ({"W": torch.zeros(3, 4)}, r"W must have shape \(4, 4\)"),
    ({"W": torch.full((4, 4), float("nan"))}, "W contains 16 non-finite"),
    ({"W_in": torch.zeros(4, 3), "n_inputs": 2}, r"W_in must have shape \(4, 2\)"),
    ({"bias": torch.zeros(5)}, r"bias must have shape \(4,\)"),
    ({"tau": 0.0}, "tau must be > 0"),
    ({"tau": torch.ones(3)}, r"tau must be a scalar or have shape \(4,\)"),
    ({"form": "y"}, "unknown form 'y'; choose one of: r, x"),
    ({"activation": "gelu"}, "unknown activation 'gelu'; choose one of: linear, relu, sigmoid, softplus, tanh"),
    ({"dale": 1.2}, r"dale is the excitatory fraction and must lie in \(0, 1\)"),
    ({"g": float("inf")}, "g must be a finite number"),
])
def test_rate_rnn_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ctrnn.RateRNN(4, **kwargs)


def test_beer_bad_input_and_wrapper_types():
    with pytest.raises(ValueError, match="square"):
        ctrnn.BeerCTRNN(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="taus must be > 0"):
        ctrnn.BeerCTRNN(torch.zeros(2, 2), taus=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="non-finite"):
        ctrnn.BeerCTRNN(torch.tensor([[1.0, float("inf")], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="callable"):
        ctrnn.VectorField(3, 2)
    with pytest.raises(ValueError, match="state_dim must be >= 1"):
        ctrnn.VectorField(lambda t, x, u: x, 0)


def test_activation_inverses():
    y = torch.linspace(0.05, 0.95, 7)
    for name in ("tanh", "sigmoid", "softplus", "relu", "linear"):
        act = ctrnn.ACTIVATIONS[name]
        torch.testing.assert_close(act.fn(act.inverse(y)), y, rtol=1e-14, atol=1e-14)
    with pytest.raises(ValueError, match="relu"):
        ctrnn.ACTIVATIONS["relu"].inverse(torch.tensor([-1.0]))


def test_iterated_map_rollout_and_divergence():
    A = torch.tensor([[0.5, 0.1], [0.0, 0.9]])
    dmap = ctrnn.IteratedMap(lambda x, u: x @ A.T + u, 2, input_dim=2)
    x0 = torch.tensor([[1.0, 2.0]])
    u = torch.randn(6, 1, 2, generator=torch.Generator().manual_seed(0))
    xs = dmap.rollout(x0, u)
    x = x0
    for k in range(6):  # update-then-read: inputs[k] produces state k + 1
        x = A @ x[0] + u[k, 0]
        x = x[None]
        torch.testing.assert_close(xs[k], x, rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(dmap.jacobian(x0, u[0]), A.expand(1, 2, 2), rtol=0, atol=0)
    blowup = ctrnn.IteratedMap(lambda x, u: x * x, 1)
    with pytest.raises(ctrnn.DivergenceError, match="between t = 9 and t = 10") as info:
        blowup.rollout(torch.tensor([[0.5], [3.0]]), steps=20)
    assert info.value.batch_indices == (1,)


def test_python_numbers_keep_every_digit_under_a_float32_default():
    """0.1 must not pass through float32 on its way to a float64 step, time grid or input."""
    torch.set_default_dtype(torch.float32)
    ssm = ctrnn.DiagonalSSM(torch.tensor([-0.5 + 3j], dtype=torch.complex128), torch.ones(1, 1, dtype=torch.complex128))
    assert float(ctrnn.discretize(ssm, 0.1, scheme="zoh").dt) == 0.1
    traj = ctrnn.simulate(ctrnn.VectorField(lambda t, x, u: u, 1, 1), torch.zeros(1, dtype=torch.float64),
                          [0.0, 0.1, 0.3], inputs=0.1)
    assert traj.t.tolist() == [0.0, 0.1, 0.3] and float(traj.u[0]) == 0.1


@pytest.mark.parametrize("make,match", [
    (lambda: ctrnn.LinearSSM(torch.zeros(2, 3), torch.zeros(2, 1)), r"A must be a square \(n, n\) matrix"),
    (lambda: ctrnn.LinearSSM(torch.eye(2), torch.zeros(3, 1)), r"B must have shape \(2, m\), got \(3, 1\)"),
    (lambda: ctrnn.LinearSSM(torch.eye(2), torch.zeros(2, 1), C=torch.zeros(1, 3)), r"C must have shape \(p, 2\)"),
    (lambda: ctrnn.LinearSSM(torch.eye(2), torch.zeros(2, 1), D=torch.zeros(2, 2)), r"D must have shape \(2, 1\)"),
    (lambda: ctrnn.LinearSSM(torch.tensor([[float("nan"), 0], [0, 1]]), torch.zeros(2, 1)), "A contains 1 non-finite"),
    (lambda: ctrnn.DiagonalSSM(torch.zeros(2, 2), torch.zeros(2, 1)), r"lam must be 1-D"),
    (lambda: ctrnn.DiagonalSSM.lru(4, r_min=0.99, r_max=0.9), "need 0 < r_min < r_max <= 1"),
    (lambda: ctrnn.GRUODE(3, 2, weight_hh=torch.zeros(3, 3)), r"weight_hh must have shape \(9, 3\)"),
    (lambda: ctrnn.LSTMODE(3, 2, tau=0.0), "tau must be a finite number > 0"),
    (lambda: ctrnn.SelectiveSSM(0), "d must be >= 1"),
])
def test_state_space_and_gated_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()
