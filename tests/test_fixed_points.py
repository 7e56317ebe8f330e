"""Fixed and slow points of flows and maps against closed forms and REFERENCES.md."""

import math

import numpy as np
import pytest
import torch

import ctrnn
from ctrnn.analysis import sample_starts


def _sorted_points(fp):
    return fp.points[torch.argsort(fp.points[:, 0])]


def test_lorenz_fixed_points_and_eigenvalues():
    sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
    starts = torch.randn(128, 3, generator=torch.Generator().manual_seed(0)) * 10 + torch.tensor([0.0, 0.0, 25.0])
    fp = ctrnn.find_fixed_points(ctrnn.systems.Lorenz(), starts)
    assert len(fp) == 3 and fp.n_diverged == 0
    c = math.sqrt(beta * (rho - 1))  # C+- = (+-sqrt(beta (rho - 1)), same, rho - 1)
    expected = torch.tensor([[-c, -c, rho - 1], [0.0, 0.0, 0.0], [c, c, rho - 1]])
    torch.testing.assert_close(_sorted_points(fp), expected, rtol=0, atol=1e-12)
    # eigenvalues from the characteristic polynomials (closed forms), to 1e-8
    origin = np.sort(np.concatenate([np.roots([1, sigma + 1, sigma * (1 - rho)]), [-beta]]))
    wing = np.roots([1, sigma + beta + 1, beta * (sigma + rho), 2 * sigma * beta * (rho - 1)])
    for i in range(3):
        ev = fp.eigenvalues[i].numpy()
        if np.allclose(fp.points[i].numpy(), 0):
            np.testing.assert_allclose(np.sort(ev.real), origin, rtol=0, atol=1e-8)
            np.testing.assert_allclose(np.sort(ev.real), [-22.827723, -2.666667, 11.827723], atol=1e-6)  # REFERENCES
            assert fp.kinds[i] == "saddle (1 unstable)"
        else:
            np.testing.assert_allclose(np.sort_complex(ev), np.sort_complex(wing), rtol=0, atol=1e-8)
            pair = ev[np.abs(ev.imag) > 0]
            np.testing.assert_allclose([pair.real[0], abs(pair.imag[0])], [0.093956, 10.194505], atol=1e-6)
            assert fp.kinds[i] == "saddle (2 unstable)"
    assert float(fp.residuals.max()) < 1e-12


@pytest.mark.parametrize("w", [6.0, 3.0])
def test_centre_crossing_beer_neuron(w):
    """dy/dt = -y + w sigma(y - w/2): bistable iff w > 4; the middle point y = w/2 has eigenvalue -1 + w/4."""
    beer = ctrnn.BeerCTRNN(torch.tensor([[w]]), biases=-w / 2)
    fp = ctrnn.find_fixed_points(beer, torch.linspace(-5, 10, 61)[:, None])
    ys = sorted(float(p) for p in fp.points[:, 0])
    middle = min(range(len(fp)), key=lambda i: abs(float(fp.points[i, 0]) - w / 2))
    assert abs(float(fp.points[middle, 0]) - w / 2) < 1e-12
    assert abs(float(fp.eigenvalues[middle, 0].real) - (-1 + w / 4)) < 1e-12
    if w > 4:
        assert len(ys) == 3 and fp.kinds[middle] == "unstable node" and int(fp.stable.sum()) == 2
    else:
        assert len(ys) == 1 and fp.kinds[0] == "stable node"


def test_linear_system_has_its_unique_fixed_point_as_a_function_of_input():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4)) / 2 - np.eye(4)
    B = rng.standard_normal((4, 2))
    u = np.array([0.3, -1.2])
    ssm = ctrnn.LinearSSM(torch.tensor(A), torch.tensor(B))
    fp = ctrnn.find_fixed_points(ssm, torch.randn(20, 4, generator=torch.Generator().manual_seed(1)) * 5,
                                 inputs=torch.tensor(u))
    assert len(fp) == 1
    np.testing.assert_allclose(fp.points[0].numpy(), -np.linalg.solve(A, B @ u), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.sort(fp.eigenvalues[0].real.numpy()), np.sort(np.linalg.eigvals(A).real), atol=1e-12)


def test_subcritical_rate_network_has_only_the_origin():
    net = ctrnn.RateRNN(50, g=0.5, seed=3)
    traj = ctrnn.simulate(net, torch.randn(8, 50, generator=torch.Generator().manual_seed(0)) * 2, [0.0, 1.0, 2.0, 4.0])
    starts = torch.cat([sample_starts(traj.x, 64, noise=0.5, seed=1), 3 * torch.randn(64, 50, generator=torch.Generator().manual_seed(2))])
    fp = ctrnn.find_fixed_points(net, starts)
    assert len(fp) == 1 and float(fp.points.abs().max()) < 1e-12 and fp.kinds[0].startswith("stable")


def test_flow_and_its_euler_map_share_fixed_points_and_stability():
    net = ctrnn.RateRNN(6, g=2.0, seed=5, bias=0.3 * torch.randn(6, generator=torch.Generator().manual_seed(0)))
    starts = torch.randn(200, 6, generator=torch.Generator().manual_seed(1)) * 2
    flow = ctrnn.find_fixed_points(net, starts)
    dmap = ctrnn.find_fixed_points(ctrnn.discretize(net, 0.05), starts)
    assert len(flow) == len(dmap) >= 1 and dmap.is_map and not flow.is_map
    order_f, order_m = torch.argsort(flow.points[:, 0]), torch.argsort(dmap.points[:, 0])
    torch.testing.assert_close(flow.points[order_f], dmap.points[order_m], rtol=0, atol=1e-10)
    # Euler map eigenvalues are 1 + dt * flow eigenvalues: stable iff Re < 0 for small dt
    assert flow.stable[order_f].tolist() == dmap.stable[order_m].tolist()
    assert flow.n_unstable[order_f].tolist() == dmap.n_unstable[order_m].tolist()


def test_iterated_map_fixed_points():
    """Logistic map r x (1 - x), r = 2.5: 0 (|r| > 1, unstable) and 1 - 1/r (|2 - r| < 1, stable)."""
    logistic = ctrnn.IteratedMap(lambda x, u: 2.5 * x * (1 - x), 1)
    fp = ctrnn.find_fixed_points(logistic, torch.linspace(-0.5, 1.2, 30)[:, None])
    pts = {round(float(p), 12): s for p, s in zip(fp.points[:, 0], fp.stable.tolist(), strict=True)}
    assert pts == {0.0: False, 0.6: True}


def test_slow_point_is_not_reported_as_fixed():
    """x' = x^2 + 0.01 has no root: its minimum of q, at x = 0 with speed 0.01, is a slow point."""
    field = ctrnn.VectorField(lambda t, x, u: x * x + 0.01, 1)
    fp = ctrnn.find_fixed_points(field, torch.linspace(-2, 2, 9)[:, None], slow_tol=0.1)
    assert len(fp) == 0 and fp.slow_points.shape[0] == 1
    assert abs(float(fp.slow_points[0, 0])) < 1e-6 and abs(float(fp.slow_speeds[0]) - 0.01) < 1e-10


def test_runaway_starts_are_dropped():
    field = ctrnn.VectorField(lambda t, x, u: torch.exp(x) - 1.0 + 0 * x, 1)  # root at 0; far starts run off
    fp = ctrnn.find_fixed_points(field, torch.tensor([[0.5], [-0.5], [float(-800)]]))
    assert len(fp) == 1 and abs(float(fp.points[0, 0])) < 1e-14


@pytest.mark.parametrize("args,error,match", [
    ((torch.zeros(4, 2),), ValueError, r"x_init must have shape \(\*batch, 3\)"),
    ((torch.full((4, 3), float("nan")),), ValueError, "x_init contains 12 non-finite"),
    ((torch.zeros(3),), ValueError, r"x_init must be \(K, n\) starts"),
])
def test_fixed_point_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        ctrnn.find_fixed_points(ctrnn.systems.Lorenz(), *args)
    with pytest.raises(TypeError, match="takes a ctrnn.System"):
        ctrnn.find_fixed_points(lambda x: x, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="this model has no inputs"):
        ctrnn.find_fixed_points(ctrnn.systems.Lorenz(), torch.zeros(2, 3), inputs=torch.ones(1))
    with pytest.raises(ValueError, match=r"one constant input of shape \(m,\)"):
        ctrnn.find_fixed_points(ctrnn.RateRNN(3, n_inputs=1, seed=0), torch.zeros(2, 3), inputs=torch.ones(2, 1))


def _autograd_jacobian(fn, x):
    """Independent reference: torch.autograd.functional.jacobian of a raw callable, one state at a time."""
    flat = x.reshape(-1, x.shape[-1])
    return torch.stack([torch.autograd.functional.jacobian(fn, xi) for xi in flat]).reshape(*x.shape, x.shape[-1])


def test_jacobian_of_flows_and_maps():
    """Against autograd of the model's forward and of the Euler step x + dt f(x) written out here, not
    against net.jacobian (which ctrnn.jacobian calls)."""
    net = ctrnn.RateRNN(4, seed=0)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    t = torch.zeros(())
    ref = _autograd_jacobian(lambda y: net(t, y), x)
    torch.testing.assert_close(ctrnn.jacobian(net, x), ref, rtol=1e-12, atol=1e-12)  # float64, re-ordered sums
    dmap = ctrnn.discretize(net, 0.1)
    ref = _autograd_jacobian(lambda y: y + 0.1 * net(t, y), x)
    torch.testing.assert_close(ctrnn.jacobian(dmap, x), ref, rtol=1e-12, atol=1e-12)


def test_fixed_points_plot_save_load(tmp_path):
    net = ctrnn.RateRNN(6, g=2.0, seed=5, bias=0.3 * torch.randn(6, generator=torch.Generator().manual_seed(0)))
    traj = ctrnn.simulate(net, torch.randn(4, 6, generator=torch.Generator().manual_seed(1)), torch.linspace(0, 20, 101))
    fp = ctrnn.find_fixed_points(net, sample_starts(traj.x, 100, noise=0.3))
    fp.save(tmp_path / "fp.safetensors")
    back = ctrnn.load(tmp_path / "fp.safetensors")
    assert back.kinds == fp.kinds and torch.equal(back.eigenvalues, fp.eigenvalues) and torch.equal(back.stable, fp.stable)
    fig = fp.plot(trajectory=traj)
    fig.savefig(tmp_path / "fp.png")
    assert (tmp_path / "fp.png").stat().st_size > 10_000


def test_connectivity_spectrum_follows_the_circular_law():
    """W ~ N(0, g^2/n): eigenvalues fill the disc of radius g uniformly, so the mean of |lambda|^2 is g^2/2."""
    from ctrnn.analysis import connectivity_spectrum

    spec = connectivity_spectrum(ctrnn.RateRNN(800, g=1.5, seed=0))
    ev = spec.eigenvalues
    assert abs(spec.spectral_radius - 1.5) < 0.1  # edge fluctuations shrink with n; 800 units: a few %
    assert abs(float((ev.abs() ** 2).mean()) - 1.5**2 / 2) < 0.05 * 1.5**2 / 2
    assert float((ev.abs() <= 1.5 * 1.02).float().mean()) > 0.99
    ax = spec.plot().axes[0]  # every eigenvalue is drawn, with the disc of radius g
    drawn = {line.get_label(): line for line in ax.get_lines()}
    assert len(drawn["eigenvalues of W (n = 800)"].get_xdata()) == 800
    circle = drawn["circular law, radius g = 1.5"]
    assert abs(max(circle.get_xdata()) - 1.5) < 1e-9


def test_spectra_along_a_trajectory():
    from ctrnn.analysis import spectra_along

    net = ctrnn.RateRNN(5, seed=0)
    traj = ctrnn.simulate(net, torch.randn(2, 5, generator=torch.Generator().manual_seed(0)), torch.linspace(0, 1, 4))
    spectra = spectra_along(net, traj.x, t=traj.t)
    ev = spectra.eigenvalues
    assert ev.shape == (4, 2, 5)
    # the reference Jacobian from autograd of the forward, not net.jacobian (which spectra_along calls)
    expected = torch.linalg.eigvals(_autograd_jacobian(lambda y: net(traj.t[2], y), traj.x[2, 1].detach()))
    torch.testing.assert_close(torch.sort(ev[2, 1].real).values, torch.sort(expected.real).values)
    assert bool((ev.real[..., :-1] >= ev.real[..., 1:]).all())  # sorted, leading first
    torch.testing.assert_close(spectra.leading(), ev[..., 0].real)
    ax_e, ax_t = spectra.plot().axes[:2]  # plane and leading part against time (then the colour bar)
    assert ax_e.collections[0].get_offsets().shape == (4 * 2 * 5, 2)
    assert np.allclose(ax_t.lines[0].get_ydata(), ev[:, 0, 0].real.numpy())
    # a map: sorted by modulus against the unit circle
    euler = ctrnn.discretize(net, 0.5)
    assert spectra_along(euler, traj.x[1]).is_map
    with pytest.raises(ValueError, match="one time per state"):
        spectra_along(net, traj.x, t=traj.t[:2])


def test_branches_of_the_bistable_neuron_show_hysteresis(tmp_path):
    """dy/dt = -y + 6 sigma(y - 3) + I: three fixed points (two stable) exactly for the inputs I where
    the line y - I meets 6 sigma(y - 3) three times. The folds (saddle-node bifurcations) are where that
    curve's slope is 1, 6 s (1 - s) = 1 with s = sigma(y - 3): closed-form values of I to compare with."""
    w = 6.0
    beer = ctrnn.BeerCTRNN(torch.tensor([[w]]), biases=-w / 2)
    values = torch.linspace(-2.0, 2.0, 81, dtype=torch.float64)
    branches = ctrnn.fixed_point_branches(beer, values, torch.linspace(-4, 10, 8)[:, None])
    # the folds: 1 = w s (1 - s) with s = sigma(z), z = y - w/2, and I = y - w s
    s_fold = np.array([(1 - math.sqrt(1 - 4 / w)) / 2, (1 + math.sqrt(1 - 4 / w)) / 2])
    z = np.log(s_fold / (1 - s_fold))
    i_fold = np.sort(z + w / 2 - w * s_fold)
    for value, res in zip(values.tolist(), branches.results):
        inside = i_fold[0] < value < i_fold[1]
        assert len(res) == (3 if inside else 1), value
        assert int(res.stable.sum()) == (2 if inside else 1)
        y = res.points[:, 0].numpy()  # each is a root of the scalar equation, checked independently
        np.testing.assert_allclose(-y + w / (1 + np.exp(-(y - w / 2))) + value, 0, atol=1e-10)
    lo, hi = branches.multistable_range()
    step = float(values[1] - values[0])
    assert i_fold[0] < lo < i_fold[0] + step and i_fold[1] - step < hi < i_fold[1]
    ax = branches.plot().axes[0]
    assert len(ax.lines) == sum(branches.counts())
    branches.save(str(tmp_path / "b.safetensors"))
    back = ctrnn.load(tmp_path / "b.safetensors")
    assert back.counts() == branches.counts() and back.results[40].kinds == branches.results[40].kinds
    torch.testing.assert_close(back.results[40].points, branches.results[40].points, rtol=0, atol=0)
    with pytest.raises(ValueError, match="no inputs"):
        ctrnn.fixed_point_branches(ctrnn.systems.Lorenz(), values, torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"\(S, 1\)"):
        ctrnn.fixed_point_branches(beer, torch.zeros(3, 2), torch.zeros(1, 1))


def test_basins_of_the_bistable_beer_neurons():
    """Two uncoupled centre-crossing neurons with w = 6: four stable points, one per quadrant around
    (3, 3); each start's basin is set by which side of y = 3 each coordinate starts on."""
    from ctrnn.analysis import basins

    beer = ctrnn.BeerCTRNN(torch.diag(torch.tensor([6.0, 6.0])), biases=-3.0)
    fp = ctrnn.find_fixed_points(beer, torch.cartesian_prod(torch.linspace(-2, 8, 6), torch.linspace(-2, 8, 6)))
    stable = fp.points[fp.stable]
    assert stable.shape[0] == 4
    names = {f"p{i}": stable[i] for i in range(4)}
    res = basins(beer, names, origin=torch.tensor([3.0, 3.0]), extent=(-2.9, 2.9, -2.9, 2.9), resolution=(12, 12))
    assert bool((res.labels >= 0).all())
    for iy in range(12):
        for ix in range(12):
            start = torch.tensor([3.0 + float(res.a[ix]), 3.0 + float(res.b[iy])])
            target = stable[res.labels[iy, ix]]
            assert bool(((target > 3) == (start > 3)).all())  # same side of the unstable middle, per unit
    assert abs(sum(res.fractions().values()) - 1) < 1e-12
    ax = res.plot().axes[0]
    image = ax.get_images()[0].get_array()  # the picture is the labels (0: none)
    assert np.array_equal(np.asarray(image), (res.labels + 1).numpy())
    marked = np.array([line.get_xydata()[0] for line in ax.lines if len(line.get_xdata()) == 1 and line.get_marker() == "o"])
    np.testing.assert_allclose(np.sort(marked[:, 0]), np.sort((stable[:, 0] - 3).numpy()), atol=1e-12)


def test_pca_plane_and_basins_round_trip(tmp_path):
    from ctrnn.analysis import basins, pca_plane

    gen = torch.Generator().manual_seed(0)
    states = torch.randn(500, 5, generator=gen, dtype=torch.float64) * torch.tensor([3.0, 1.0, 0.1, 0.1, 0.1])
    plane = pca_plane(states)
    d = plane["directions"]
    torch.testing.assert_close(d @ d.T, torch.eye(2, dtype=torch.float64))
    assert abs(abs(float(d[0, 0])) - 1) < 0.02 and abs(abs(float(d[1, 1])) - 1) < 0.02  # the wide axes
    assert plane["axis_labels"][0].startswith("PC1")
    sys5 = ctrnn.VectorField(lambda t, x, u: -x, 5)
    res = basins(sys5, {"origin": torch.zeros(5)}, resolution=(4, 3), t_end=20.0, **plane)
    assert bool((res.labels == 0).all()) and res.labels.shape == (3, 4)
    res.save(str(tmp_path / "basins.safetensors"))
    back = ctrnn.load(tmp_path / "basins.safetensors")
    assert torch.equal(back.labels, res.labels) and back.names == ["origin"] and back.metadata["axis_labels"] == plane["axis_labels"]


def _fsolve_census(W, theta, m):
    """Every fixed point of the Beer CTRNN ``dy/dt = -y + W sigma(y + theta)``, by ``scipy.optimize.fsolve`` from
    an ``m^n`` grid over the box that holds all of them (``y* = W sigma`` lies in ``[sum W-, sum W+]`` per row),
    widened by 10%; roots to ``|f| < 1e-12``, merged within 1e-6."""
    import itertools

    from scipy.optimize import fsolve

    sig = lambda y: 1 / (1 + np.exp(-(y + theta)))
    f = lambda y: -y + W @ sig(y)
    jac = lambda y: W * (sig(y) * (1 - sig(y)))[None, :] - np.eye(len(y))
    lo, hi = np.minimum(W, 0).sum(1), np.maximum(W, 0).sum(1)
    axes = [np.linspace(lo[i] - 0.1 * (hi[i] - lo[i]), hi[i] + 0.1 * (hi[i] - lo[i]), m) for i in range(len(W))]
    found = []
    for y0 in itertools.product(*axes):
        y, _, ier, _ = fsolve(f, np.array(y0), fprime=jac, full_output=True, xtol=1e-13)
        if ier == 1 and np.abs(f(y)).max() < 1e-12 and not any(np.abs(y - p).max() < 1e-6 for p in found):
            found.append(y)
    return np.array(found), jac


# 3 neurons, self-weights 6 and biases -3 (27 points uncoupled), with cross-coupling 0.55 C for a seed-0 normal C
# (zero diagonal), rounded to 2 decimals: fsolve from grids of 6^3 to 16^3 starts all count 15 points, at least
# 0.75 apart, no eigenvalue within 0.18 of the imaginary axis (far from a bifurcation: the count is robust).
# Scanning the coupling scale, 0.1 gave 27, 0.3 21, 0.4 17, 0.5 and 0.6 15, 0.7 11.
W_15 = np.array([[6.0, -0.07, 0.35], [0.06, 6.0, 0.2], [0.72, 0.52, 6.0]])


@pytest.mark.parametrize("W, count", [(np.diag([6.0, 6.0]), 9), (W_15, 15)], ids=["2-neuron", "3-neuron"])
def test_census_of_beer_networks_matches_an_exhaustive_fsolve(W, count):
    """Starts from trajectories alone (which settle on one or two attractors) found 3 of the 9 and 4-13 of the 15
    points; the space-filling design and the refinement rounds find exactly the fsolve census."""
    from ctrnn.analysis import fixed_point_starts

    ref, jac = _fsolve_census(W, -3.0, 8)
    assert len(ref) == count
    net = ctrnn.BeerCTRNN(torch.tensor(W), biases=-3.0)
    x0 = torch.randn(8, len(W), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    traj = ctrnn.simulate(net, x0, torch.linspace(0, 50, 201, dtype=torch.float64))
    fp = ctrnn.find_fixed_points(net, fixed_point_starts(net, traj.x, 256, seed=2, noise=0.1), refine=3)
    assert len(fp) == count
    # the summary tells the 256 given starts from those the refinement rounds made
    made = fp.n_refinement_starts
    assert made > 0 and fp.n_starts == 256 + made
    assert f"from {256 + made} starts (256 given, {made} made from the points found)" in fp.summary()
    got = fp.points.numpy()
    for p in ref:  # a bijection: as many points, each reference root matched (Newton-polished: 1e-8)
        i = int(np.abs(got - p).max(1).argmin())
        np.testing.assert_allclose(got[i], p, rtol=0, atol=1e-8)
        ev = np.linalg.eigvals(jac(p))  # the kind from the reference Jacobian's eigenvalues
        n_unstable = int((ev.real > 0).sum())
        assert int(fp.n_unstable[i]) == n_unstable and bool(fp.stable[i]) == (n_unstable == 0)
        assert fp.kinds[i] == ("stable node" if n_unstable == 0 else "unstable node" if n_unstable == len(W)
                               else f"saddle ({n_unstable} unstable)")


def test_fixed_point_starts_mix_and_validation():
    from ctrnn.analysis import fixed_point_starts

    net = ctrnn.BeerCTRNN(torch.diag(torch.tensor([6.0, 6.0])), biases=-3.0)
    visited = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    starts = fixed_point_starts(net, visited, 64, seed=0)
    assert starts.shape == (64, 2) and starts.dtype == torch.float64
    # half the starts fill the box widened by margin (1) times its widest side (2): [-2, 3] x [-2, 4]
    design = starts[32:]
    assert float(design[:, 0].min()) >= -2 and float(design[:, 0].max()) <= 3 and float(design[:, 1].max()) <= 4
    assert float(design[:, 1].max()) > 3 and float(design[:, 0].min()) < -1  # it reaches past the visited range
    assert torch.equal(starts, fixed_point_starts(net, visited, 64, seed=0))  # seeded
    fp = ctrnn.find_fixed_points(net, starts)
    assert fixed_point_starts(net, visited, 64, seed=0, found=fp).shape[0] > 64
    for bad in (dict(k=0), dict(k=4, design_share=1.5), dict(k=4, margin=-1.0)):
        with pytest.raises(ValueError):
            fixed_point_starts(net, visited, **{"k": 4, **bad})
    with pytest.raises(ValueError, match="refine"):
        ctrnn.find_fixed_points(net, starts, refine=-1)


def test_branches_find_the_unstable_middle_branch_from_starts_on_one_attractor():
    """Starts on the low state only (as trajectories from small states give): the sweep up follows it, the sweep
    down the high one, and only a search between them finds the unstable middle branch y = 3 at I = 0."""
    w = 6.0
    beer = ctrnn.BeerCTRNN(torch.tensor([[w]]), biases=-w / 2)
    values = torch.linspace(-2.0, 2.0, 21, dtype=torch.float64)
    branches = ctrnn.fixed_point_branches(beer, values, torch.tensor([[0.4]], dtype=torch.float64))
    at_zero = branches.results[10]
    assert len(at_zero) == 3 and sorted(at_zero.kinds) == ["stable node", "stable node", "unstable node"]
    middle = at_zero.points[~at_zero.stable, 0]
    assert abs(float(middle[0]) - w / 2) < 1e-12  # y = w/2 solves -y + w sigma(y - w/2) = 0 at I = 0
    # the folds are at I = -/+ 0.4151 (closed form, see the test above): 3 points at every value between them
    assert branches.counts() == [1] * 8 + [3] * 5 + [1] * 8


def test_basin_plane_spans_every_fixed_point_and_counts_the_undecided():
    """Two uncoupled bistable neurons, trajectories that all settle in the low corner: the plane used to span
    only their range, so the other three basins got 0%. Spanning the fixed points too, each stable point's share
    is the area of its quadrant (y_i > 3 or < 3) in the extent, to within one row and one column of cells
    (2 / 21); from trajectories symmetric about (3, 3) (the flow is odd about it) each share is 25% within 1/20."""
    from ctrnn.analysis import basins, fixed_point_starts, state_plane

    beer = ctrnn.BeerCTRNN(torch.diag(torch.tensor([6.0, 6.0], dtype=torch.float64)), biases=-3.0)
    x0 = 0.5 * torch.randn(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    low = ctrnn.simulate(beer, x0, torch.linspace(0, 20, 41, dtype=torch.float64)).x
    fp = ctrnn.find_fixed_points(beer, fixed_point_starts(beer, low, 128, seed=0), refine=2)
    stable = {f"p{i}": fp.points[i] for i in range(len(fp)) if bool(fp.stable[i])}
    assert len(fp) == 9 and len(stable) == 4
    symmetric = torch.cat([low, 6.0 - low])  # y -> 6 - y maps solutions to solutions
    for visited, res, tol in ((symmetric, (20, 20), 1 / 20), (low, (21, 21), 2 / 21)):
        plane = state_plane(visited, include=fp.points)
        a0, a1, b0, b1 = plane["extent"]
        assert a0 < 0.42 and a1 > 5.58 and b0 < 0.42 and b1 > 5.58  # every point on the grid
        out = basins(beer, stable, **plane, resolution=res, t_end=30.0)
        shares = out.fractions()
        for name, p in stable.items():
            fa = (a1 - 3) / (a1 - a0) if float(p[0]) > 3 else (3 - a0) / (a1 - a0)
            fb = (b1 - 3) / (b1 - b0) if float(p[1]) > 3 else (3 - b0) / (b1 - b0)
            assert abs(shares[name] - fa * fb) <= tol, (name, shares[name], fa * fb)
            if visited is symmetric:
                assert abs(shares[name] - 0.25) <= tol
        undecided = float((out.labels < 0).sum()) / out.labels.numel()
        assert shares["undecided"] == undecided and abs(sum(shares.values()) - 1) < 1e-12
        legend = [t.get_text() for t in out.plot().axes[0].get_legend().get_texts()]
        assert f"undecided: none of them ({100 * undecided:.0f}%)" in legend


def test_the_summary_accounts_for_every_start():
    """dx/dt = 1 has no fixed point: every start stops short of one, and the summary says so (it used to leave
    them out: '0 converged, 0 ran away' of 5)."""
    field = ctrnn.VectorField(lambda t, x, u: torch.ones_like(x), 1)
    found = ctrnn.find_fixed_points(field, torch.randn(5, 1, generator=torch.Generator().manual_seed(0),
                                                       dtype=torch.float64))
    assert len(found) == 0
    assert found.summary() == ("0 fixed point(s), 0 slow point(s) from 5 starts: 0 converged, 0 ran away, "
                               "5 stopped short of a fixed point")
