"""Discretization against scipy.signal (cont2discrete, dlsim), measured orders, and the parallel scan."""

import re

import numpy as np
import pytest
import scipy.signal
import torch

from conftest import solver_bound

import ctrnn
from ctrnn.inputs import PiecewiseConstant

# our scheme name -> scipy's (method, alpha)
SCIPY = {"zoh": ("zoh", None), "foh": ("foh", None), "bilinear": ("bilinear", None), "euler": ("euler", None),
         "backward_euler": ("backward_diff", None), "gbt(0.3)": ("gbt", 0.3), "impulse": ("impulse", None)}


def random_system(n=5, m=2, p=3, *, stable=True, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n) + (-1.0 if stable else 0.5) * np.eye(n)
    return A, rng.standard_normal((n, m)), rng.standard_normal((p, n)), rng.standard_normal((p, m))


@pytest.mark.parametrize("stable", [True, False], ids=["stable", "unstable"])
@pytest.mark.parametrize("scheme", list(SCIPY))
def test_dense_schemes_equal_cont2discrete(scheme, stable):
    A, B, C, D = random_system(stable=stable, seed=1)
    if scheme == "impulse":
        D = np.zeros_like(D)  # scipy: impulse invariance needs a strictly proper system
    dmap = ctrnn.discretize(ctrnn.LinearSSM(*map(torch.tensor, (A, B, C, D))), 0.07, scheme=scheme)
    method, alpha = SCIPY[scheme]
    ref = scipy.signal.cont2discrete((A, B, C, D), 0.07, method=method, alpha=alpha)[:4]
    for ours, theirs, name in zip(dmap.cont2discrete_matrices(), ref, "ABCD", strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=1e-12, err_msg=name)
    torch.testing.assert_close(dmap.Abar, torch.tensor(ref[0]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("stable", [True, False], ids=["stable", "unstable"])
@pytest.mark.parametrize("scheme", list(SCIPY))
def test_complex_diagonal_schemes_equal_cont2discrete(scheme, stable):
    rng = np.random.default_rng(2)
    n, m, p = 6, 2, 3
    lam = (-0.5 if stable else 0.3) * rng.uniform(0.2, 2, n) + 1j * rng.uniform(-5, 5, n)
    lam[0] = 1e-5 + 2e-5j  # near zero: the phi-function series branch
    B = rng.standard_normal((n, m)) + 1j * rng.standard_normal((n, m))
    C = rng.standard_normal((p, n)) + 1j * rng.standard_normal((p, n))
    D = np.zeros((p, m)) if scheme == "impulse" else rng.standard_normal((p, m))
    dmap = ctrnn.discretize(ctrnn.DiagonalSSM(torch.tensor(lam), torch.tensor(B), torch.tensor(C), torch.tensor(D)),
                            0.13, scheme=scheme)
    method, alpha = SCIPY[scheme]
    ref = scipy.signal.cont2discrete((np.diag(lam), B, C, D.astype(complex)), 0.13, method=method, alpha=alpha)[:4]
    for ours, theirs, name in zip(dmap.cont2discrete_matrices(), ref, "ABCD", strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("scheme", list(SCIPY) + ["mamba"])
def test_rollout_equals_dlsim(scheme):
    """dlsim reads then updates; with the realisation (C Ad, D + C Bd) it gives our update-then-read output."""
    A, B, C, D = random_system(seed=3)
    if scheme == "impulse":
        D = np.zeros_like(D)
    dmap = ctrnn.discretize(ctrnn.LinearSSM(*map(torch.tensor, (A, B, C, D))), 0.1, scheme=scheme)
    Ad, Bd, Cm, Dm = (t.numpy() for t in (dmap.Abar, dmap.Bbar, dmap.C, dmap.D))
    rng = np.random.default_rng(4)
    u, x0 = rng.standard_normal((50, 2)), rng.standard_normal(5)
    _, y_ref, x_ref = scipy.signal.dlsim((Ad, Bd, Cm @ Ad, Dm + Cm @ Bd, 0.1), u, x0=x0)
    states = dmap.rollout(torch.tensor(x0), torch.tensor(u))
    np.testing.assert_allclose(states.numpy(), (Ad @ x_ref.T).T + u @ Bd.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dmap.output(states, torch.tensor(u)).numpy(), y_ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("T", [1, 7, 1000, 16384])
def test_scan_equals_rollout_complex_diagonal(T):
    ssm = ctrnn.DiagonalSSM.lru(16, 3, seed=0)
    dmap = ctrnn.discretize(ssm, 1.0, scheme="zoh")
    u = torch.randn(T, 4, 3, generator=torch.Generator().manual_seed(1))
    x0 = torch.randn(4, 16, generator=torch.Generator().manual_seed(2)).to(torch.complex128)
    seq, par = dmap.rollout(x0, u), dmap.scan(x0, u)
    # |Abar| <= 0.999: errors do not grow; both sum the same terms in different orders (1e-13 on |x| ~ 10)
    torch.testing.assert_close(par, seq, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 3, None, 4099, 5000])
def test_chunked_scan_equals_rollout_at_every_chunk_length(chunk):
    """chunk 1 is the associative scan alone, chunk >= T the sequential loop, between them the two passes with
    a remainder (4099 = 64 * 64 + 3): every one equal to the rollout, diagonal or dense, batched or shared inputs."""
    T = 4099
    g = torch.Generator().manual_seed(6)
    dmap = ctrnn.discretize(ctrnn.DiagonalSSM.lru(16, 3, seed=0), 1.0, scheme="zoh")
    u = torch.randn(T, 4, 3, generator=g, dtype=torch.float64)
    x0 = torch.randn(4, 16, generator=g, dtype=torch.float64).to(torch.complex128)
    # |Abar| <= 0.999 and |x| ~ 10: reordered sums of the same terms agree to a few hundred ulps
    for inputs in (u, u[:, :1]):
        torch.testing.assert_close(dmap.scan(x0, inputs, chunk=chunk), dmap.rollout(x0, inputs), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dmap.scan(x0, steps=T, chunk=chunk), dmap.rollout(x0, steps=T), rtol=1e-12, atol=1e-12)
    A, B, C, D = random_system(n=4, m=2, seed=7)
    dense = ctrnn.discretize(ctrnn.LinearSSM(*map(torch.tensor, (A, B, C, D))), 0.05, scheme="zoh")
    u, x0 = torch.randn(T, 3, 2, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(dense.scan(x0, u, chunk=chunk), dense.rollout(x0, u), rtol=1e-12, atol=1e-12)


def test_the_scan_refuses_a_chunk_that_is_not_a_positive_int_and_an_empty_sequence():
    dmap = ctrnn.discretize(ctrnn.DiagonalSSM.lru(4, 1, seed=0), 1.0, scheme="zoh")
    x0 = torch.zeros(4, dtype=torch.complex128)
    for chunk in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="chunk must be an int of at least 1"):
            dmap.scan(x0, torch.zeros(10, 1), chunk=chunk)
    for run in (lambda: dmap.scan(x0, torch.zeros(0, 1)), lambda: dmap.rollout(x0, steps=0)):
        with pytest.raises(ValueError, match="a linear map runs at least one step"):
            run()


def test_scan_equals_rollout_dense_and_per_step_dt():
    A, B, C, D = random_system(n=4, m=2, seed=5)
    ssm = ctrnn.LinearSSM(*map(torch.tensor, (A, B, C, D)))
    dt = torch.rand(300, generator=torch.Generator().manual_seed(0)) * 0.2 + 0.01  # irregular steps
    dmap = ctrnn.discretize(ssm, dt, scheme="zoh")
    assert dmap.Abar.shape == (300, 4, 4)
    u = torch.randn(300, 3, 2, generator=torch.Generator().manual_seed(1))
    x0 = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(dmap.scan(x0, u), dmap.rollout(x0, u), rtol=1e-12, atol=1e-12)
    # per-step zoh equals step-by-step scalar discretization
    k = 17
    single = ctrnn.discretize(ssm, float(dt[k]), scheme="zoh")
    torch.testing.assert_close(dmap.Abar[k], single.Abar, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="one step size per step"):
        dmap.step(x0, u[0])


def test_zoh_is_exact_for_piecewise_constant_inputs():
    """ZOH of a sampled input reproduces the continuous solution at the sample times, to the accuracy of
    the continuous reference (dopri5 at 1e-11; conftest.solver_bound)."""
    A, B, C, D = random_system(n=4, m=2, seed=6)
    ssm = ctrnn.LinearSSM(*map(torch.tensor, (A, B, C, D)))
    t = torch.linspace(0, 5, 51)
    u = torch.randn(51, 3, 2, generator=torch.Generator().manual_seed(0))
    x0 = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    cont = ctrnn.simulate(ssm, x0, t, inputs=PiecewiseConstant(t, u), rtol=1e-11, atol=1e-11)
    # simulate holds sample k on [t_k, t_{k+1}); the rollout's input k produces state k + 1
    disc = ctrnn.discretize(ssm, 0.1, scheme="zoh").rollout(x0, u[:-1])
    torch.testing.assert_close(disc, cont.x[1:].detach(), rtol=0, atol=solver_bound(cont))
    # the bound discriminates: a scheme that is not exact for held inputs misses by far more
    euler = ctrnn.discretize(ssm, 0.1, scheme="euler").rollout(x0, u[:-1])
    assert float((euler - cont.x[1:].detach()).abs().max()) > 1e4 * solver_bound(cont)


def _final_error(system, scheme, dt, T_end, x0):
    steps = round(T_end / dt)
    ref = ctrnn.simulate(system, x0, [0.0, T_end], rtol=1e-12, atol=1e-12).x[-1].detach()
    with torch.no_grad():
        x = ctrnn.discretize(system, dt, scheme=scheme).rollout(x0, steps=steps)[-1] if system.input_dim == 0 else None
    return float((x - ref).abs().max())


@pytest.mark.parametrize("scheme,order,system", [
    ("euler", 1, "rate"), ("rk4", 4, "rate"), ("exp_euler", 1, "rate"), ("bilinear", 2, "linear"),
    ("backward_euler", 1, "linear"), ("euler", 1, "linear"),
])
def test_measured_orders(scheme, order, system):
    if system == "rate":
        sys = ctrnn.RateRNN(6, g=1.3, seed=3)
        x0 = torch.randn(2, 6, generator=torch.Generator().manual_seed(0))
    else:
        A, _, _, _ = random_system(n=4, seed=7)
        sys = ctrnn.LinearSSM(torch.tensor(A), torch.zeros(4, 0))  # no inputs: a free run
        x0 = torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
    dts = [0.1, 0.05, 0.025, 0.0125]
    errs = [_final_error(sys, scheme, dt, 2.0, x0) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(slope - order) < 0.15, (slope, errs)  # asymptotic regime: within 0.15 of the order


def test_mamba_input_matrix_error_is_second_order():
    lam = torch.tensor([-0.5 + 3j, -1.0 + 0.5j, -2.0 + 0j])
    ssm = ctrnn.DiagonalSSM(lam, torch.randn(3, 2, generator=torch.Generator().manual_seed(0)).to(torch.complex128))
    dts = [0.2, 0.1, 0.05, 0.025]
    errs = [float((ctrnn.discretize(ssm, h, scheme="mamba").Bbar - ctrnn.discretize(ssm, h, scheme="zoh").Bbar).abs().max())
            for h in dts]
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(slope - 2) < 0.1, (slope, errs)  # dt B - dt phi1(lam dt) B = -lam dt^2 B / 2 + O(dt^3)
    assert torch.equal(ctrnn.discretize(ssm, 0.1, scheme="mamba").Abar, ctrnn.discretize(ssm, 0.1, scheme="zoh").Abar)


def test_exp_euler_is_exact_for_the_leak():
    """With W = 0 the rate network is tau dx/dt = -x + W_in u + b: exp_euler is its exact solution."""
    net = ctrnn.RateRNN(3, n_inputs=1, W=torch.zeros(3, 3), tau=torch.tensor([0.5, 1.0, 2.0]), bias=torch.ones(3), seed=0)
    x0, u = torch.randn(2, 3, generator=torch.Generator().manual_seed(0)), torch.full((5, 2, 1), 0.7)
    got = ctrnn.discretize(net, 0.3, scheme="exp_euler").rollout(x0, u)[-1]
    target = net.W_in.detach()[:, 0] * 0.7 + 1.0
    exact = target + (x0 - target) * torch.exp(-1.5 / net.tau)
    torch.testing.assert_close(got.detach(), exact, rtol=0, atol=1e-14)


def test_generic_euler_map_jvp_uses_the_model():
    """The map's JVP and Jacobian against autograd of the Euler step x + dt f(x) written from the model's
    forward (not from net.jacobian, which the map itself uses)."""
    net = ctrnn.RateRNN(5, seed=0)
    dmap = ctrnn.discretize(net, 0.1)
    x, v = torch.randn(3, 5), torch.randn(3, 5, 2)
    t = torch.zeros(())
    J = torch.stack([torch.autograd.functional.jacobian(lambda y: y + 0.1 * net(t, y), xi) for xi in x])
    torch.testing.assert_close(dmap.jvp(x, v), J @ v, rtol=1e-13, atol=1e-13)  # float64, re-ordered sums
    torch.testing.assert_close(dmap.jacobian(x), J, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("make,kwargs,error,match", [
    (lambda: ctrnn.RateRNN(3, seed=0), {"scheme": "zoh"}, ValueError,
     "does not apply to RateRNN: it applies to linear systems .* choose one of: euler, exp_euler, rk4"),
    (lambda: ctrnn.RateRNN(3, seed=0), {"scheme": "heun"}, ValueError, "unknown scheme 'heun'; choose one of: backward_euler"),
    (lambda: ctrnn.RateRNN(3, seed=0), {"dt": 0.0}, ValueError, "dt must be > 0"),
    (lambda: ctrnn.RateRNN(3, seed=0), {"dt": torch.ones(4)}, ValueError, "supported by the SSM schemes only"),
    (lambda: ctrnn.VectorField(lambda t, x, u: -x, 2), {"scheme": "exp_euler"}, ValueError,
     "exp_euler needs a linear leak, which it does not define; choose one of: euler, rk4"),
    (lambda: ctrnn.LinearSSM(torch.eye(2), torch.ones(2, 1)), {"scheme": "gbt"}, ValueError, "needs alpha="),
    (lambda: ctrnn.LinearSSM(torch.eye(2), torch.ones(2, 1)), {"scheme": "gbt(1.5)"}, ValueError, "0 <= alpha <= 1"),
    (lambda: ctrnn.LinearSSM(torch.eye(2), torch.ones(2, 1), D=torch.ones(2, 1)), {"scheme": "impulse"}, ValueError,
     "strictly proper"),
    (lambda: ctrnn.IteratedMap(lambda x, u: x, 2), {}, TypeError, "already a DiscreteMap"),
])
def test_discretize_bad_input(make, kwargs, error, match):
    args = {"dt": 0.1} | kwargs
    with pytest.raises(error, match=match):
        ctrnn.discretize(make(), args.pop("dt"), **args)


def test_discretization_error_study_orders_and_round_trip(tmp_path):
    A, B, _, _ = random_system(n=4, m=2, seed=8)
    ssm = ctrnn.LinearSSM(torch.tensor(A), torch.tensor(B))
    # switch times at 1 and 2 lie on every grid below, so the held input is exact for ZOH
    u = ctrnn.inputs.steps([1.0, 2.0], [[0.0, 0.0], [1.0, -1.0], [0.5, 0.5]], t_span=(0.0, 4.0))
    dts = [0.2, 0.1, 0.05, 0.025]
    res = ctrnn.discretization_error(ssm, torch.randn(2, 4, generator=torch.Generator().manual_seed(0)), 4.0,
                                     schemes=["euler", "bilinear", "zoh", "rk4"], dts=dts, inputs=u)
    for name, order in {"euler": 1, "bilinear": 2, "rk4": 4}.items():
        assert abs(res.orders[name] - order) < 0.2, (name, res.orders)
    assert res.orders["zoh"] is None and float(res.max_errors[2].max()) < res.floor  # exact: at the floor
    assert bool((res.final_errors <= res.max_errors).all())
    res.save(tmp_path / "err.safetensors")
    back = ctrnn.load(tmp_path / "err.safetensors")
    assert back.orders == res.orders and torch.equal(back.max_errors, res.max_errors)
    ax = res.plot().axes[0]  # one line per scheme, at the measured errors (floored for the log axis)
    lines = [line for line in ax.get_lines() if line.get_label() in {f"{s} (exact)" for s in res.schemes}
             or line.get_label().split(" (order")[0] in res.schemes]
    assert len(lines) == 4
    np.testing.assert_allclose(lines[0].get_ydata(), np.maximum(res.max_errors[0].numpy(), res.floor / 10))


def test_discretization_error_refusals():
    net = ctrnn.RateRNN(3, seed=0)
    with pytest.raises(ValueError, match="does not divide the span"):
        ctrnn.discretization_error(net, torch.zeros(3), 1.0, schemes=["euler"], dts=[0.3])
    with pytest.raises(ValueError, match="not samples on one grid"):
        ctrnn.discretization_error(ctrnn.RateRNN(3, n_inputs=1, seed=0), torch.zeros(3), 1.0, schemes=["euler"],
                                   dts=[0.1], inputs=torch.zeros(11, 1))
    with pytest.raises(ValueError, match="does not apply to RateRNN"):
        ctrnn.discretization_error(net, torch.zeros(3), 1.0, schemes=["zoh"], dts=[0.1])


# -- one step definition per scheme: discretize's map and the analyses' tangent stepper ---------------------------
def _scheme_models():
    gen = torch.Generator().manual_seed(3)
    A = torch.randn(4, 4, generator=gen) / 2 - torch.eye(4)
    return {
        "rate-x": ctrnn.RateRNN(4, n_inputs=2, form="x", g=1.5, seed=0),
        "rate-r": ctrnn.RateRNN(4, n_inputs=2, form="r", g=1.5, seed=1),
        "beer": ctrnn.BeerCTRNN(torch.randn(4, 4, generator=gen), taus=torch.tensor([0.5, 1.0, 1.5, 2.0]),
                                biases=torch.randn(4, generator=gen)),
        "gru": ctrnn.GRUODE(3, 2, tau=1.5, seed=2),
        "lstm": ctrnn.LSTMODE(3, 2, tau=1.5, seed=3),
        "linear": ctrnn.LinearSSM(A, torch.randn(4, 2, generator=gen)),
        "diagonal": ctrnn.DiagonalSSM(-torch.tensor([0.3, 1.0, 2.0, 4.0]), torch.randn(4, 2, generator=gen)),
        "vector-field": ctrnn.VectorField(lambda t, x, u: torch.sin(x.roll(1, -1)) - x ** 3 + u.sum(-1, keepdim=True),
                                          3, input_dim=2),
    }


@pytest.mark.parametrize("scheme", ["euler", "exp_euler", "rk4"])
@pytest.mark.parametrize("kind", list(_scheme_models()))
def test_map_step_equals_the_tangent_steppers_step(kind, scheme):
    """One scheme name is one map: ``discretize(model, h, scheme=s).step`` and the flow branch of the tangent
    stepper (what lyapunov_spectrum and gradient_propagation run) give the same state, and both tangents are
    the exact derivative of that step (autograd's Jacobian of the map times V)."""
    from ctrnn.analysis._tangent import TangentStepper
    from ctrnn.discretize import applicable_schemes

    model = _scheme_models()[kind]
    if scheme not in applicable_schemes(model):
        pytest.skip(f"{scheme} does not apply to {kind}")
    h, n, m = 0.3, model.state_dim, model.input_dim
    gen = torch.Generator().manual_seed(4)
    x, u, V = torch.randn(2, n, generator=gen), torch.randn(2, m, generator=gen), torch.randn(2, n, 3, generator=gen)
    dmap = ctrnn.discretize(model, h, scheme=scheme)
    stepper = TangentStepper(model, False, dt=h, method=scheme, inputs=u, like=x)
    with torch.no_grad():
        x_map = dmap.step(x, u)
        x_flow, V_flow = stepper.step(x, 0, V)
        x_map2, V_map = dmap.step_with_tangent(x, V, u)
    if isinstance(dmap, ctrnn.LinearMap):  # scipy's matrices (I + h A) x + h B u: rounding differs, ~1 ulp
        torch.testing.assert_close(x_flow, x_map, rtol=4 * torch.finfo(x.dtype).eps, atol=4 * torch.finfo(x.dtype).eps)
    else:  # the very same operations
        assert torch.equal(x_flow, x_map) and torch.equal(x_map2, x_map)
        torch.testing.assert_close(V_map, V_flow, rtol=0, atol=1e-15)
    for b in range(2):
        J = torch.autograd.functional.jacobian(lambda y: dmap.step(y[None], u[b:b + 1])[0], x[b])
        # float64, O(1) entries, a handful of operations: both sides agree to rounding (1e-12 leaves room)
        torch.testing.assert_close(V_flow[b], J @ V[b], rtol=0, atol=1e-12)
        torch.testing.assert_close(dmap.jvp(x[b:b + 1], V[b:b + 1])[0] if m == 0 else
                                   dmap.jvp(x[b:b + 1], V[b:b + 1], u[b:b + 1])[0], J @ V[b], rtol=0, atol=1e-12)


def test_rk4_tangent_reads_a_time_varying_input_at_the_stage_times():
    """A flow's RK4 step under an Input object: stages at t, t + h/2, t + h; the tangent of that step is
    autograd's (the input does not depend on the state, but the stage states do)."""
    from ctrnn.analysis._tangent import TangentStepper
    from ctrnn.inputs import FunctionInput

    model = ctrnn.RateRNN(3, n_inputs=1, g=1.5, seed=0)
    drive = FunctionInput(lambda t: torch.sin(3.0 * t).reshape(1), 1)
    h, k = 0.2, 5
    x, V = torch.randn(2, 3, generator=torch.Generator().manual_seed(0)), torch.eye(3).expand(2, 3, 3)
    stepper = TangentStepper(model, False, dt=h, method="rk4", inputs=drive, like=x)

    def rk4(y):
        t = k * h
        f = lambda s, z: model(torch.tensor(s), z, drive(torch.tensor(s)))  # noqa: E731
        k1 = f(t, y); k2 = f(t + h / 2, y + h / 2 * k1); k3 = f(t + h / 2, y + h / 2 * k2)  # noqa: E702
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + f(t + h, y + h * k3))

    with torch.no_grad():
        x_next, D = stepper.step(x, k, V)
    torch.testing.assert_close(x_next, rk4(x), rtol=0, atol=1e-15)  # stage times k h + frac h vs (k + frac) h
    for b in range(2):
        J = torch.autograd.functional.jacobian(rk4, x[b])
        torch.testing.assert_close(D[b], J, rtol=0, atol=1e-12)  # float64 rounding of O(1) entries


def test_fitted_orders_are_flagged_outside_the_asymptotic_regime():
    """A rate network: at dt 0.8 .. 0.1 Euler's successive slopes drift (about 1.1 to 1.9) and RK4's too, so both
    orders are flagged "(not asymptotic)"; at dt 0.2 .. 0.025 they agree within SLOPE_AGREEMENT = 0.3 and give
    1 (Euler, within 0.15) and 4 (RK4, within 0.3), unflagged."""
    net = ctrnn.RateRNN(4, g=1.5, seed=0).double()
    x0 = torch.randn(1, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    large = ctrnn.discretization_error(net, x0, 8.0, schemes=["euler", "rk4"], dts=[0.8, 0.4, 0.2, 0.1])
    assert large.asymptotic == {"euler": False, "rk4": False}
    assert large.order_text("euler").endswith("(not asymptotic)") and not large.diverged
    small = ctrnn.discretization_error(net, x0, 4.0, schemes=["euler", "rk4"], dts=[0.2, 0.1, 0.05, 0.025])
    assert small.asymptotic == {"euler": True, "rk4": True}
    assert abs(small.orders["euler"] - 1) < 0.15 and abs(small.orders["rk4"] - 4) < 0.3, small.orders
    assert small.order_text("rk4") == f"{small.orders['rk4']:.2f}"


def test_only_the_diverging_steps_are_dropped(tmp_path):
    """Lorenz from (1, 1, 1) over [0, 3.2]: Euler overflows at dt = 0.16, 0.08, 0.04 (|1 + lambda dt| > 1 for the
    Jacobian's lambda ~ -22) and RK4 at 0.16 (outside its stability region, |lambda| dt > 2.8). Those get NaN
    errors and a note timed in the model's units (within the span), and RK4's order is fitted over the rest:
    4 within 0.3 (tolerances 1e-8: the floor, 2e-5, is far below RK4's smallest error, 1e-2)."""
    study = ctrnn.discretization_error(ctrnn.systems.Lorenz(), torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64),
                                       3.2, schemes=["euler", "rk4"], dts=[0.16, 0.08, 0.04, 0.02], rtol=1e-8,
                                       atol=1e-8)
    assert study.diverged == {"euler": [0.16, 0.08, 0.04], "rk4": [0.16]}
    assert bool(study.max_errors[0, :3].isnan().all()) and bool(study.max_errors[1, 0].isnan())
    times = [float(t) for t in re.findall(r"by t = ([0-9.]+)", study.notes["euler"])]
    assert len(times) == 3 and all(0 < t <= 3.2 for t in times), study.notes
    assert study.orders["euler"] is None and study.order_text("euler").startswith("not fitted (diverged at dt = 0.16")
    assert abs(study.orders["rk4"] - 4) < 0.3 and study.asymptotic["rk4"], study.orders
    study.save(tmp_path / "study.safetensors")
    back = ctrnn.load(tmp_path / "study.safetensors")
    assert back.diverged == study.diverged and back.asymptotic == study.asymptotic and back.notes == study.notes


def test_survey_of_lorenz_keeps_its_discretization_section():
    """The survey's steps for Lorenz are 0.16 .. 0.02; Euler diverges at three of them. The study keeps the rest
    (a result, not a note). Everything else is cut to the minimum (cycles not searched: n = 3 > 2); the
    reference solves at the survey's tolerance 1e-10 over the span 1.6 take most of the ~5 s."""
    x0 = torch.randn(2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    settings = ctrnn.SurveySettings.quick(
        t_end=10.0, starts=8, lyapunov_k=1, lyapunov_states=1, lyapunov_transient=1.0, lyapunov_total=2.0,
        gradient_states=1, gradient_horizon=1.0, gradient_transient=0.5, discretization_states=1, spectra_states=5,
        cycle_max_dim=2, discretization_span=10.0)
    found = ctrnn.survey(ctrnn.systems.Lorenz(), x0, settings=settings)
    err = found.discretization
    assert err is not None and "discretization" not in found.notes, found.notes
    assert err.dts.tolist() == pytest.approx([0.16, 0.08, 0.04, 0.02]) and err.diverged.get("euler")
    assert err.orders["rk4"] is not None
