"""simulate against references nobody here wrote: scipy's DOP853, expm and lsim; gradcheck; failures."""

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch
from conftest import dop853, solver_bound

import ctrnn
from ctrnn.inputs import FunctionInput, PiecewiseConstant

# ctrnn (dopri5 unless stated) is asked for rtol = atol = 1e-10 and compared with DOP853 at 1e-12; the
# allowed difference is conftest.solver_bound: n_steps x (atol + rtol max|x|) x 10, a few 1e-7 here.
# (torchdiffeq's dopri8 misses its tolerance by ~1e4 on these problems, so it is not used as a reference.)
TOL = 1e-10


def _t(t_end=5.0, n=51):
    return np.linspace(0.0, t_end, n)


@pytest.mark.parametrize("form", ["x", "r"])
def test_rate_rnn_matches_dop853_with_batch_and_input(form):
    n, m, B = 8, 2, 3
    net = ctrnn.RateRNN(n, n_inputs=m, form=form, g=1.8, seed=11, tau=torch.linspace(0.5, 1.5, n),
                        bias=0.1 * torch.randn(n, generator=torch.Generator().manual_seed(0)))
    W, W_in, b, tau = (p.detach().numpy() for p in (net.W, net.W_in, net.bias, net.tau))
    x0 = torch.randn(B, n, generator=torch.Generator().manual_seed(1))
    freq = torch.tensor([[1.0, 0.5], [2.0, 0.3], [0.7, 1.1]])  # one input per batch element

    def u_torch(t):
        return torch.sin(freq * t)

    traj = ctrnn.simulate(net, x0, _t(), inputs=FunctionInput(u_torch, m), rtol=TOL, atol=TOL)
    for i in range(B):
        def rhs(t, x, i=i):  # DESIGN.md's equations, written out in numpy
            u = np.sin(freq[i].numpy() * t)
            if form == "x":
                return (-x + W @ np.tanh(x) + W_in @ u + b) / tau
            return (-x + np.tanh(W @ x + W_in @ u + b)) / tau

        ref = dop853(rhs, x0[i].numpy(), _t())
        np.testing.assert_allclose(traj.x[:, i].detach().numpy(), ref, rtol=0, atol=solver_bound(traj))
    assert torch.equal(traj.x[0], x0)
    torch.testing.assert_close(traj.u[3], u_torch(traj.t[3]))


def test_beer_ctrnn_matches_dop853_with_piecewise_constant_input():
    W = np.array([[4.5, 1.0, -0.5], [-1.0, 4.5, 0.3], [0.2, -0.7, 2.0]])
    taus, theta, gains = np.array([1.0, 2.0, 0.7]), np.array([-2.75, -1.75, -1.0]), np.array([1.0, 1.5, 0.8])
    beer = ctrnn.BeerCTRNN(torch.tensor(W), taus=torch.tensor(taus), biases=torch.tensor(theta), gains=torch.tensor(gains))
    t = _t(8.0, 81)
    levels = np.array([[0.0, 0.0, 0.0], [1.0, -0.5, 0.2], [0.0, 0.3, -1.0]])
    switch = [0.0, 2.5, 5.0]
    I = PiecewiseConstant(torch.tensor(switch), torch.tensor(levels), t_end=8.0)
    x0 = torch.tensor([0.1, -0.2, 0.3])
    traj = ctrnn.simulate(beer, x0, t, inputs=I, rtol=TOL, atol=TOL)

    def rhs(s, y):
        k = np.searchsorted(switch, s, side="right") - 1
        return (-y + W @ (1 / (1 + np.exp(-gains * (y + theta)))) + levels[k]) / taus

    ref = dop853(rhs, x0.numpy(), t, breaks=switch[1:])
    np.testing.assert_allclose(traj.x.detach().numpy(), ref, rtol=0, atol=solver_bound(traj))


def test_vector_field_and_lorenz_match_dop853():
    def forced_pendulum(t, x, u):  # a user's callable, with a time-dependent drive
        return torch.stack([x[..., 1], -torch.sin(x[..., 0]) - 0.2 * x[..., 1] + 0.5 * torch.cos(t)], -1)

    x0 = torch.tensor([[1.0, 0.0], [2.0, -1.0]])
    traj = ctrnn.simulate(ctrnn.VectorField(forced_pendulum, 2), x0, _t(), rtol=TOL, atol=TOL)
    for i in range(2):
        ref = dop853(lambda t, x: [x[1], -np.sin(x[0]) - 0.2 * x[1] + 0.5 * np.cos(t)], x0[i].numpy(), _t())
        np.testing.assert_allclose(traj.x[:, i].numpy(), ref, rtol=0, atol=solver_bound(traj))

    # Lorenz is chaotic (largest exponent 0.906): over t in [0, 2] errors grow by e^1.8 ~ 6 on average
    x0 = torch.tensor([[1.0, 1.0, 1.0], [-5.0, 3.0, 20.0]])
    t = _t(2.0, 41)
    traj = ctrnn.simulate(ctrnn.systems.Lorenz(), x0, t, rtol=TOL, atol=TOL)
    for i in range(2):
        ref = dop853(lambda t, s: [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]],
                     x0[i].numpy(), t)
        np.testing.assert_allclose(traj.x[:, i].numpy(), ref, rtol=0, atol=solver_bound(traj))


@pytest.mark.parametrize("method", ["dopri5", "bosh3", "adaptive_heun"])
def test_linear_flow_matches_expm(method):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 5)) / np.sqrt(5) - 0.3 * np.eye(5)
    At = torch.tensor(A)
    x0 = torch.tensor(rng.standard_normal((4, 5)))
    t = _t(3.0, 7)
    # tolerances matched to the order, so each solve takes ~100-1000 steps
    tol = {"dopri5": 1e-10, "bosh3": 1e-8, "adaptive_heun": 1e-6}[method]
    traj = ctrnn.simulate(ctrnn.VectorField(lambda t, x, u: x @ At.T, 5), x0, t, method=method, rtol=tol, atol=tol)
    expected = np.stack([x0.numpy() @ scipy.linalg.expm(A * tk).T for tk in t])
    np.testing.assert_allclose(traj.x.numpy(), expected, rtol=0, atol=solver_bound(traj))
    # the same flow as a rate network with a linear activation: tau dx/dt = -x + W x
    net = ctrnn.RateRNN(5, activation="linear", W=At + torch.eye(5))
    traj = ctrnn.simulate(net, x0, t, method=method, rtol=tol, atol=tol)
    np.testing.assert_allclose(traj.x.detach().numpy(), expected, rtol=0, atol=solver_bound(traj))


@pytest.mark.parametrize("method,kwargs,atol", [
    ("dopri5", {"rtol": TOL, "atol": TOL}, 1e-7),  # ~100 steps x 1e-10 x |x| ~ 3 x growth
    # rk4 with h = 0.01 on a system with rates ~1: global error ~ h^4 = 1e-8, up to a constant; both loops
    ("rk4", {"step_size": 0.01}, 1e-7),
    ("rk4", {"step_size": 0.01, "fused": False}, 1e-7),
])
def test_piecewise_constant_input_matches_lsim_zoh(method, kwargs, atol):
    """Samples on the grid are held (zero-order hold), exactly as scipy.signal.lsim(interp=False);
    the jumps are solver breakpoints, so accuracy does not drop to first order at them."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 4)) / 2 - np.eye(4)
    B = rng.standard_normal((4, 2))
    t = _t(6.0, 61)
    U = rng.standard_normal((len(t), 2))
    x0 = rng.standard_normal(4)
    _, _, x_ref = scipy.signal.lsim((A, B, np.eye(4), np.zeros((4, 2))), U, t, X0=x0, interp=False)
    At, Bt = torch.tensor(A), torch.tensor(B)
    field = ctrnn.VectorField(lambda t, x, u: x @ At.T + u @ Bt.T, 4, input_dim=2)
    traj = ctrnn.simulate(field, torch.tensor(x0), t, inputs=torch.tensor(U), method=method, **kwargs)
    np.testing.assert_allclose(traj.x.numpy(), x_ref, rtol=0, atol=atol)


@pytest.mark.parametrize("fused", [None, False], ids=["fused", "torchdiffeq"])
@pytest.mark.parametrize("method,order", [("euler", 1), ("midpoint", 2), ("rk4", 4)])
def test_fixed_step_methods_converge_at_their_order(method, order, fused):
    net = ctrnn.RateRNN(6, g=1.2, seed=2)
    x0 = torch.randn(2, 6, generator=torch.Generator().manual_seed(0))
    t = np.linspace(0, 2.0, 3)
    with torch.no_grad():
        ref = ctrnn.simulate(net, x0, t, rtol=1e-13, atol=1e-13).x[-1]  # error ~1e-13, below rk4's smallest
        hs = [0.1, 0.05, 0.025, 0.0125]
        errs = [float((ctrnn.simulate(net, x0, t, method=method, step_size=h, fused=fused).x[-1] - ref).abs().max())
                for h in hs]
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(slope - order) < 0.15, (slope, errs)  # asymptotic regime: measured order within 0.15


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_the_fused_loop_equals_torchdiffeqs_to_rounding(dtype, tol):
    """euler, midpoint and rk4 (torchdiffeq's is Kutta's 3/8 rule) in the fused loop against torchdiffeq's own
    fixed-grid loop: output times only, substeps, held inputs (breakpoints, with torchdiffeq's time perturbation),
    a complex state and a user's VectorField; the same evaluations and steps. A stable network (g = 0.9) over
    t <= 2: per-step rounding differences (a few ulps, dt / 3 rounded once) stay near eps, hence tol."""
    net = ctrnn.RateRNN(32, g=0.9, seed=0, n_inputs=2).to(dtype)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(5, 32, generator=g, dtype=dtype)
    t = torch.linspace(0, 2, 11, dtype=dtype)
    u = torch.randn(11, 5, 2, generator=g, dtype=dtype)
    A = torch.complex(-torch.rand(3, generator=g, dtype=dtype), torch.randn(3, generator=g, dtype=dtype))
    spiral = ctrnn.VectorField(lambda s, x, v: A * x + torch.sin(s), 3)  # reads t: the stage times matter
    z0 = torch.randn(2, 3, generator=g, dtype=dtype).to(A.dtype)
    for method in ("euler", "midpoint", "rk4"):
        for system, start, options in ((net, x0, {}), (net, x0, {"step_size": 0.03}), (net, x0, {"inputs": u}),
                                       (net, x0, {"inputs": u, "step_size": 0.07}), (spiral, z0, {"step_size": 0.05})):
            fast = ctrnn.simulate(system, start, t, method=method, **options)
            plain = ctrnn.simulate(system, start, t, method=method, fused=False, **options)
            torch.testing.assert_close(fast.x, plain.x, rtol=tol, atol=tol)
            assert (fast.stats.nfe, fast.stats.n_steps) == (plain.stats.nfe, plain.stats.n_steps)
        # a field that returns its input itself (a new-user trial found rk4 overwrite it: x(1) = 5.71, not e)
        for identity in (lambda s, x, v: x, lambda s, x, v: x[..., :]):
            grown = ctrnn.simulate(ctrnn.VectorField(identity, 3), z0.real, t, method=method, step_size=0.05)
            plain = ctrnn.simulate(ctrnn.VectorField(identity, 3), z0.real, t, method=method, step_size=0.05,
                                   fused=False)
            torch.testing.assert_close(grown.x, plain.x, rtol=tol, atol=tol)


def test_fused_true_says_why_it_does_not_apply():
    net = ctrnn.RateRNN(4, seed=0)
    x0, t = torch.zeros(4), torch.linspace(0, 1, 3)
    with pytest.raises(ValueError, match="method 'dopri5' is not one of"):
        ctrnn.simulate(net, x0, t, fused=True)
    with pytest.raises(ValueError, match="adjoint=True integrates in torchdiffeq"):
        ctrnn.simulate(net, x0, t, method="rk4", adjoint=True, fused=True)
    with pytest.raises(ValueError, match="an autograd graph is recorded"):
        ctrnn.simulate(net, x0, t, method="rk4", grad=True, fused=True)
    # a recorded graph runs in torchdiffeq's loop and differentiates
    x = ctrnn.simulate(net, x0.requires_grad_(), t, method="rk4").x
    assert x.requires_grad


def test_solver_stats_and_fixed_grid():
    net = ctrnn.RateRNN(16, seed=0)
    x0 = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    t = torch.linspace(0, 20, 201, dtype=torch.float32)  # a float32 grid: 0.1 / 0.01 is not exactly 10
    rk4 = ctrnn.simulate(net, x0, t, method="rk4", step_size=0.01)
    assert rk4.stats.n_steps == 2000 and rk4.stats.nfe == 4 * 2000
    assert rk4.stats.n_accepted is None and rk4.step_size == 0.01 and rk4.rtol is None
    dp = ctrnn.simulate(net, x0, t, rtol=1e-6, atol=1e-6)
    s = dp.stats
    assert s.n_steps == s.n_accepted + s.n_rejected and s.n_accepted > 0
    # dopri5: 6 new evaluations per attempted step (FSAL) + 2 for the initial step selection
    assert s.nfe == 6 * s.n_steps + 2
    assert s.wall_time > 0
    scipy = ctrnn.simulate(net, x0, t[:5], method="scipy_solver").stats  # counts it does not report stay None
    assert scipy.nfe > 0 and scipy.n_accepted is None and scipy.n_steps is None


def test_float32_follows_the_system():
    net = ctrnn.RateRNN(10, seed=0).float()
    traj = ctrnn.simulate(net, torch.randn(2, 10, dtype=torch.float64), np.linspace(0, 1, 5), rtol=1e-5, atol=1e-6)
    assert traj.x.dtype == torch.float32 and traj.t.dtype == torch.float32
    ref = ctrnn.simulate(net.double(), traj.x[0].double(), np.linspace(0, 1, 5), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(traj.x.double(), ref.x, rtol=0, atol=1e-4)  # float32 and rtol 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    net = ctrnn.RateRNN(32, seed=0)
    x0 = torch.randn(4, 32, generator=torch.Generator().manual_seed(0))
    cpu = ctrnn.simulate(net, x0, np.linspace(0, 5, 11), rtol=1e-10, atol=1e-10)
    gpu = ctrnn.simulate(net.cuda(), x0, np.linspace(0, 5, 11), rtol=1e-10, atol=1e-10)
    assert gpu.x.is_cuda
    torch.testing.assert_close(gpu.x.cpu(), cpu.x, rtol=0, atol=1e-8)


# -- gradients --------------------------------------------------------------------------------------------
class _Loss(torch.nn.Module):
    """Loss of a simulation as a function of (x0, W, input samples), for gradcheck.

    rk4 on a fixed grid: the discrete solution is a smooth function of its inputs. (Under an adaptive
    solver a finite-difference perturbation changes the step sequence, which moves every output by
    O(tolerance), so finite differences there measure the controller, not the gradient.) The adjoint
    integrates the continuous adjoint equation with the same rk4 grid, so it differs from the exact
    derivative of the discrete map by O(h^4) ~ 1e-5, inside gradcheck's atol 1e-5, rtol 1e-3.
"""

    def __init__(self, adjoint):
        super().__init__()
        self.net = ctrnn.RateRNN(3, n_inputs=1, g=1.2, seed=0)
        self.adjoint = adjoint
        self.t = torch.linspace(0, 1.5, 4)

    def forward(self, x0, u):
        traj = ctrnn.simulate(self.net, x0, self.t, inputs=u, method="rk4", step_size=0.05, adjoint=self.adjoint)
        return (traj.x**2).sum(0)


@pytest.mark.parametrize("adjoint", [False, True], ids=["backprop", "adjoint"])
def test_gradcheck_through_simulate(adjoint):
    loss = _Loss(adjoint)
    x0 = torch.randn(2, 3, generator=torch.Generator().manual_seed(4), requires_grad=True)
    u = torch.randn(4, 2, 1, generator=torch.Generator().manual_seed(5), requires_grad=True)
    W = loss.net.W.detach().clone().requires_grad_(True)

    def f(x0, u, W):  # W enters as a plain tensor in place of the parameter
        return torch.func.functional_call(loss, {"net.W": W}, (x0, u))

    if adjoint:
        # the adjoint's backward solve runs after functional_call has put the original W back, so
        # parameter gradients are checked against backprop's (gradchecked here) in the next test
        assert torch.autograd.gradcheck(lambda x0, u: loss(x0, u), (x0, u))
    else:
        assert torch.autograd.gradcheck(f, (x0, u, W))


def test_adjoint_parameter_gradients_equal_backprop():
    losses = {}
    for adjoint in (False, True):
        net = ctrnn.RateRNN(4, n_inputs=1, g=1.5, seed=1, bias=0.1 * torch.ones(4))
        x0 = torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
        traj = ctrnn.simulate(net, x0, torch.linspace(0, 3, 5), inputs=torch.ones(5, 2, 1), rtol=1e-11,
                              atol=1e-11, adjoint=adjoint, grad=True)
        (traj.x[-1] ** 2).sum().backward()
        losses[adjoint] = [p.grad for p in (net.W, net.W_in, net.bias)]
    for a, b in zip(losses[False], losses[True]):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)  # both converge to the exact gradient at 1e-11


def test_a_graph_is_recorded_only_when_asked():
    """A model's parameters require grad, but a plain solve records no graph (no grad_fn, so no memory per step);
    x0 or an input that requires grad, adjoint or grad=True do, and the parameter gradient of grad=True is the
    finite difference of the loss (central, step 1e-6: error O(1e-12) plus rounding 1e-16 / 1e-6)."""
    net = ctrnn.RateRNN(3, n_inputs=1, g=1.5, seed=2)
    assert all(p.requires_grad for p in net.parameters())
    t, x0, u = torch.linspace(0, 2, 5), torch.full((2, 3), 0.3), torch.ones(5, 2, 1)
    run = lambda **kw: ctrnn.simulate(net, kw.pop("x0", x0), t, inputs=kw.pop("u", u), method="rk4",  # noqa: E731
                                      step_size=0.05, **kw).x
    assert run().grad_fn is None and not run().requires_grad
    assert run(x0=x0.clone().requires_grad_()).grad_fn is not None
    assert run(u=u.clone().requires_grad_()).grad_fn is not None
    assert run(grad=False, x0=x0.clone().requires_grad_()).grad_fn is None
    with torch.no_grad():
        assert run(grad=True).grad_fn is None
    # the same numbers either way: a recorded solve runs in torchdiffeq's loop, bit for bit the unfused plain one,
    # and the fused loop to rounding (float64, |x| < 2, 40 steps)
    torch.testing.assert_close(run(grad=True).detach(), run(fused=False), rtol=0, atol=0)
    torch.testing.assert_close(run(grad=True).detach(), run(), rtol=0, atol=1e-14)
    (run(grad=True)[-1] ** 2).sum().backward()
    analytic = float(net.W.grad[0, 1])
    with torch.no_grad():
        loss = []
        for s in (1, -1):
            net.W[0, 1] += s * 1e-6
            loss.append(float((run()[-1] ** 2).sum()))
            net.W[0, 1] -= s * 1e-6
    assert abs(analytic - (loss[0] - loss[1]) / 2e-6) < 1e-8 * (1 + abs(analytic))
    with pytest.raises(ValueError, match="adjoint=True computes gradients"):
        run(adjoint=True, grad=False)
    with pytest.raises(TypeError, match="grad must be"):
        run(grad="yes")


# -- failures ---------------------------------------------------------------------------------------------
def test_finite_time_blowup_raises_divergence_error():
    """x' = x^2 blows up at t = 1/x0: batch element 1 (x0 = 2) at t = 0.5, element 0 (x0 = 0.5) at t = 2."""
    field = ctrnn.VectorField(lambda t, x, u: x * x, 1)
    x0 = torch.tensor([[0.5], [2.0]])
    with pytest.raises(ctrnn.DivergenceError) as info:
        ctrnn.simulate(field, x0, np.linspace(0, 1, 11))
    assert abs(info.value.time - 0.5) < 0.05 and info.value.batch_indices == (1,)
    assert "t = 0.5" in str(info.value)
    with pytest.raises(ctrnn.DivergenceError, match="batch element") as info:
        ctrnn.simulate(field, x0, np.linspace(0, 1, 11), method="euler", step_size=0.01)
    assert info.value.batch_indices == (1,) and 0.5 <= info.value.time <= 1.0  # Euler lags the true blow-up


def test_max_steps_is_reported():
    field = ctrnn.VectorField(lambda t, x, u: -1e4 * (x - torch.cos(t)), 1)  # stiff
    with pytest.raises(ctrnn.SolverError, match="max_steps=20"):
        ctrnn.simulate(field, torch.zeros(1), np.linspace(0, 1, 3), max_steps=20)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"x0": torch.zeros(2, 4)}, ValueError, r"x0 must have shape \(\*batch, 3\)"),
    ({"x0": torch.tensor([0.0, float("nan"), 0.0])}, ValueError, "x0 contains 1 non-finite value"),
    ({"t": [0.0, 1.0, 1.0, 2.0]}, ValueError, r"t must be strictly increasing; t\[2\] = 1.0 <= t\[1\] = 1.0"),
    ({"t": [2.0, 1.0, 0.0]}, ValueError, "strictly increasing"),
    ({"t": [0.0]}, ValueError, "at least 2 times"),
    ({"t": [0.0, float("inf")]}, ValueError, "t contains 1 non-finite"),
    ({"method": "rk45"}, ValueError, "unknown method 'rk45'; choose one of: adaptive_heun"),
    ({"method": "rk4", "step_size": 0.0}, ValueError, "step_size must be a finite number > 0"),
    ({"method": "rk4", "step_size": -0.1}, ValueError, "step_size must be a finite number > 0"),
    ({"step_size": 0.1}, ValueError, "step_size applies to fixed-step methods"),
    ({"rtol": 0.0}, ValueError, "rtol must be a finite number > 0"),
    ({"inputs": torch.zeros(5, 1)}, ValueError, "this system is autonomous"),
])
def test_simulate_bad_input(kwargs, error, match):
    args = {"x0": torch.ones(3), "t": [0.0, 1.0]} | kwargs
    with pytest.raises(error, match=match):
        ctrnn.simulate(ctrnn.systems.Lorenz(), args.pop("x0"), args.pop("t"), **args)


def test_simulate_bad_inputs_for_a_driven_system():
    net = ctrnn.RateRNN(3, n_inputs=2, seed=0)
    x0, t = torch.zeros(4, 3), torch.linspace(0, 1, 5)
    with pytest.raises(ValueError, match=r"shape \(T, \*batch, m\) with T = len\(t\) = 5, got \(4, 4, 2\)"):
        ctrnn.simulate(net, x0, t, inputs=torch.zeros(4, 4, 2))
    with pytest.raises(ValueError, match="input has size m = 3 but the system takes input_dim = 2"):
        ctrnn.simulate(net, x0, t, inputs=torch.zeros(5, 4, 3))
    with pytest.raises(ValueError, match=r"input batch shape \(3,\) does not broadcast"):
        ctrnn.simulate(net, x0, t, inputs=torch.zeros(5, 3, 2))
    short = PiecewiseConstant(torch.tensor([0.0, 0.5]), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"covers t in \[0, 0.5\] but the solve needs \[0, 1\]"):
        ctrnn.simulate(net, x0, t, inputs=short)
    with pytest.raises(TypeError, match="wrap a callable with ctrnn.VectorField"):
        ctrnn.simulate(lambda t, x: x, x0, t)
    with pytest.raises(TypeError, match="for a DiscreteMap use dmap.rollout"):
        ctrnn.simulate(ctrnn.IteratedMap(lambda x, u: x, 3), x0, t)


def _numpy_rhs(kind, model, u_fn):
    """The new models' equations written out in numpy (independent of ctrnn's forward)."""
    p = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    if kind == "linear":
        return lambda t, x: p["A"] @ x + p["B"] @ u_fn(t)
    if kind == "lru":
        return lambda t, x: p["lam"] * x + p["B"] @ u_fn(t)
    if kind == "selective":
        A = -np.exp(p["A_log"])

        def rhs(t, x):
            u = u_fn(t)
            delta = np.logaddexp(0.0, p["W_delta"] @ u + p["delta_bias"])  # softplus
            X = x.reshape(A.shape)
            return (delta[:, None] * (A * X + (p["W_B"] @ u)[None, :] * u[:, None])).ravel()
        return rhs

    def lstm(t, x):
        n = x.shape[0] // 2
        h, c = x[:n], x[n:]
        z = p["weight_ih"] @ u_fn(t) + p["bias_ih"] + p["weight_hh"] @ h + p["bias_hh"]
        i, f, g, o = np.split(z, 4)
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        return np.concatenate([sig(o) * np.tanh(c) - h, sig(f) * c + sig(i) * np.tanh(g) - c]) / model.tau
    return lstm


@pytest.mark.parametrize("kind", ["linear", "lru", "selective", "lstm"])
def test_new_models_match_dop853(kind):
    model = ctrnn.build_system(kind, seed=2) if kind != "lstm" else ctrnn.LSTMODE(3, 2, tau=0.8, seed=2)
    m = model.input_dim
    freq = np.linspace(0.5, 1.5, m)
    u_fn = lambda t: np.sin(freq * t)  # noqa: E731
    x0 = torch.randn(model.state_dim, generator=torch.Generator().manual_seed(1))
    if kind == "lru":
        x0 = x0.to(torch.complex128)
    t = _t(4.0, 21)
    traj = ctrnn.simulate(model, x0, t, inputs=FunctionInput(lambda s: torch.sin(torch.tensor(freq) * s), m),
                          rtol=TOL, atol=TOL)
    ref = dop853(_numpy_rhs(kind, model, u_fn), x0.numpy(), t)
    np.testing.assert_allclose(traj.x.detach().numpy(), ref, rtol=0, atol=solver_bound(traj))
