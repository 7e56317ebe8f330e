"""Limit cycles and Floquet multipliers against REFERENCES.md."""

import math
import re

import pytest
import torch

import ctrnn
from ctrnn.analysis import NoCycleError


def hopf(period: float) -> tuple[ctrnn.VectorField, float]:
    """The Hopf normal form ``dr/dt = k r (1 - r^2)``, ``dtheta/dt = omega`` in Cartesian coordinates,
    ``f(x) = k (1 - |x|^2) x + omega R x`` (``R`` the quarter turn), with ``omega = 2 pi / period`` and
    ``k = omega / 2``: the unit circle is a cycle of that period, and scaling the radial rate with omega
    makes the problem the same in units of the period (it contracts by exp(-2 pi) per turn)."""
    omega = 2 * math.pi / period
    k = omega / 2

    def f(t, x, u):
        r2 = (x**2).sum(-1, keepdim=True)
        return k * (1 - r2) * x + omega * torch.stack([-x[..., 1], x[..., 0]], -1)
    return ctrnn.VectorField(f, 2), k


@pytest.mark.parametrize("period", [0.01, 1.0, 100.0, 1000.0])
def test_cycles_of_any_period_are_found_with_the_defaults(period):
    """Five decades of periods, no t_search / t_transient / samples given, from inside the cycle."""
    system, k = hopf(period)
    lc = ctrnn.find_limit_cycle(system, torch.tensor([0.5, 0.0]))
    # shooting solves at rtol = atol = 1e-10 return to ~5e-10 per period; 1e-6 is the bar
    assert abs(lc.period / period - 1) < 1e-6
    # Floquet: along r = 1 the phase is neutral (multiplier 1) and a radial offset obeys
    # d(dr)/dt = k (1 - 3 r^2) dr = -2 k dr, so after one period it is multiplied by exp(-2 k T) = exp(-2 pi);
    # the monodromy matrix comes from the same 1e-10 solve, so both agree to ~1e-9
    mult = sorted(lc.floquet_multipliers.abs().tolist())
    assert abs(mult[1] - 1) < 1e-8 and abs(mult[0] - math.exp(-2 * k * period)) < 1e-8
    assert lc.stable
    torch.testing.assert_close(lc.orbit.norm(dim=-1), torch.ones(len(lc.orbit)), rtol=0, atol=1e-8)  # on r = 1
    assert lc.metadata["search_time"] < 10 * period  # the search scaled with the period


def test_a_search_cap_shorter_than_the_period_raises():
    with pytest.raises(NoCycleError, match=r"did not return .*t_search = 50"):
        ctrnn.find_limit_cycle(hopf(100.0)[0], torch.tensor([1.0, 0.0]), t_search=50.0)


def test_van_der_pol_period_and_floquet_multipliers():
    """mu = 1: period 6.66328686, multipliers 1 and 8.59695e-4, max |x| 2.00862 (REFERENCES.md)."""
    lc = ctrnn.find_limit_cycle(ctrnn.systems.VanDerPol(1.0), torch.tensor([2.0, 0.0]))
    assert abs(lc.period - 6.66328686) < 1e-8  # the reference's 9 digits; shooting solves at 1e-10
    mult = sorted(lc.floquet_multipliers.abs().tolist())
    # the reference's 6 digits (+-5e-10); the monodromy matrix is good to ~1e-9
    assert abs(mult[1] - 1.0) < 1e-8 and abs(mult[0] - 8.59695e-4) < 1e-9
    assert abs(float(lc.floquet_exponents.real.min()) - (-1.05937699)) < 1e-6  # log(8.59695e-4) / T
    assert lc.stable and lc.residual <= 1e-9 * (1 + 2.00862)  # the default tol's stopping rule
    assert abs(float(lc.orbit[:, 0].abs().max()) - 2.00862) < 1e-3  # 200 samples of the orbit
    torch.testing.assert_close(lc.orbit[0], lc.orbit[-1], rtol=0, atol=1e-8)  # it closes


def test_beer_oscillator_is_a_stable_cycle():
    beer = ctrnn.build_system("beer")
    lc = ctrnn.find_limit_cycle(beer, torch.tensor([0.0, 0.0]), t_search=100.0)
    assert lc.stable and 10 < lc.period < 40 and lc.residual < 1e-9
    # the flow along the orbit returns after one period: simulate it independently
    back = ctrnn.simulate(beer, lc.orbit[0], [0.0, lc.period], rtol=1e-11, atol=1e-11).x[-1]
    torch.testing.assert_close(back.detach(), lc.orbit[0], rtol=0, atol=1e-7)


def test_a_fixed_point_is_not_reported_as_a_cycle():
    net = ctrnn.RateRNN(3, g=0.5, seed=0)
    with pytest.raises(NoCycleError, match="settled on a fixed point") as info:
        ctrnn.find_limit_cycle(net, torch.ones(3))
    # the growing search stops as soon as it has settled (|f| < 1e-6 takes t ~ 30 here), far below its cap
    searched = float(re.search(r"after t = ([0-9.e+-]+)", str(info.value)).group(1))
    assert searched < 100


def test_limit_cycle_refuses_maps_and_bad_starts():
    with pytest.raises(TypeError, match="takes a flow"):
        ctrnn.find_limit_cycle(ctrnn.discretize(ctrnn.systems.VanDerPol(), 0.1), torch.ones(2))
    with pytest.raises(ValueError, match=r"x0 must be one state \(n,\)"):
        ctrnn.find_limit_cycle(ctrnn.systems.VanDerPol(), torch.ones(3, 2))
    with pytest.raises(ValueError, match="non-finite"):
        ctrnn.find_limit_cycle(ctrnn.systems.VanDerPol(), torch.tensor([math.nan, 0.0]))
    for kwargs, match in [({"t_transient": -1.0}, r"t_transient must be a finite number >= 0 .* got -1.0"),
                          ({"t_search": 0.0}, r"t_search must be a finite number > 0, got 0.0"),
                          ({"samples": 8}, r"samples must be >= 16 .* got 8"),
                          ({"orbit_points": 1}, r"orbit_points must be >= 2 .* got 1")]:
        with pytest.raises(ValueError, match=match):
            ctrnn.find_limit_cycle(ctrnn.systems.VanDerPol(), torch.tensor([2.0, 0.0]), **kwargs)


def test_limit_cycle_plot_save_load(tmp_path):
    lc = ctrnn.find_limit_cycle(ctrnn.build_system("beer"), torch.tensor([0.0, 0.0]), t_search=100.0)
    lc.save(tmp_path / "lc.safetensors")
    back = ctrnn.load(tmp_path / "lc.safetensors")
    assert back.period == lc.period and torch.equal(back.floquet_multipliers, lc.floquet_multipliers)
    lc.plot().savefig(tmp_path / "lc.png")
    assert (tmp_path / "lc.png").stat().st_size > 10_000
