"""Reverse-engineering: unstable manifolds, slow modes and task-conditioned fixed points, against systems whose
fixed points, saddle graph and eigenvectors are known in closed form (and scipy's left eigenvectors).

The reference flip-flop is ``dz/dt = z - z^3 + k u`` per unit, rotated by a random orthogonal ``Q`` (``x = Q z``):
its fixed points are ``Q c`` for ``c`` in ``{-1, 0, 1}^3``: the 8 corners are stable (eigenvalues -2), the 12
points with one zero coordinate are saddles with one unstable direction (eigenvalue +1) whose unstable manifold is
the straight segment to the two corners that differ in that coordinate, one bit apart (Sussillo & Barak 2013's
picture, exactly). The trained networks' versions of these claims are in ``test_trained_mechanisms.py``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import torch

import ctrnn
from ctrnn.mechanisms import compare_topologies, task_fixed_points
from ctrnn.tasks import FlipFlop

CORNERS = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=3)), dtype=torch.float64)


def rotation(n: int, seed: int = 0) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


Q = rotation(3)


def cube_field(gain: float = 5.0) -> ctrnn.VectorField:
    def cube(t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        z = x @ Q.to(x)  # z = Q^T x, row-wise
        # a pulse u = +-1 pulls its unit towards u (one Euler step of dt = 1 / gain lands on it); u = 0 leaves the
        # cube's own field, whose fixed points are known
        dz = z - z**3 + (0 if u is None else gain * (u - u.abs() * z))
        return dz @ Q.T.to(x)
    return ctrnn.VectorField(cube, 3, input_dim=3)


def cube_model(dtype: torch.dtype = torch.float64) -> ctrnn.TaskModel:
    """The rotated cube with the readout ``y = Q^T x`` (so the stable points read out as the corners)."""
    return ctrnn.TaskModel(cube_field(), 3, source="state", C=Q.T.to(dtype), d=torch.zeros(3, dtype=dtype)).to(dtype)


def search(system, dtype=torch.float64, k=200):
    starts = torch.rand(k, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3 - 1.5
    return ctrnn.find_fixed_points(system, starts.to(dtype), inputs=torch.zeros(3, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("as_map", [False, True])
def test_the_unstable_manifolds_of_the_cube_join_corners_one_bit_apart(dtype, as_map):
    system = cube_field().to(dtype)
    dyn = ctrnn.discretize(system, 0.1) if as_map else system  # Euler: the same fixed points
    fps = search(dyn, dtype)
    z = (fps.points.double() @ Q)  # back in the cube's own coordinates
    assert len(fps) == 27  # every point of {-1, 0, 1}^3
    # Newton-polished roots, to the search's tolerance: |g| <= tol (1 + |x|) with tol = 1e-12 (float64) or
    # 3.1e-5 (float32); a map's g = F(x) - x = dt f pins f only to tol / dt, and |dz| <= |f| / 2 near a root
    tol = (1e-12 if dtype == torch.float64 else 3.1e-5) / (0.1 if as_map else 1.0)
    assert torch.allclose(z, z.round(), atol=2 * tol + 1e-12)
    man = ctrnn.unstable_manifolds(dyn, fps)
    graph = man.connections(unstable=1)
    assert len(graph) == 12
    for saddle, ends in graph.items():
        zs = z[saddle].round()
        assert int((zs == 0).sum()) == 1
        assert len(ends) == 2 and min(ends) >= 0 and ends[0] != ends[1]
        a, b = z[ends[0]].round(), z[ends[1]].round()
        # the two corners differ in exactly the saddle's zero coordinate and agree with it elsewhere
        differ = a != b
        assert int(differ.sum()) == 1 and bool((zs[differ] == 0).all()) and bool((a[~differ] == zs[~differ]).all())
    # each branch ends on its corner to the tolerance (end_tol = 1e-2 relative)
    assert float(man.end_distances[man.ends >= 0].max()) < 2e-2
    # higher-dimensional saddles are followed along their two leading directions, both ways
    assert int((man.origins == int((fps.n_unstable == 3).nonzero()[0])).sum()) == 4


def test_unstable_manifolds_refuse_mismatched_points():
    flow = cube_field()
    fps = search(flow)
    with pytest.raises(ValueError, match="fixed_points are those of a flow but a map"):
        ctrnn.unstable_manifolds(ctrnn.discretize(flow, 0.1), fps)
    with pytest.raises(TypeError, match="FixedPoints"):
        ctrnn.unstable_manifolds(flow, fps.points)
    with pytest.raises(ValueError, match="distance must be"):
        ctrnn.unstable_manifolds(flow, fps, distance=0.0)


def linear_system(eigenvalues: list[float], seed: int = 3) -> tuple[ctrnn.LinearSSM, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = len(eigenvalues)
    R = rng.normal(size=(n, n))
    A = R @ np.diag(eigenvalues) @ np.linalg.inv(R)
    B = rng.normal(size=(n, 2))
    return ctrnn.LinearSSM(torch.tensor(A), torch.tensor(B)), A, B


@pytest.mark.parametrize("as_map", [False, True])
def test_slow_modes_match_scipy_left_and_right_eigenvectors(as_map):
    ssm, A, B = linear_system([-0.01, -1.0, -2.0, -3.5])
    dyn = ctrnn.discretize(ssm, 0.5, scheme="zoh") if as_map else ssm
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    modes = ctrnn.slow_modes(dyn, x, inputs=torch.zeros(2, dtype=torch.float64))
    # the reference: scipy's eigen-decomposition of A (the map's Abar = expm(A dt), Bbar its ZOH input matrix)
    M, Bm = (scipy.linalg.expm(A * 0.5), np.linalg.solve(A, (scipy.linalg.expm(A * 0.5) - np.eye(4)) @ B)) \
        if as_map else (A, B)
    w, vl, vr = scipy.linalg.eig(M, left=True, right=True)
    k = int(np.argmin(np.abs(np.abs(w) - 1) if as_map else np.abs(w.real)))
    lam, r, l = w[k], vr[:, k], vl[:, k].conj()
    l = l / (l @ r)  # l^T r = 1
    expected_lam = math.exp(-0.01 * 0.5) if as_map else -0.01
    assert abs(lam.real - expected_lam) < 1e-10 and abs(float(modes.eigenvalues[0].real) - expected_lam) < 1e-10
    # r l^T and r (l^T B) do not depend on the sign or scale an eigen-solver picks (float64 rounding: 1e-9)
    for i in range(5):
        ours = torch.outer(modes.right[i], modes.left[i]).numpy()
        assert np.allclose(ours, np.outer(r, l).real, atol=1e-9)
        assert np.allclose(np.outer(modes.right[i].numpy(), modes.input_projections[i].numpy()),
                           np.outer(r, l @ Bm).real, atol=1e-9)
    assert bool(modes.others_stable.all())
    dt = 0.5 if as_map else 1.0
    assert torch.allclose(modes.time_constants, torch.full((5,), 100.0 / dt, dtype=torch.float64), rtol=1e-8)  # 1 / |rate|


def test_slow_modes_of_a_line_of_fixed_points():
    # eigenvalue exactly 0: the fixed points x = a r fill a line; every point lies on it, and r is along it
    ssm, A, _ = linear_system([0.0, -1.0, -2.0])
    w, vr = np.linalg.eig(A)
    r = torch.tensor(vr[:, int(np.argmin(np.abs(w)))].real)
    line = torch.linspace(-2, 2, 9, dtype=torch.float64)[:, None] * r
    modes = ctrnn.slow_modes(ssm, line, inputs=torch.zeros(2, dtype=torch.float64))
    assert modes.line_fraction == pytest.approx(1.0, abs=1e-12)
    assert torch.allclose(modes.alignment, torch.ones(9, dtype=torch.float64), atol=1e-9)
    assert torch.all(modes.eigenvalues.real.abs() < 1e-12)
    assert bool(torch.isinf(modes.time_constants).all())  # no decay along the line (|lambda| ~ 1e-14: rounding)



EPS = 0.05  # the fast-slow field's rate ratio


def fast_slow(x: torch.Tensor) -> torch.Tensor:
    # dx/dt = -eps x (slow), dy/dt = -(y - x^2) (fast): its slow eigenvalue is -eps everywhere, with right
    # eigenvector (1 - eps, 2x); the motion is parallel to it where y = x^2 (1 + eps) / (1 - eps) (worked out by
    # hand), the intrinsic low-dimensional manifold of Maas & Pope (1992)
    return torch.stack([-EPS * x[..., 0], -(x[..., 1] - x[..., 0] ** 2)], -1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("as_map", [False, True])
def test_slow_manifold_of_a_fast_slow_field_is_the_closed_form_curve(dtype, as_map):
    # the Euler map x + h f(x) has the field's eigenvectors and motion direction: the same curve
    dyn = (ctrnn.IteratedMap(lambda x, u: x + 0.1 * fast_slow(x), 2) if as_map
           else ctrnn.VectorField(lambda t, x, u: fast_slow(x), state_dim=2))
    start = torch.zeros(2, dtype=dtype)
    line = ctrnn.slow_manifold(dyn, start, extent=(0.5, 1.0), steps=5)
    x, y = line.points[:, 0].double(), line.points[:, 1].double()
    assert len(line) == 11 and line.metadata["start"] == 5 and line.points.dtype == dtype
    # the corrector stops at sqrt(eps) (1 + |x|) of the dtype on the off-mode motion; the curve's y follows within
    # a few times that (float32: 3e-4, float64: 1.5e-8)
    tol = 4 * math.sqrt(torch.finfo(dtype).eps) * 2
    assert float((y - x**2 * (1 + EPS) / (1 - EPS)).abs().max()) < tol
    arc = torch.tensor(line.metadata["arc"], dtype=torch.float64)
    assert float(arc[0]) == pytest.approx(-0.5, rel=0.02) and float(arc[-1]) == pytest.approx(1.0, rel=0.02)
    assert bool((arc.diff() > 0).all()) and bool((x.diff() > 0).all())  # in order along the curve
    assert line.metadata["ends"] == ["reached the extent"] * 2
    # each point's slow mode is the field's: -eps (the map's 1 - 0.1 eps), the fast one stable
    slow = 1 - 0.1 * EPS if as_map else -EPS
    assert torch.allclose(line.eigenvalues.real.double(), torch.full((11,), slow, dtype=torch.float64),
                          atol=10 * torch.finfo(dtype).eps)
    assert bool(line.others_stable.all())
    # the motion there: f = (-eps x, -2 eps x^2 / (1 - eps)), so |f| = eps |x| sqrt(1 + (2 x / (1 - eps))^2)
    expected = EPS * x.abs() * torch.sqrt(1 + (2 * x / (1 - EPS)) ** 2) * (0.1 if as_map else 1.0)
    assert torch.allclose(line.speeds.double(), expected, atol=tol)


def test_slow_manifold_halves_its_steps_where_the_curve_bends_and_says_why_an_arm_ended():
    """One step for 4 state units of a parabola: the corrector's chord would be 4.5 times the predictor, so the step
    is halved until it is not; every point is still on the closed-form curve and the arm ends at its extent (the
    chords' sum). With one corrector iteration it cannot return to the curve at any step: the arm ends at once and
    says so."""
    field = ctrnn.VectorField(lambda t, x, u: fast_slow(x), state_dim=2)
    zero = torch.zeros(2, dtype=torch.float64)
    line = ctrnn.slow_manifold(field, zero, extent=(0.0, 4.0), steps=1)
    x, y = line.points[:, 0], line.points[:, 1]
    assert len(line) > 2 and line.metadata["ends"] == ["reached the extent"] * 2
    assert float((y - x**2 * (1 + EPS) / (1 - EPS)).abs().max()) < 1e-7  # the corrector's sqrt(eps) (1 + |x|)
    chords = line.points.diff(dim=0).norm(dim=-1)
    # the last step is the rest of the extent along the predictor; its chord a little longer on the bend
    assert 4.0 <= line.metadata["arc"][-1] < 4.01
    assert line.metadata["arc"][-1] == pytest.approx(float(chords.sum()), rel=1e-12)
    stuck = ctrnn.slow_manifold(field, zero, extent=1.0, steps=4, max_iter=1)
    assert len(stuck) == 1 and stuck.metadata["start"] == 0
    for end in stuck.metadata["ends"]:
        assert end.startswith("the corrector did not converge in 1 iteration(s) at arc length 0, with steps down to "
                              "0.00781"), end  # 0.25 / 2^5


def test_slow_manifold_of_a_linear_flow_is_its_slow_eigenvector():
    ssm, A, _ = linear_system([-0.01, -1.0, -2.0])
    w, vr = np.linalg.eig(A)
    r = vr[:, int(np.argmin(np.abs(w.real)))].real
    r = r * np.sign(r[np.argmax(np.abs(r))])  # forward: the largest component positive
    line = ctrnn.slow_manifold(ssm, torch.zeros(3, dtype=torch.float64), inputs=torch.zeros(2, dtype=torch.float64),
                               extent=2.0, steps=4)
    arc = np.array(line.metadata["arc"])
    # the line x = a r, a the arc length (float64, the corrector's sqrt(eps) tolerance: 1.5e-8 relative)
    assert np.allclose(line.points.numpy(), arc[:, None] * r[None], atol=1e-7)
    assert np.allclose(arc, np.linspace(-2, 2, 9), atol=1e-7)
    assert line.line_fraction == pytest.approx(1.0, abs=1e-12)


def test_slow_manifold_refuses_bad_input():
    field = ctrnn.VectorField(lambda t, x, u: fast_slow(x), state_dim=2)
    zero = torch.zeros(2, dtype=torch.float64)
    for kwargs, match in ((dict(point=zero, extent=-1.0), "extent"), (dict(point=zero, extent=1.0, steps=0), "steps"),
                          (dict(point=torch.zeros(3, 2, dtype=torch.float64), extent=1.0), "point")):
        with pytest.raises(ValueError, match=match):
            ctrnn.slow_manifold(field, **kwargs)
    rotating = ctrnn.VectorField(lambda t, x, u: torch.stack([-0.1 * x[..., 0] - x[..., 1], x[..., 0] - 0.1 * x[..., 1]],
                                                             -1), state_dim=2)
    with pytest.raises(ValueError, match="complex"):
        ctrnn.slow_manifold(rotating, zero, extent=1.0)

def hopf(t, x, u):
    # dr/dt = r (1 - r^2), dtheta/dt = omega = u: a stable cycle of period 2 pi / u
    r2 = (x**2).sum(-1, keepdim=True)
    omega = u[..., :1]
    return torch.cat([x[..., :1] * (1 - r2) - omega * x[..., 1:], x[..., 1:] * (1 - r2) + omega * x[..., :1]], -1)


def test_find_limit_cycle_holds_a_constant_input():
    # regression: a constant (m,) input reached simulate as samples on the grid and was refused
    cycle = ctrnn.find_limit_cycle(ctrnn.VectorField(hopf, 2, input_dim=1), torch.tensor([0.5, 0.0]),
                                   inputs=torch.tensor([2.0], dtype=torch.float64))
    assert cycle.period == pytest.approx(math.pi, rel=1e-8)  # 2 pi / omega; shooting at rtol 1e-10


@pytest.mark.parametrize("dynamics", ["flow", "map"])
def test_task_fixed_points_of_the_reference_flip_flop(dynamics):
    task = FlipFlop(3, duration=10, pulse_probability=0.05, dt=0.2)
    result = task_fixed_points(cube_model(), task, trials=32, starts=256, dynamics=dynamics, seed=0)
    assert result.conditions == ["zero input"] and result.is_map == (dynamics == "map")
    stable = result.stable_readouts(0)
    assert stable.shape[0] == 8
    # the readouts are exactly the corners (Newton roots: 1e-9)
    assert torch.allclose(stable[torch.argsort((stable > 0).long() @ torch.tensor([4, 2, 1]))], CORNERS, atol=1e-9)
    comparison = compare_topologies({"cube": result})
    assert int(comparison.n_stable[0]) == 8 and int(comparison.n_patterns[0]) == 8
    assert int(comparison.n_saddles[0]) == 12 and int(comparison.n_joining[0]) == 12
    assert int(comparison.n_one_flip[0]) == 12
    assert result.counts(0)["saddle (1 unstable)"] == 12
    assert not result.cycles  # every trial settles on a corner


def test_task_fixed_points_save_and_load(tmp_path):
    task = FlipFlop(3, duration=10, pulse_probability=0.05, dt=0.2)
    result = task_fixed_points(cube_model(), task, trials=16, starts=128, seed=0)
    result.save(str(tmp_path / "tfp.safetensors"))
    back = ctrnn.load(tmp_path / "tfp.safetensors")
    assert back.conditions == result.conditions
    assert torch.equal(back.fixed_points[0].points, result.fixed_points[0].points)
    assert torch.equal(back.manifolds[0].ends, result.manifolds[0].ends)
    assert torch.equal(back.readouts[0], result.readouts[0])
    assert back.summary() == result.summary()


def test_task_fixed_points_refuse_bad_input():
    task = FlipFlop(3, duration=30)
    with pytest.raises(TypeError, match="needs a trained model with a readout"):
        task_fixed_points(cube_field(), task)
    with pytest.raises(ValueError, match="the model has 3 inputs but the task flipflop has 2"):
        task_fixed_points(cube_model(), FlipFlop(2, duration=30))
    with pytest.raises(ValueError, match="has no condition 'motion context'; choose from: zero input"):
        task_fixed_points(cube_model(), task, conditions=["motion context"])
    with pytest.raises(ValueError, match="unknown dynamics"):
        task_fixed_points(cube_model(), task, dynamics="ode")


def test_task_conditions_are_inputs_the_trials_hold():
    g = torch.Generator().manual_seed(0)
    sine = ctrnn.tasks.SineGenerator(n_frequencies=3, duration=20)
    batch = sine.sample(16, g)
    levels = {float(v) for v in sine.conditions().values()}
    assert {float(v) for v in batch.inputs[0, :, 0]} <= levels and len(levels) == 3
    ctx = ctrnn.tasks.ContextIntegration()
    batch = ctx.sample(8, g)
    cond = ctx.conditions()
    # before the stimulus, each trial holds its context's condition exactly
    for b in range(8):
        name = ["motion context", "colour context"][int(batch.trials["context"][b])]
        assert torch.equal(batch.inputs[0, b], cond[name])
