"""Every verb on a user's own ctrnn.VectorField (a flow) and ctrnn.IteratedMap (a map), in float32 and float64,
checked against the answer each system is chosen to have (DESIGN.md: analysis never knows the concrete model).

Systems: a linear flow ``A x`` (A upper triangular, eigenvalues -0.5 and -1.5: fixed point 0, exponents eig A),
the map ``x -> x / 2 + c`` (fixed point 2c, multiplier 1/2, exponent log 1/2 per iteration), a Hopf oscillator
(the unit circle, period 2 pi / omega, Floquet multipliers 1 and exp(-2 T)) and a bistable ``x - x^3``."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from conftest import eps_of, solver_bound

import ctrnn
from ctrnn.analysis import basins, spectra_along

LAM = (-0.5, -1.5)
OMEGA = 2.0


def linear_field(with_input: bool = False) -> tuple[ctrnn.VectorField, torch.Tensor]:
    A = torch.tensor([[LAM[0], 1.0], [0.0, LAM[1]]])
    b = torch.tensor([1.0, -2.0])
    if with_input:
        return ctrnn.VectorField(lambda t, x, u: x @ A.T + u * b, 2, input_dim=1), A
    return ctrnn.VectorField(lambda t, x, u: x @ A.T, 2), A


def half_map(with_input: bool = False) -> tuple[ctrnn.IteratedMap, torch.Tensor]:
    c = torch.tensor([0.3, -0.6])
    if with_input:
        return ctrnn.IteratedMap(lambda x, u: 0.5 * x + u * c, 2, input_dim=1), c
    return ctrnn.IteratedMap(lambda x, u: 0.5 * x + c, 2), c


def hopf(t, x, u):
    """dr/dt = r (1 - r^2), dtheta/dt = OMEGA in Cartesian form."""
    r2 = (x**2).sum(-1, keepdim=True)
    return x * (1 - r2) + OMEGA * torch.stack([-x[..., 1], x[..., 0]], -1)


def f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def test_simulate_a_vector_field_matches_expm(dtype):
    field, A = linear_field()
    x0 = torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    rtol = max(1e-10, 100 * eps_of(dtype))  # a step's error estimate cannot resolve less than a few eps |x|
    traj = ctrnn.simulate(field, x0, torch.linspace(0, 3, 7), rtol=rtol, atol=rtol / 10)
    assert traj.x.dtype == dtype
    expected = np.stack([f64(x0) @ scipy.linalg.expm(f64(A) * float(tk)).T for tk in traj.t])
    bound = solver_bound(traj) + traj.stats.n_steps * eps_of(dtype) * float(traj.x.abs().max())  # + rounding
    np.testing.assert_allclose(f64(traj.x), expected, rtol=0, atol=bound)


def test_rollout_of_an_iterated_map_is_the_closed_form(dtype):
    dmap, c = half_map()
    x0 = torch.tensor([[4.0, -2.0]])
    xs = dmap.rollout(x0, steps=10)
    k = torch.arange(1, 11, dtype=dtype)[:, None, None]
    expected = 2 * c + 0.5**k * (x0 - 2 * c)  # x_k = 2c + (x_0 - 2c) / 2^k
    assert xs.dtype == dtype and xs.shape == (10, 1, 2)
    # each iteration rounds once (the halving is exact): at most k eps |x| after k steps, |x| <= 4
    torch.testing.assert_close(xs, expected, rtol=0, atol=10 * 4 * eps_of(dtype))


@pytest.mark.parametrize("scheme", ["euler", "rk4"])
def test_discretize_a_vector_field_gives_the_taylor_polynomial(dtype, scheme):
    """For a linear flow, Euler's step is I + hA and RK4's the degree-4 Taylor polynomial of exp(hA)."""
    field, A = linear_field()
    h = 0.1
    dmap = ctrnn.discretize(field, h, scheme=scheme)
    M = h * f64(A)
    if scheme == "euler":
        step = np.eye(2) + M
    else:
        step = sum(np.linalg.matrix_power(M, j) / math.factorial(j) for j in range(5))
    x = torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    got = dmap.step(x)
    assert got.dtype == dtype
    # a handful of rounded operations on entries <= 2: 20 eps
    np.testing.assert_allclose(f64(got), f64(x) @ step.T, rtol=0, atol=20 * eps_of(dtype))
    np.testing.assert_allclose(f64(ctrnn.jacobian(dmap, x)), np.broadcast_to(step, (2, 2, 2)), rtol=0,
                               atol=20 * eps_of(dtype))


def test_jacobian_of_a_vector_field_and_a_map_against_independent_references(dtype):
    A = torch.tensor([[0.5, -1.0, 0.2], [1.5, 0.3, -0.7], [-0.4, 0.9, 1.1]])
    b = torch.tensor([0.2, -0.1, 0.4])

    def fn(t, x, u):
        return torch.sin(x) @ A.T - x + u * b

    field = ctrnn.VectorField(fn, 3, input_dim=1)
    x = torch.tensor([[0.3, -1.2, 0.8], [1.0, 0.5, -0.4]])
    u = torch.tensor([0.7])
    J = ctrnn.jacobian(field, x, inputs=u)
    assert J.dtype == dtype and J.shape == (2, 3, 3)
    # central differences of the raw callable: error h^2 |f'''| / 6 + eps |f| / h, |f'''| <= max row sum of |A|,
    # |f| <= 4; h = eps^(1/3) balances the two
    eps = eps_of(dtype)
    h = eps ** (1 / 3)
    fd = torch.stack([(fn(0.0, x + h * e, u) - fn(0.0, x - h * e, u)) / (2 * h) for e in torch.eye(3)], -1)
    tol = h**2 * float(A.abs().sum(1).max()) / 6 + 4 * eps / h
    torch.testing.assert_close(J, fd, rtol=0, atol=2 * tol)

    def step(x, u):
        return torch.tanh(x @ A.T + u * b)

    dmap = ctrnn.IteratedMap(step, 3, input_dim=1)
    ref = torch.stack([torch.autograd.functional.jacobian(lambda y: step(y, u), xi) for xi in x])
    torch.testing.assert_close(ctrnn.jacobian(dmap, x, inputs=u), ref, rtol=0, atol=10 * eps)  # same products


def test_fixed_points_of_a_vector_field_and_a_map(dtype):
    field, A = linear_field()
    starts = 3 * torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    fp = ctrnn.find_fixed_points(field, starts)
    assert len(fp) == 1 and fp.kinds == ["stable node"] and fp.points.dtype == dtype
    # Newton on a linear system: one step, exact to rounding of |x| <= 10 starts: 10 eps (1 + |x|) slack
    torch.testing.assert_close(fp.points, torch.zeros(1, 2), rtol=0, atol=100 * eps_of(dtype))
    torch.testing.assert_close(fp.eigenvalues[0].real, torch.tensor(LAM), rtol=0, atol=10 * eps_of(dtype))

    dmap, c = half_map()
    fp = ctrnn.find_fixed_points(dmap, starts)
    assert len(fp) == 1 and fp.is_map and fp.kinds == ["stable node"]
    torch.testing.assert_close(fp.points[0], 2 * c, rtol=0, atol=100 * eps_of(dtype))
    torch.testing.assert_close(fp.eigenvalues[0].real, torch.tensor([0.5, 0.5]), rtol=0, atol=10 * eps_of(dtype))


def test_fixed_point_branches_follow_the_input(dtype):
    """A x + b u = 0 at x* = -A^-1 b u; the map's x* = 2 c u: a single stable branch, linear in u."""
    values = torch.tensor([-1.0, 0.0, 1.0])
    starts = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
    field, A = linear_field(with_input=True)
    br = ctrnn.fixed_point_branches(field, values, starts)
    assert br.counts() == [1, 1, 1] and br.stable_counts() == [1, 1, 1]
    x_of_u = -np.linalg.solve(f64(A), [1.0, -2.0])
    for u, res in zip(values, br.results):
        assert res.points.dtype == dtype
        np.testing.assert_allclose(f64(res.points[0]), float(u) * x_of_u, rtol=0, atol=100 * eps_of(dtype))
    dmap, c = half_map(with_input=True)
    br = ctrnn.fixed_point_branches(dmap, values, starts)
    assert br.counts() == [1, 1, 1]
    for u, res in zip(values, br.results):
        torch.testing.assert_close(res.points[0], 2 * float(u) * c, rtol=0, atol=100 * eps_of(dtype))


def test_limit_cycle_of_a_hopf_vector_field(dtype):
    field = ctrnn.VectorField(hopf, 2)
    rtol = max(1e-8, 100 * eps_of(dtype))  # 1e-8 in float64 keeps the test fast; 1.2e-5 in float32
    lc = ctrnn.find_limit_cycle(field, torch.tensor([0.3, 0.0]), t_transient=5, t_search=8, samples=200,
                                rtol=rtol, atol=rtol / 10, tol=max(1e-8, 1e3 * eps_of(dtype)))
    T = 2 * math.pi / OMEGA
    # the shooting solves to the solver's rtol over one period; the radial multiplier exp(-2 T) = 1.9e-3 is
    # a small number obtained from a monodromy matrix accurate to ~ rtol / its size
    assert abs(lc.period - T) < 1e3 * rtol, lc.period
    mu = sorted(f64(lc.floquet_multipliers.abs()))
    assert abs(mu[1] - 1) < 1e3 * rtol and abs(mu[0] - math.exp(-2 * T)) < 1e3 * rtol, mu
    radius = lc.orbit.norm(dim=-1)
    assert lc.orbit.dtype == dtype and float((radius - 1).abs().max()) < 1e3 * rtol


def test_basins_of_a_bistable_vector_field(dtype):
    """x' = x - x^3, y' = -y: the half planes x < 0 and x > 0 go to (-1, 0) and (1, 0)."""
    field = ctrnn.VectorField(lambda t, x, u: torch.stack([x[..., 0] - x[..., 0] ** 3, -x[..., 1]], -1), 2)
    res = basins(field, {"left": torch.tensor([-1.0, 0.0]), "right": torch.tensor([1.0, 0.0])},
                 extent=(-1.5, 1.5, -1.0, 1.0), resolution=(6, 4), t_end=15.0)
    # after t = 15 the slowest start (|x| = 0.3) is within e^(-2 * 15) of its attractor: far inside tol
    expected = (res.a > 0).long().expand(4, 6)  # grid a never hits 0 (even count, symmetric extent)
    assert torch.equal(res.labels, expected), res.labels


def test_spectra_along_states_of_a_vector_field_and_a_map(dtype):
    field, A = linear_field()
    states = torch.randn(3, 2, generator=torch.Generator().manual_seed(2))
    ev = spectra_along(field, states).eigenvalues
    assert ev.shape == (3, 2) and ev.real.dtype == dtype
    # the same Jacobian A everywhere: eig of a triangular matrix is its diagonal, to a few eps
    torch.testing.assert_close(ev.real, torch.tensor(LAM).expand(3, 2), rtol=0, atol=10 * eps_of(dtype))
    dmap, _ = half_map()
    spectra = spectra_along(dmap, states)
    assert spectra.is_map
    torch.testing.assert_close(spectra.eigenvalues.real, torch.full((3, 2), 0.5), rtol=0, atol=10 * eps_of(dtype))


def test_lyapunov_spectrum_of_a_vector_field_and_a_map(dtype):
    field, A = linear_field()
    x0 = torch.tensor([[1.0, 1.0], [-1.0, 0.5]])
    t_total, dt, t_vectors = 10.0, 0.2, 8.0
    les = ctrnn.lyapunov_spectrum(field, x0, t_transient=1, t_total=t_total, dt=dt, t_transient_vectors=t_vectors)
    assert les.exponents.dtype == dtype
    # after t_transient_vectors the frame has aligned to within cond(V) exp(-gap t) (gap 1, cond(V) ~ 2.4);
    # that boundary term spread over t_total, plus RK4's |lambda|^5 dt^4 / 120 and eps / dt of rounding
    V = np.linalg.eig(f64(A))[1]
    tol = (np.linalg.cond(V) * math.exp(-t_vectors) / t_total + 1.5**5 * dt**4 / 120
           + 10 * eps_of(dtype) / dt)
    np.testing.assert_allclose(f64(les.exponents), LAM, rtol=0, atol=tol)
    dmap, _ = half_map()
    les = ctrnn.lyapunov_spectrum(dmap, x0, t_transient=2, t_total=20)
    assert les.is_map
    # every step multiplies each vector by exactly 1/2 (a power of two): log(1/2) to rounding of the mean
    np.testing.assert_allclose(f64(les.exponents), [math.log(0.5)] * 2, rtol=0, atol=10 * eps_of(dtype))


def test_lyapunov_spectra_of_several_vector_fields(dtype):
    """dx/dt = -a x for several a: each spectrum is -a, exactly, whatever the batching."""
    rates = [0.5, 1.0, 2.0]
    fields = [ctrnn.VectorField(lambda t, x, u, a=a: -a * x, 2) for a in rates]
    spectra = ctrnn.lyapunov_spectra(fields, torch.ones(2, 2), t_transient=0.5, t_total=4, dt=0.1)
    for a, les in zip(rates, spectra):
        # different callables cannot share model 0's solve (they once did, silently: every result was -0.5)
        assert not les.metadata["stacked"]
        # R(-a h) = sum_j (-a h)^j / j! to degree 4: log of it per step / h differs from -a by (a h)^5 / 120 / h
        rk4 = math.log(sum((-a * 0.1) ** j / math.factorial(j) for j in range(5))) / 0.1
        np.testing.assert_allclose(f64(les.exponents), [rk4, rk4], rtol=0, atol=100 * eps_of(dtype))
        assert abs(rk4 + a) < (a * 0.1) ** 5 / 120 / 0.1 * 2


def test_gradient_propagation_through_a_vector_field_and_a_map(dtype):
    """||d x_T / d x_{T-k}|| = R(h lambda_max)^k for the diagonal flow and 2^-k for the half map."""
    field = ctrnn.VectorField(lambda t, x, u: x * torch.tensor(LAM), 2)
    gp = ctrnn.gradient_propagation(field, torch.ones(1, 2), horizon=4.0, dt=0.1)
    r = sum((LAM[0] * 0.1) ** j / math.factorial(j) for j in range(5))  # RK4's factor for the slow direction
    k = f64(gp.lags)
    # products of k diagonal factors: k eps relative error each
    np.testing.assert_allclose(f64(gp.norms[0]), r**k, rtol=(k.max() + 1) * 4 * eps_of(dtype), atol=0)
    assert abs(gp.rate - math.log(r) / 0.1) < 100 * eps_of(dtype) / 0.1
    dmap, _ = half_map()
    gp = ctrnn.gradient_propagation(dmap, torch.ones(1, 2), horizon=10)
    np.testing.assert_allclose(f64(gp.norms[0]), 0.5 ** f64(gp.lags), rtol=10 * eps_of(dtype), atol=0)
    assert abs(gp.rate - math.log(0.5)) < 100 * eps_of(dtype)


def test_discretization_error_of_a_vector_field_has_the_schemes_orders(dtype):
    field, _ = linear_field()
    x0 = torch.tensor([[1.0, -1.0]])
    # the reference solve's tolerance must sit below the smallest error measured (rk4 at dt = 0.1: ~1e-6)
    rtol = max(1e-10, 10 * eps_of(dtype))
    err = ctrnn.discretization_error(field, x0, 2.0, schemes=["euler", "rk4"], dts=[0.4, 0.2, 0.1],
                                     rtol=rtol, atol=rtol)
    orders = err.orders
    # log-log slope over a halving: the next term of the error changes it by O(dt |lambda|) ~ 0.15 at dt = 0.1
    assert abs(orders["euler"] - 1) < 0.2, orders
    if dtype == torch.float64:  # in float32 RK4's errors at dt = 0.1 (~1e-6) reach the rounding floor
        assert abs(orders["rk4"] - 4) < 0.3, orders


def test_sweep_builds_vector_fields_from_a_parameter(dtype):
    """dx/dt = -a x: the largest exponent is RK4's -a to (a dt)^5 / 120 / dt, per value."""
    values = [0.5, 1.5]
    res = ctrnn.sweep(lambda a, seed: ctrnn.VectorField(lambda t, x, u: -a * x, 2), values, parameter="a",
                      batch=2, t_transient=0.5, t_total=4, dt=0.1)
    for a, largest in zip(values, res.largest.tolist()):
        assert abs(largest + a) < (a * 0.1) ** 5 / 120 / 0.1 * 2 + 100 * eps_of(dtype), (a, largest)


def test_report_on_a_vector_field(tmp_path):
    """The report of a user's Hopf oscillator states its cycle: period 2 pi / OMEGA, stable, around an unstable
    focus at the origin (the linearisation there is 1 +- i OMEGA)."""
    # a Python callable steps slowly through torchdiffeq, so every size below the quick ones that the
    # statements checked here do not depend on
    small = ctrnn.SurveySettings.quick(t_end=20.0, lyapunov_total=10.0, basins_resolution_2d=12, basins_t_end=15.0,
                                       gradient_horizon=5.0, discretization_span=10.0)
    rep = ctrnn.report(ctrnn.VectorField(hopf, 2), tmp_path / "hopf.html", settings=small)
    assert (tmp_path / "hopf.html").stat().st_size > 10_000
    period = 2 * math.pi / OMEGA
    assert rep.summary["limit cycles"] == f"stable, period {period:.6g}"  # the reader sees 6 digits
    assert abs(rep.survey.cycles[0].period - period) < 1e-6 * period  # the search's accuracy (test_limit_cycles)
    assert rep.summary["fixed points"] == "1: 1 unstable focus"
    assert rep.summary["attractors found"] == "1: cycle 1" and rep.summary["chaotic"] == "no"
    assert "Phase portrait" in [heading for heading, _ in rep.sections]


def test_report_on_an_iterated_map(tmp_path):
    """The report of a user's map x -> x / 2 + c: one stable node at 2c, both exponents log(1/2) per iteration,
    and notes (not errors) for what a map does not have."""
    the_map, c = half_map()
    rep = ctrnn.report(the_map, tmp_path / "half.html", quick=True)
    html = (tmp_path / "half.html").read_text(encoding="utf-8")
    assert rep.summary["fixed points"] == "1: 1 stable node"
    # a map without tensors runs in float64; one Newton step on an affine map lands on 2c to a few ulps
    assert torch.allclose(rep.survey.fixed_points.points[0], 2 * c.to(rep.survey.fixed_points.points), atol=1e-14)
    assert rep.summary["largest Lyapunov exponent"] == f"{math.log(0.5):+.4f} ± 0.0000 per iteration"
    assert "a map is already discrete" in html and "computed for flows only" in html
