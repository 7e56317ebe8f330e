"""Lyapunov spectra and gradient propagation against published values, closed forms and autograd."""

import math

import numpy as np
import pytest
import torch

import ctrnn
from ctrnn.analysis import kaplan_yorke_dimension


def test_lorenz_spectrum_matches_the_published_values():
    """REFERENCES.md: (0.9059, 0, -14.5723), sum -(sigma + 1 + beta). The allowed errors are the issue's
    (0.01, 0.01, 0.05); the sum's 1e-3 covers RK4's per-step error in log det at dt = 0.01, about
    dt^4 |lambda|^5 / 120 ~ 3e-4 per unit time for the Jacobian's largest |lambda| ~ 22.

    The suite's slowest test (about 25 s on 2 cores) because those error bounds need it: lambda_2 = 0 to 0.01
    takes 64 states over 200 time units (the batch-means error falls like 1 / sqrt(states x time)), i.e.
    2.5 million RK4 steps of state and tangents; a shorter run would only loosen the tolerances."""
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(64, 3, generator=gen) * 5 + torch.tensor([0.0, 0.0, 25.0])
    les = ctrnn.lyapunov_spectrum(ctrnn.systems.Lorenz(), x0, t_transient=20, t_total=200, dt=0.01,
                                  t_transient_vectors=20)
    lam = les.exponents.tolist()
    assert abs(lam[0] - 0.9059) < 0.01 and abs(lam[1]) < 0.01 and abs(lam[2] + 14.5723) < 0.05, lam
    assert abs(sum(lam) + (10 + 1 + 8 / 3)) < 1e-3
    assert abs(les.kaplan_yorke_dimension - 2.0621) < 0.01 and les.chaotic
    assert abs(les.entropy - lam[0]) < 0.01  # only lambda_1 is clearly positive
    assert les.running.shape == (len(les.times), 3) and abs(float(les.running[-1, 0]) - lam[0]) < 1e-12
    assert bool((les.stderr > 0).all()) and float(les.stderr[0]) < 0.01


def test_zero_diagonal_rate_network_sums_to_minus_n():
    """tr J = -N everywhere when J_ii = 0, so the flow's exponents sum to -N exactly (RK4's error in
    log det is O(dt^5) per step: 1e-6 relative holds at dt = 0.05)."""
    n = 40
    net = ctrnn.RateRNN(n, g=2.0, zero_diagonal=True, seed=1)
    x0 = torch.randn(3, n, generator=torch.Generator().manual_seed(0))
    les = ctrnn.lyapunov_spectrum(net, x0, t_transient=10, t_total=40, dt=0.05, t_transient_vectors=5)
    assert abs(float(les.exponents.sum()) / -n - 1) < 1e-6


def test_euler_map_sums_to_its_log_determinant():
    """The Euler map's exponents sum to the time average of log|det dF| along the orbit, checked here by
    slogdet of explicit Jacobians on an independent rollout. N ln(1 - dt)/dt (REFERENCES.md) is that
    average's leading term and is exact when W D is nilpotent: a feed-forward (strictly lower-triangular)
    W. For a random W it is off by O(dt tr((WD)^2)/N), printed here, not asserted."""
    n, dt = 30, 0.1
    target = n * math.log(1 - dt) / dt
    ff = ctrnn.RateRNN(n, g=2.0, zero_diagonal=True, seed=3)
    with torch.no_grad():
        ff.W.copy_(torch.tril(ff.W, diagonal=-1))
    x0 = torch.randn(2, n, generator=torch.Generator().manual_seed(1))
    les = ctrnn.lyapunov_spectrum(ctrnn.discretize(ff, dt), x0, t_transient=20, t_total=200, qr_interval=10)
    assert les.is_map and les.time_step == pytest.approx(dt)
    assert abs(float(les.per_unit_time().sum()) / target - 1) < 1e-6

    net = ctrnn.RateRNN(n, g=2.0, zero_diagonal=True, seed=1)
    euler = ctrnn.discretize(net, dt)
    les = ctrnn.lyapunov_spectrum(euler, x0, t_transient=20, t_total=200, qr_interval=10, t_transient_vectors=20)
    with torch.no_grad():
        states = euler.rollout(x0, steps=20 + 20 + 200)  # x_1 .. x_240
        measured = torch.cat([x0[None], states])[40:240]  # the states the measured steps start from
        # explicit Jacobians in closed form, not euler.jacobian (the map's own method): the x-form's Euler step
        # x + dt (-x + W tanh x) / tau has dF = I + dt (-I + W diag(1 - tanh^2 x)) / tau, tau = 1 here
        jac = torch.eye(n) + dt * (-torch.eye(n) + net.W * (1 - torch.tanh(measured) ** 2)[..., None, :])
        logdet = torch.linalg.slogdet(jac).logabsdet.sum(0).mean() / 200
    assert abs(float(les.exponents.sum()) / float(logdet) - 1) < 1e-10
    print(f"random W: sum per unit time {float(les.per_unit_time().sum()):.6f} vs N ln(1-dt)/dt {target:.6f}")


def test_subcritical_network_spectrum_is_the_origins_eigenvalues():
    """g < 1: every orbit falls to the origin, so the exponents are Re eig(-I + W) (sorted). Complex pairs
    converge like log(cond)/T (their Gram-Schmidt split oscillates), hence many states and a long run."""
    n = 16
    net = ctrnn.RateRNN(n, g=0.5, seed=2)
    x0 = torch.randn(16, n, generator=torch.Generator().manual_seed(0))
    les = ctrnn.lyapunov_spectrum(net, x0, t_transient=50, t_total=1000, dt=0.1, t_transient_vectors=50)
    expected = torch.sort(torch.linalg.eigvals(-torch.eye(n) + net.W.detach()).real, descending=True).values
    assert float((les.exponents - expected).abs().max()) < 1e-3
    assert not les.chaotic and les.kaplan_yorke_dimension == 0.0 and les.entropy == 0.0


def test_largest_exponent_changes_sign_across_the_transition():
    """N = 200: negative at g = 0.5, positive at g = 3 (Sompolinsky et al. 1988)."""
    n = 200
    x0 = torch.randn(2, n, generator=torch.Generator().manual_seed(0))
    signs = []
    for g in (0.5, 3.0):
        le = ctrnn.largest_lyapunov_exponent(ctrnn.RateRNN(n, g=g, seed=0), x0, t_transient=50, t_total=100, dt=0.1)
        assert le.exponents.shape == (1,)
        signs.append(le.largest)
    assert signs[0] < -0.1 and signs[1] > 0.05, signs


def test_linear_flow_exponents_are_the_real_parts_of_its_eigenvalues():
    """dx/dt = A x. A normal A (rotation blocks; complex pairs) and a non-normal A with real eigenvalues
    both converge to machine-level error once the vectors have aligned; the RK4 error in each exponent,
    |lambda|^5 dt^4 / 120, is below 1e-9 at dt = 0.02."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    blocks = np.zeros((6, 6))
    for i, (a, b) in enumerate([(-0.3, 1.0), (-0.8, 2.0), (-1.5, 0.5)]):
        blocks[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[a, b], [-b, a]]
    upper = np.triu(rng.standard_normal((5, 5)), 1) + np.diag([-0.2, -0.5, -0.9, -1.4, -2.0])
    P = rng.standard_normal((5, 5))
    for A in (Q @ blocks @ Q.T, P @ upper @ np.linalg.inv(P)):
        system = ctrnn.LinearSSM(torch.tensor(A), torch.zeros(A.shape[0], 1))
        x0 = torch.tensor(rng.standard_normal((2, A.shape[0])))
        les = ctrnn.lyapunov_spectrum(system, x0, t_transient=1, t_total=100, dt=0.02, t_transient_vectors=50)
        expected = np.sort(np.linalg.eigvals(A).real)[::-1]
        np.testing.assert_allclose(les.exponents.numpy(), expected, rtol=0, atol=1e-6)


def test_kaplan_yorke_dimension_by_hand():
    assert kaplan_yorke_dimension(torch.tensor([0.9059, 0.0, -14.5723])) == pytest.approx(2 + 0.9059 / 14.5723)
    assert kaplan_yorke_dimension(torch.tensor([-0.1, -1.0])) == 0.0
    assert kaplan_yorke_dimension(torch.tensor([0.5, 0.2])) == 2.0  # every partial sum positive: a lower bound
    # sorted: 1.0, -0.5, -3.0; partial sums 1.0, 0.5, -2.5: j = 2
    assert kaplan_yorke_dimension(torch.tensor([1.0, -3.0, -0.5])) == pytest.approx(2 + 0.5 / 3.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"t_transient": 0.0}, "t_transient must be a finite number > 0"),
    ({"qr_interval": -1.0}, "qr_interval must be a finite number > 0"),
    ({"t_total": float("nan")}, "t_total must be a finite number > 0"),
    ({"k": 4}, "1 <= k <= n = 3"),
    ({"dt": 0.0}, "dt must be a finite number > 0"),
    ({"method": "dopri5"}, "unknown scheme 'dopri5'; choose one of: euler, exp_euler, rk4"),
])
def test_lyapunov_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ctrnn.lyapunov_spectrum(ctrnn.systems.Lorenz(), torch.ones(3), **kwargs)


def test_a_diverging_run_is_an_error_not_a_result():
    blowup = ctrnn.VectorField(lambda t, x, u: x**2, 2)
    with pytest.raises(ctrnn.DivergenceError, match="diverged") as info:
        ctrnn.lyapunov_spectrum(blowup, torch.tensor([[0.1, 0.1], [2.0, 2.0]]), t_transient=5, t_total=20, dt=0.01)
    # x = 2 blows up at t = 1/2: the last time every state was seen finite is before it
    assert info.value.batch_indices == (1,) and info.value.time < 0.5 and "between t = 0 and t = 1" in str(info.value)
    with pytest.raises(ctrnn.DivergenceError, match="during the measurement"):
        ctrnn.lyapunov_spectrum(ctrnn.VectorField(lambda t, x, u: x + x**3, 1), torch.tensor([1e-2]),
                                t_transient=1, t_total=200, dt=0.01, t_transient_vectors=1)


def test_spectrum_plot_save_load(tmp_path):
    les = ctrnn.lyapunov_spectrum(ctrnn.systems.Lorenz(), torch.tensor([1.0, 1.0, 20.0]), t_transient=5, t_total=10)
    fig = les.plot()
    ax_s, ax_r = fig.axes
    assert np.allclose(ax_s.containers[0].lines[0].get_ydata(), les.exponents.numpy())
    assert np.allclose(ax_r.lines[0].get_ydata(), les.running[:, 0].numpy())
    les.save(str(tmp_path / "les.safetensors"))
    back = ctrnn.load(tmp_path / "les.safetensors")
    assert torch.equal(back.exponents, les.exponents) and back.kaplan_yorke_dimension == les.kaplan_yorke_dimension


# -- gradient propagation ------------------------------------------------------------------------------
def _autograd_norms(step, x, lags):
    """Spectral norms and singular values of d x_T / d x_{T-k} by autograd through ``lags`` steps."""
    states = [x]
    for _ in range(max(lags)):
        states.append(step(states[-1]))
    out = {}
    for k in lags:
        def through(y, k=k):
            for _ in range(k):
                y = step(y)
            return y
        J = torch.autograd.functional.jacobian(through, states[-1 - k])
        out[k] = torch.linalg.svdvals(J)
    return out


@pytest.mark.parametrize("kind", ["map", "flow"])
def test_gradient_propagation_agrees_with_autograd(kind):
    net = ctrnn.RateRNN(6, g=2.0, seed=0)
    x0 = torch.randn(6, generator=torch.Generator().manual_seed(0))
    # the flow's tangent goes through the same RK4 step that the rk4 map takes
    step = ctrnn.discretize(net, 0.1 if kind == "map" else 0.05, scheme="euler" if kind == "map" else "rk4").step
    if kind == "map":
        gp = ctrnn.gradient_propagation(ctrnn.discretize(net, 0.1), x0, horizon=8, t_transient=2, n_singular=6)
    else:
        gp = ctrnn.gradient_propagation(net, x0, horizon=0.4, t_transient=0.1, dt=0.05, n_singular=6)
    x_start = x0[None]
    for _ in range(2):
        x_start = step(x_start)
    ref = _autograd_norms(lambda y: step(y[None])[0], x_start[0].detach(), list(range(1, 9)))
    assert gp.lags.tolist() == list(range(1, 9))  # every lag compared, none skipped
    for i, lag in enumerate(gp.lags.tolist()):
        np.testing.assert_allclose(gp.singular_values[0, i].numpy(), ref[lag].numpy(), rtol=1e-10, atol=0)


def test_gradient_rate_matches_the_largest_exponent():
    """Same model (a chaotic N = 128 network's Euler map), same states and window: the fitted growth rate of
    ||d x_T / d x_{T-k}|| and the largest Lyapunov exponent agree to 5% (measured: 0.2%)."""
    net = ctrnn.RateRNN(128, g=3.0, seed=0)
    x0 = torch.randn(4, 128, generator=torch.Generator().manual_seed(0))
    euler = ctrnn.discretize(net, 0.1)
    gp = ctrnn.gradient_propagation(euler, x0, horizon=2000, t_transient=1000, fit_from=0.1)
    le = ctrnn.largest_lyapunov_exponent(euler, x0, t_transient=1000, t_total=2000, t_transient_vectors=10,
                                         qr_interval=10)
    lam = float(le.per_unit_time()[0])
    assert lam > 0.05 and abs(gp.rate / lam - 1) < 0.05, (gp.rate, lam)
    assert gp.metadata["dt"] == pytest.approx(0.1) and float(gp.lag_times[-1]) == pytest.approx(200.0)


def test_gated_and_ssm_maps_and_the_lstm_cell_path(tmp_path):
    torch.manual_seed(0)
    lstm = ctrnn.discretize(ctrnn.LSTMODE(8, 1, seed=0), 1.0)
    x0 = torch.randn(2, 16, generator=torch.Generator().manual_seed(0)) * 0.5
    through_h = ctrnn.gradient_propagation(lstm, x0, horizon=40, part="h")
    through_c = ctrnn.gradient_propagation(lstm, x0, horizon=40, part="c")
    assert through_h.part == "h" and through_c.singular_values.shape[-1] == 8
    # the cell path carries gradients further than the hidden state (the LSTM's point)
    assert through_c.rate > through_h.rate
    lru = ctrnn.DiagonalSSM.lru(8, 1, seed=0)
    dmap = ctrnn.discretize(lru, 1.0, scheme="zoh")
    gp = ctrnn.gradient_propagation(dmap, torch.zeros(8, dtype=torch.complex128), horizon=50)
    # a linear diagonal map: ||A^k|| = max |Abar|^k exactly, so the rate is log max |Abar|
    assert gp.rate == pytest.approx(math.log(float(dmap.Abar.abs().max())), abs=1e-12)
    gru = ctrnn.discretize(ctrnn.GRUODE(8, 1, seed=0), 1.0)
    sel = ctrnn.discretize(ctrnn.SelectiveSSM(2, 4, seed=0), 0.5, scheme="zoh")
    results = {"LSTM (c)": through_c, "LSTM (h)": through_h, "LRU": gp,
               "GRU": ctrnn.gradient_propagation(gru, torch.zeros(8), horizon=40),
               "selective SSM": ctrnn.gradient_propagation(sel, torch.zeros(8), horizon=40, inputs=torch.ones(1, 2))}
    fig = ctrnn.compare_gradient_propagation(results)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [lbl.split(":")[0] for lbl in labels] == list(results)
    gp.save(str(tmp_path / "gp.safetensors"))
    assert ctrnn.load(tmp_path / "gp.safetensors").rate == gp.rate
    with pytest.raises(ValueError, match="unknown state part 'q'.*all, h, c"):
        ctrnn.gradient_propagation(lstm, x0, horizon=5, part="q")
    with pytest.raises(ValueError, match="horizon must be a finite number > 0"):
        ctrnn.gradient_propagation(lstm, x0, horizon=0)


def test_gain_sweep_crosses_zero_near_one(tmp_path):
    """The largest exponent of dx/dt = -x + g J tanh(x) against g for N = 100: negative for g < 1,
    positive at g = 3, crossing between 1 and 3 (finite N and finite runs move the transition above 1:
    at N = 100 some g = 2 networks still settle on cycles)."""
    done = []
    result = ctrnn.sweep(lambda g, seed: ctrnn.RateRNN(100, g=g, seed=seed), [0.5, 1.0, 3.0], parameter="g",
                         seeds=[0, 1], batch=2, k=1, t_transient=50, t_total=100, dt=0.1,
                         on_result=lambda i, j, res: done.append((i, j)))
    assert len(done) == 6 and result.per_network.shape == (3, 2, 3)
    lam = result.largest.tolist()
    assert lam[0] < -0.3 and lam[1] < 0 < lam[2], lam
    assert 1.0 < result.crossing() < 3.0
    # the mean is over every network's every initial state
    every = torch.cat([r.per_state[:, 0] for r in result.spectra[2]])
    assert result.largest[2] == pytest.approx(float(every.mean()), abs=1e-14)
    ax_l = result.plot().axes[0]
    assert np.allclose(ax_l.containers[0].lines[0].get_ydata(), result.largest.numpy())
    result.save(str(tmp_path / "sweep.safetensors"))
    assert torch.equal(ctrnn.load(tmp_path / "sweep.safetensors").largest, result.largest)
    # resumed: finished runs are not run again
    again = ctrnn.sweep(lambda g, seed: pytest.fail("rebuilt a finished run"), [0.5], parameter="g", seeds=[0],
                        completed={(0, 0): result.spectra[0][0]})
    assert again.largest[0] == result.spectra[0][0].largest


def _stack_families():
    rate = [ctrnn.RateRNN(6, n_inputs=2, g=g, seed=s, dale=0.5, tau=torch.linspace(1, 2, 6)) for g, s in
            ((0.5, 0), (1.5, 1), (3.0, 2))]
    rate_r = [ctrnn.RateRNN(6, n_inputs=2, form="r", activation="softplus", seed=s) for s in range(3)]
    gen = torch.Generator().manual_seed(0)
    beer = [ctrnn.systems.BeerCTRNN(torch.randn(6, 6, generator=gen), taus=torch.rand(6, generator=gen) + 0.5,
                                    biases=torch.randn(6, generator=gen), gains=1.5) for _ in range(3)]
    return {"rate x-form, Dale, per-unit tau": rate, "rate r-form": rate_r, "Beer": beer}


@pytest.mark.parametrize("family", list(_stack_families()))
@pytest.mark.parametrize("native", [True, False], ids=["native", "vmap"])
def test_stacked_networks_evaluate_as_each_network_alone(family, native):
    """One batched model for several networks, through the class's native batched products and through
    torch.vmap: forward, Jacobian, JVP (one vector and several), leak and the discretized step and tangent of every
    row group equal the network's own (both input layouts). float32: a batched product sums in another order than
    a single one, so to a few float32 rounding errors of O(1) values (1e-6)."""
    nets = _stack_families()[family]
    stacked = ctrnn.stack_models(nets, native=native)
    assert stacked.native is native
    m = nets[0].input_dim
    gen = torch.Generator().manual_seed(1)
    x, v = torch.randn(3 * 4, 6, generator=gen), torch.randn(3 * 4, 6, 2, generator=gen)
    u_rows, u_shared = torch.randn(3 * 4, m, generator=gen), torch.randn(m, generator=gen)
    t = torch.zeros(())
    parts = [(net, slice(4 * p, 4 * p + 4)) for p, net in enumerate(nets)]
    each = lambda f: torch.cat([f(n, r) for n, r in parts])  # noqa: E731
    close = dict(rtol=0, atol=1e-6)
    for u in (None, u_rows, u_shared):
        w = lambda r: u if u is None or u.ndim == 1 else u[r]  # noqa: E731
        torch.testing.assert_close(stacked(t, x, u), each(lambda n, r: n(t, x[r], w(r))), **close)
        torch.testing.assert_close(stacked.jvp(x, v, u), each(lambda n, r: n.jvp(x[r], v[r], w(r))), **close)
        torch.testing.assert_close(stacked.jvp(x, v[..., 0], u), each(lambda n, r: n.jvp(x[r], v[r, ..., 0], w(r))),
                                   **close)
        torch.testing.assert_close(stacked.jacobian(x, u), each(lambda n, r: n.jacobian(x[r], w(r))), **close)
        torch.testing.assert_close(stacked.leak(x, u), each(lambda n, r: torch.broadcast_to(n.leak(x[r], w(r)),
                                                                                             x[r].shape)), **close)
    for scheme in ("euler", "rk4"):
        maps = ctrnn.stack_models([ctrnn.discretize(n, 0.1, scheme=scheme) for n in nets], native=native)
        assert maps.native is native and maps.dt == pytest.approx(0.1)
        step, tangent = maps.step_with_tangent(x, v, u_rows)
        alone = [ctrnn.discretize(n, 0.1, scheme=scheme).step_with_tangent(x[r], v[r], u_rows[r]) for n, r in parts]
        torch.testing.assert_close(maps.step(x, u_rows), torch.cat([a for a, _ in alone]), **close)
        torch.testing.assert_close(step, torch.cat([a for a, _ in alone]), **close)
        torch.testing.assert_close(tangent, torch.cat([b for _, b in alone]), **close)
    with pytest.raises(ValueError, match="does not split over 3 networks"):
        stacked(t, x[:5])


def test_native_stacking_is_refused_where_a_class_has_none():
    """An LSTM has no native stacked path; a subclass of a rate network may change its dynamics, so it does not
    inherit one either."""
    with pytest.raises(ValueError, match="LSTMODE has no native stacked path: leave native unset"):
        ctrnn.stack_models([ctrnn.LSTMODE(3, 0, seed=s) for s in (0, 1)], native=True)

    class Faster(ctrnn.RateRNN):
        def forward(self, t, x, u=None):
            return 2 * super().forward(t, x, u)

    nets = [Faster(4, seed=s) for s in (0, 1)]
    stacked = ctrnn.stack_models(nets)
    x = torch.randn(4, 4)
    from ctrnn.discretize import stacks_natively

    assert not stacked.native and not stacks_natively(nets[0])
    torch.testing.assert_close(stacked(torch.zeros(()), x), torch.cat([nets[0](0, x[:2]), nets[1](0, x[2:])]))


def test_stacking_refuses_different_architectures():
    from ctrnn.systems import stacking_obstacle

    assert stacking_obstacle([ctrnn.RateRNN(4, g=1, seed=0), ctrnn.RateRNN(4, g=2, seed=1)]) is None
    assert "RateRNN.form" in stacking_obstacle([ctrnn.RateRNN(4, seed=0), ctrnn.RateRNN(4, form="r", seed=0)])
    assert "RateRNN.phi" in stacking_obstacle([ctrnn.RateRNN(4, seed=0), ctrnn.RateRNN(4, activation="relu", seed=0)])
    assert "state_dim" in stacking_obstacle([ctrnn.RateRNN(4, seed=0), ctrnn.RateRNN(5, seed=0)])
    assert "tau is (4,)" in stacking_obstacle([ctrnn.RateRNN(4, seed=0), ctrnn.RateRNN(4, tau=torch.ones(4), seed=0)])
    assert "is a Lorenz" in stacking_obstacle([ctrnn.RateRNN(3, seed=0), ctrnn.systems.Lorenz()])
    with pytest.raises(ValueError, match="cannot be stacked: model 1 differs .*dale"):
        ctrnn.stack_models([ctrnn.RateRNN(4, seed=0), ctrnn.RateRNN(4, seed=0, dale=0.5)])


@pytest.mark.parametrize("as_map", [False, True])
def test_spectra_of_stacked_networks_equal_one_at_a_time(as_map):
    """Networks at three gains in one batched solve give each network's own spectrum (tangent vectors come
    from each network's seed), for flows and for maps; different architectures fall back to one at a time."""
    nets = [ctrnn.RateRNN(12, g=g, seed=i) for i, g in enumerate((0.5, 1.5, 3.0))]
    models = [ctrnn.discretize(n, 0.1) for n in nets] if as_map else nets
    x0 = torch.randn(3, 2, 12)
    opts = dict(k=4, t_transient=20, t_total=40, dt=0.1) if not as_map else dict(k=4, t_transient=200, t_total=400)
    together = ctrnn.lyapunov_spectra(models, x0, seeds=[7, 8, 9], **opts)
    for p, res in enumerate(together):
        alone = ctrnn.lyapunov_spectrum(models[p], x0[p], seed=7 + p, **opts)
        assert res.metadata["stacked"] and res.metadata["system"] == alone.metadata["system"]
        for name in ("exponents", "stderr", "per_state", "running"):
            torch.testing.assert_close(getattr(res, name), getattr(alone, name), rtol=0, atol=1e-12)
        assert res.kaplan_yorke_dimension == pytest.approx(alone.kaplan_yorke_dimension, abs=1e-10)
    mixed = ctrnn.lyapunov_spectra([nets[0], ctrnn.RateRNN(12, activation="relu", seed=0)], x0[0], k=2,
                                   t_transient=5, t_total=10, dt=0.1)
    assert not mixed[0].metadata["stacked"] and "phi" in mixed[0].metadata["not_stacked"]


def test_sweep_names_the_network_that_diverged():
    """A linear network with g = 4 grows like exp((g - 1) t): the sweep stops and names that value and seed."""
    build = lambda g, seed: ctrnn.RateRNN(20, g=g, seed=seed, activation="linear")  # noqa: E731
    with pytest.raises(ctrnn.DivergenceError, match=r"network at g = 4 \(seed 0\), g = 4 \(seed 1\) diverged:"
                                                    r".*between t = \d+ and t = \d+") as error:
        ctrnn.sweep(build, [0.5, 4.0], parameter="g", seeds=[0, 1], k=1, t_transient=50, t_total=10, dt=0.1,
                    max_norm=1e6)
    assert "g = 0.5" not in str(error.value) and min(error.value.batch_indices) >= 2 * 4  # the g = 4 rows only


# -- options that apply to flows only --------------------------------------------------------------------------
def _tiny_map():
    return ctrnn.discretize(ctrnn.RateRNN(3, g=0.5, seed=0), 0.1)


_RUNS = {  # each public path that takes dt / method, at its smallest
    "lyapunov_spectrum": lambda obj, **kw: ctrnn.lyapunov_spectrum(obj, torch.ones(3), t_transient=1, t_total=2, **kw),
    "largest_lyapunov_exponent": lambda obj, **kw: ctrnn.largest_lyapunov_exponent(obj, torch.ones(3), t_transient=1,
                                                                                    t_total=2, **kw),
    "lyapunov_spectra (stacked)": lambda obj, **kw: ctrnn.lyapunov_spectra([obj, obj], torch.ones(3), t_transient=1,
                                                                           t_total=2, **kw),
    "lyapunov_spectra (one by one)": lambda obj, **kw: ctrnn.lyapunov_spectra([obj, obj], torch.ones(3), stack=False,
                                                                              t_transient=1, t_total=2, **kw),
    "sweep": lambda obj, **kw: ctrnn.sweep(lambda v, seed: obj, [1.0], batch=1, k=1, t_transient=1, t_total=2, **kw),
    "gradient_propagation": lambda obj, **kw: ctrnn.gradient_propagation(obj, torch.ones(3), horizon=2, **kw),
}


@pytest.mark.parametrize("run", list(_RUNS))
def test_flow_options_are_refused_for_a_map(run):
    """``dt`` and ``method`` would be ignored by a map (one iteration per step, its scheme fixed by discretize):
    they are refused, naming the argument and the fix, instead of running silently."""
    with pytest.raises(ValueError, match="dt applies to flows; a map steps once per iteration: leave dt unset"):
        _RUNS[run](_tiny_map(), dt=123)
    with pytest.raises(ValueError, match="method applies to flows.*leave method unset"):
        _RUNS[run](_tiny_map(), method="nonsense")
    _RUNS[run](_tiny_map())  # unset, the map runs


@pytest.mark.parametrize("run", list(_RUNS))
def test_flow_methods_are_the_registered_schemes(run):
    flow = ctrnn.RateRNN(3, g=0.5, seed=0)
    with pytest.raises(ValueError, match="unknown scheme 'nonsense'; choose one of: euler, exp_euler, rk4"):
        _RUNS[run](flow, method="nonsense", dt=0.1)
    no_leak = ctrnn.VectorField(lambda t, x, u: -x, 3)
    with pytest.raises(ValueError, match="method 'exp_euler' does not apply to .*VectorField.*: exp_euler needs a "
                                         "linear leak.*; choose one of: euler, rk4"):
        _RUNS[run](no_leak, method="exp_euler", dt=0.1)


def test_flow_defaults_are_rk4_with_dt_001():
    flow = ctrnn.RateRNN(3, g=0.5, seed=0)
    les = ctrnn.lyapunov_spectrum(flow, torch.ones(3), t_transient=0.1, t_total=0.2, qr_interval=0.1)
    assert les.metadata["method"] == "rk4" and les.time_step == 0.01
    gp = ctrnn.gradient_propagation(flow, torch.ones(3), horizon=0.05)
    assert gp.metadata["method"] == "rk4" and gp.metadata["dt"] == 0.01 and gp.lags.tolist() == [1, 2, 3, 4, 5]


def test_stacked_lstms_step_like_each_lstm_alone():
    """The stacked flow forwards the model's own Euler step (the LSTM's staggered one), so a network's spectrum
    does not depend on whether it shares a solve."""
    nets = [ctrnn.LSTMODE(3, 0, seed=s) for s in (0, 1)]
    x0 = 0.5 * torch.randn(2, 2, 6, generator=torch.Generator().manual_seed(0))
    opts = {"k": 2, "t_transient": 1, "t_total": 3, "dt": 0.5, "method": "euler", "qr_interval": 1}
    together = ctrnn.lyapunov_spectra(nets, x0, stack=True, **opts)
    alone = ctrnn.lyapunov_spectra(nets, x0, stack=False, **opts)
    assert together[0].metadata["stacked"] and not alone[0].metadata["stacked"]
    # by default, one at a time: under vmap one solve is slower than that
    default = ctrnn.lyapunov_spectra(nets, x0, **opts)
    assert not default[0].metadata["stacked"] and "no native stacked path" in default[0].metadata["not_stacked"]
    for a, b in zip(together, alone):
        torch.testing.assert_close(a.per_state, b.per_state, rtol=0, atol=1e-13)  # vmap vs loop: rounding


# -- gradient norms beyond the floating-point range ------------------------------------------------------------
@pytest.mark.parametrize("factor", [3.0, 0.5])
def test_gradient_norms_are_exact_in_their_logarithm(factor, tmp_path):
    """``x -> factor x`` for 1000 iterations: ``d x_T / d x_{T-k} = factor^k``. 3^1000 overflows float64, so the
    result holds logarithms; they and the fitted rate are exact up to summing 1000 rounded logs. (The state
    starts at the fixed point 0, so that it stays finite while its derivative grows.)"""
    linear = ctrnn.IteratedMap(lambda x, u: factor * x, 2)
    gp = ctrnn.gradient_propagation(linear, torch.zeros(2, 2), horizon=1000, max_lags=50)
    lam = math.log(factor)
    assert torch.isfinite(gp.log_norms).all() and gp.log_norms.shape == (2, 50)
    # 1000 additions of a rounded log: relative error ~ 1000 eps; 1e-9 is loose
    torch.testing.assert_close(gp.log_norms[:, -1], torch.full((2,), 1000 * lam), rtol=1e-9, atol=0)
    torch.testing.assert_close(gp.log_singular_values[..., 0], gp.lags.double() * lam + 0 * gp.log_norms,
                               rtol=1e-9, atol=0)
    assert gp.rate == pytest.approx(lam, rel=1e-12, abs=1e-12)  # a straight line fitted in float64
    if factor > 1:
        assert math.isinf(float(gp.norms[0, -1])) and "e+477" in gp.summary()  # 3^1000 = 1.32e+477
    gp.save(str(tmp_path / "gp.safetensors"))
    back = ctrnn.load(tmp_path / "gp.safetensors")
    assert torch.equal(back.log_norms, gp.log_norms) and back.rate == gp.rate
    fig = gp.plot()
    low, high = fig.axes[0].get_ylim()  # the axis holds log10 of the norms: finite even past float64
    assert low <= 1000 * lam / math.log(10) <= high


def test_kaplan_yorke_dimension_counts_exponents_within_their_errors_as_zero():
    """The Beer report's cycle: lambda_1 = -0.0005 ± 0.0012 is zero within 2 s.e., so D_KY = 1, not 0."""
    lam, err = torch.tensor([-0.0005, -0.8]), torch.tensor([0.0012, 0.01])
    assert kaplan_yorke_dimension(lam) == 0.0  # the raw exponents
    assert kaplan_yorke_dimension(lam, err) == 1.0
    assert kaplan_yorke_dimension(torch.tensor([-0.004, -0.8]), err) == 0.0  # 3.3 s.e. below zero: negative
    assert kaplan_yorke_dimension(lam, None, resolution=0.001) == 1.0


def test_a_rotation_has_dimension_two_and_k_below_n_is_a_bound():
    """dx/dt = [[0, 1], [-1, 0]] x: exponents 0, 0. RK4's dissipation gives -7e-8 with a standard error of 1e-17
    (every block alike), so only the resolution 1 / t_total = 0.05 counts them as zero: D_KY = 2. With k = 1 of
    n = 2 exponents, every partial sum is non-negative: D_KY is the bound "≥ 1" in the summary and the plot."""
    A = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    system = ctrnn.LinearSSM(A, torch.zeros(2, 1, dtype=torch.float64))
    x0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    les = ctrnn.lyapunov_spectrum(system, x0, t_transient=1, t_total=20, dt=0.1)
    assert float(les.exponents.abs().max()) < 1e-6 and les.resolution == pytest.approx(0.05)
    assert les.kaplan_yorke_dimension == 2.0 and not les.kaplan_yorke_is_bound and not les.chaotic
    assert torch.equal(les.decided(), torch.zeros(2, dtype=torch.float64)) and les.entropy == 0.0
    one = ctrnn.lyapunov_spectrum(system, x0, k=1, t_transient=1, t_total=20, dt=0.1)
    assert one.kaplan_yorke_is_bound and one.kaplan_yorke_text() == "≥ 1"
    assert "Kaplan-Yorke dimension ≥ 1;" in one.summary()
    fig = one.plot()
    assert "D_KY ≥ 1" in fig.axes[0].get_title()


def test_van_der_pol_cycle_is_one_dimensional_and_not_chaotic():
    """On the Van der Pol cycle lambda_1 = 0 (along the orbit) and lambda_2 < 0: lambda_1's estimate is
    counted as zero, so D_KY = 1 exactly and the cycle is not chaotic (2 s.e. rule, ``ZERO_STDERRS``)."""
    les = ctrnn.lyapunov_spectrum(ctrnn.systems.VanDerPol(mu=1.0), torch.tensor([[2.0, 0.0]], dtype=torch.float64),
                                  t_transient=10, t_total=30, dt=0.05, t_transient_vectors=5)
    assert abs(les.largest) <= max(ctrnn.analysis.chaos.ZERO_STDERRS * float(les.stderr[0]), les.resolution)
    assert float(les.exponents[1]) < -0.5
    assert les.kaplan_yorke_dimension == 1.0 and not les.chaotic and not les.kaplan_yorke_is_bound
    assert les.kaplan_yorke_raw is not None and "Kaplan-Yorke dimension 1.0000" in les.summary()


@pytest.mark.parametrize("a, regime", [(3.0, "exploding"), (1.0, "neither"), (0.5, "vanishing")])
def test_gradient_regime_of_scalar_maps(a, regime):
    """x -> a x: d x_T / d x_(T-k) = a^k, so the rate is log a per iteration exactly (to rounding) and the
    norm at the horizon a^40; the regime follows RATE_BAND and the side of 1 the norm ends on."""
    gp = ctrnn.gradient_propagation(ctrnn.IteratedMap(lambda x, u: a * x, 2), torch.ones(2, dtype=torch.float64),
                                    horizon=40)
    assert gp.rate == pytest.approx(math.log(a), abs=1e-12)
    assert gp.regime == regime and f"({regime})" in gp.summary()


def test_gradient_regime_needs_the_norm_on_the_same_side_of_one():
    """A non-normal map [[0.9, 20], [0, 0.9]]: ||A^k|| ~ 20 k 0.9^(k-1) decays over lags 25..50 (rate about
    1/k + log 0.9 ~ -0.08 < -RATE_BAND) yet is still ~5.7 at lag 50: "neither", not "vanishing"; and a rate
    within the band (x -> 0.999 x: -0.001) is "neither" too."""
    A = torch.tensor([[0.9, 20.0], [0.0, 0.9]], dtype=torch.float64)
    gp = ctrnn.gradient_propagation(ctrnn.IteratedMap(lambda x, u: x @ A.T, 2), torch.ones(2, dtype=torch.float64),
                                    horizon=50)
    assert gp.rate < -ctrnn.analysis.gradients.RATE_BAND and float(gp.norms[0, -1]) > 1
    assert gp.regime == "neither" and "(neither)" in gp.summary()
    slow = ctrnn.gradient_propagation(ctrnn.IteratedMap(lambda x, u: 0.999 * x, 2), torch.ones(2, dtype=torch.float64),
                                      horizon=50)
    assert slow.regime == "neither"


def test_a_sweep_with_too_few_exponents_prints_its_dimension_as_a_bound(tmp_path):
    """With k = 1, a chaotic network's Kaplan-Yorke dimension is only known to be >= 1 (the one exponent
    computed is positive); the sweep's table must say "≥", not print 1.000 as a value, while a network
    settled on a fixed point (lambda_1 < 0) has D_KY = 0 exactly."""
    result = ctrnn.sweep(lambda g, seed: ctrnn.RateRNN(32, g=g, seed=seed).double(), [0.5, 3.0], parameter="g",
                         seeds=[0], batch=2, k=1, t_transient=20.0, t_total=40.0, dt=0.1)
    assert float(result.largest[0]) < 0 < float(result.largest[1])
    assert result.dimension_is_bound.tolist() == [False, True]
    rows = result.summary().splitlines()
    assert rows[1].endswith(" 0.000") and rows[2].endswith("≥ 1.000"), rows
    assert "lower bound" in result.summary()
    result.save(str(tmp_path / "sweep.safetensors"))
    again = ctrnn.load(tmp_path / "sweep.safetensors")
    assert again.dimension_is_bound.tolist() == [False, True]
