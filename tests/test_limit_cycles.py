"""Limit cycles and Floquet multipliers against REFERENCES.md."""

import math

import pytest
import torch

import ctrnn
from ctrnn.analysis import NoCycleError


def test_van_der_pol_period_and_floquet_multipliers():
    """mu = 1: period 6.66328686, multipliers 1 and 8.59695e-4, max |x| 2.00862 (REFERENCES.md)."""
    lc = ctrnn.find_limit_cycle(ctrnn.systems.VanDerPol(1.0), torch.tensor([2.0, 0.0]))
    assert abs(lc.period - 6.66328686) < 1e-6  # the reference's 9 digits; shooting converges to 1e-10
    mult = sorted(lc.floquet_multipliers.abs().tolist())
    assert abs(mult[1] - 1.0) < 1e-5 and abs(mult[0] - 8.59695e-4) < 1e-5
    assert abs(float(lc.floquet_exponents.real.min()) - (-1.05937699)) < 1e-4  # log(8.59695e-4) / T
    assert lc.stable and lc.residual < 1e-9
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
    with pytest.raises(NoCycleError, match="settled on a fixed point"):
        ctrnn.find_limit_cycle(net, torch.ones(3))


def test_limit_cycle_refuses_maps_and_bad_starts():
    with pytest.raises(TypeError, match="takes a flow"):
        ctrnn.find_limit_cycle(ctrnn.discretize(ctrnn.systems.VanDerPol(), 0.1), torch.ones(2))
    with pytest.raises(ValueError, match=r"x0 must be one state \(n,\)"):
        ctrnn.find_limit_cycle(ctrnn.systems.VanDerPol(), torch.ones(3, 2))
    with pytest.raises(ValueError, match="non-finite"):
        ctrnn.find_limit_cycle(ctrnn.systems.VanDerPol(), torch.tensor([math.nan, 0.0]))


def test_limit_cycle_plot_save_load(tmp_path):
    lc = ctrnn.find_limit_cycle(ctrnn.build_system("beer"), torch.tensor([0.0, 0.0]), t_search=100.0)
    lc.save(tmp_path / "lc.safetensors")
    back = ctrnn.load(tmp_path / "lc.safetensors")
    assert back.period == lc.period and torch.equal(back.floquet_multipliers, lc.floquet_multipliers)
    lc.plot().savefig(tmp_path / "lc.png")
    assert (tmp_path / "lc.png").stat().st_size > 10_000
