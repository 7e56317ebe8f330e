"""Inputs u(t) against numpy / scipy interpolation, and their refusals."""

import numpy as np
import pytest
import scipy.interpolate
import torch

import ctrnn
from ctrnn.inputs import Constant, Interpolated, PiecewiseConstant, pulse, step, steps


def _samples(T=9, batch=(2,), m=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.2, 1.0, T))  # irregular grid
    y = rng.standard_normal((T, *batch, m))
    return t, y


def test_linear_interpolation_matches_numpy():
    t, y = _samples()
    u = Interpolated(torch.tensor(t), torch.tensor(y))
    q = np.linspace(t[0], t[-1], 57)
    got = u.sample(torch.tensor(q)).numpy()
    for b in range(2):
        for j in range(3):
            np.testing.assert_allclose(got[:, b, j], np.interp(q, t, y[:, b, j]), rtol=0, atol=1e-14)
    np.testing.assert_allclose(u(torch.tensor(q[5])).numpy(), got[5], rtol=0, atol=0)  # scalar == vectorised
    torch.testing.assert_close(u.breakpoints, torch.tensor(t[1:-1]))


def test_cubic_spline_matches_scipy_natural_spline():
    t, y = _samples(T=12)
    u = Interpolated(torch.tensor(t), torch.tensor(y), kind="cubic")
    q = np.linspace(t[0], t[-1], 101)
    ref = scipy.interpolate.CubicSpline(t, y, axis=0, bc_type="natural")(q)
    np.testing.assert_allclose(u.sample(torch.tensor(q)).numpy(), ref, rtol=0, atol=1e-12)
    assert u.breakpoints is None  # C2: nothing for the solver to stop at


def test_cubic_spline_is_differentiable_in_the_samples():
    t = torch.linspace(0, 1, 6)
    y = torch.randn(6, 1, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert torch.autograd.gradcheck(lambda y: Interpolated(t, y, kind="cubic").sample(torch.tensor([0.13, 0.5, 0.91])), (y,))


def test_piecewise_constant_is_a_zero_order_hold():
    u = PiecewiseConstant(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([[1.0], [2.0], [3.0]]), t_end=5.0)
    for time, expected in [(0.0, 1.0), (0.999, 1.0), (1.0, 2.0), (1.5, 2.0), (2.0, 3.0), (5.0, 3.0)]:
        assert float(u(torch.tensor(time))) == expected
    assert (u.t_min, u.t_max) == (0.0, 5.0)
    torch.testing.assert_close(u.breakpoints, torch.tensor([1.0, 2.0]))


def test_step_pulse_and_staircase_helpers():
    p = pulse(2.0, 3.0, [1.0, -1.0], t_span=(0.0, 10.0))
    assert p(torch.tensor(1.99)).tolist() == [0.0, 0.0]
    assert p(torch.tensor(2.0)).tolist() == [1.0, -1.0]
    assert p(torch.tensor(3.0)).tolist() == [0.0, 0.0]
    s = step(4.0, 0.5, t_span=(0.0, 10.0))
    assert float(s(torch.tensor(3.9))) == 0.0 and float(s(torch.tensor(4.0))) == 0.5 and s.t_max == 10.0
    st = steps([1.0, 2.0], [0.0, 1.0, 2.0], t_span=(0.0, 3.0))
    assert [float(st(torch.tensor(x))) for x in (0.5, 1.5, 2.5)] == [0.0, 1.0, 2.0]
    # switch times outside the span are clipped: a pulse that starts after the end never turns on,
    # one that started before the beginning is on from the start
    late = pulse(5.0, 6.0, 1.0, t_span=(0.0, 3.0))
    assert late.values.flatten().tolist() == [0.0] and late.t_max == 3.0
    early = pulse(-1.0, 2.0, 1.0, t_span=(0.0, 3.0))
    assert [float(early(torch.tensor(x))) for x in (0.0, 1.9, 2.0)] == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="strictly increasing"):
        steps([2.0, 1.0], [0.0, 1.0, 2.0], t_span=(0.0, 3.0))
    with pytest.raises(ValueError, match="t_off must be > t_on"):
        pulse(3.0, 2.0, 1.0, t_span=(0.0, 5.0))


def test_pulse_response_of_a_leaky_unit_is_exact():
    """x' = -x + u with a unit pulse on [1, 2): x(t) = 1 - e^-(t-1) inside, decays after."""
    field = ctrnn.VectorField(lambda t, x, u: -x + u, 1, input_dim=1)
    t = torch.linspace(0, 4, 9)
    traj = ctrnn.simulate(field, torch.zeros(1), t, inputs=pulse(1.0, 2.0, 1.0, t_span=(0.0, 4.0)), rtol=1e-10, atol=1e-12)
    tt = t.numpy()
    exact = np.where(tt < 1, 0.0, np.where(tt < 2, 1 - np.exp(-(tt - 1)), (1 - np.exp(-1)) * np.exp(-(tt - 2))))
    np.testing.assert_allclose(traj.x[:, 0].numpy(), exact, rtol=0, atol=1e-9)  # ~20 steps x 1e-10 x 5


@pytest.mark.parametrize("make,match", [
    (lambda: Interpolated(torch.tensor([0.0, 1.0, 1.0]), torch.zeros(3, 1)), r"strictly increasing; times\[2\]"),
    (lambda: Interpolated(torch.tensor([0.0, 1.0]), torch.zeros(3, 1)), r"T = len\(times\) = 2"),
    (lambda: Interpolated(torch.tensor([0.0, 1.0]), torch.zeros(2, 1), kind="cubic"), "at least 3 point"),
    (lambda: Interpolated(torch.tensor([0.0, 1.0]), torch.zeros(2, 1), kind="quadratic"), "unknown interpolation kind"),
    (lambda: PiecewiseConstant(torch.tensor([0.0, 1.0]), torch.tensor([[0.0], [float("nan")]])), "non-finite"),
    (lambda: PiecewiseConstant(torch.tensor([0.0, 1.0]), torch.zeros(2, 1), t_end=0.5), "t_end must be >="),
    (lambda: Constant([1.0, float("inf")]), "non-finite"),
])
def test_bad_inputs(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_interpolated_input_never_extrapolates():
    field = ctrnn.VectorField(lambda t, x, u: u, 1, input_dim=1)
    u = Interpolated(torch.tensor([0.0, 1.0, 2.0]), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="inputs never extrapolate"):
        ctrnn.simulate(field, torch.zeros(1), [0.0, 3.0], inputs=u)
