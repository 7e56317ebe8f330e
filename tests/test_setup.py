"""ctrnn.config and ctrnn.setup: what the command line and the gallery build their runs from."""

import pytest
import torch

import ctrnn
from ctrnn.config import overrides, resolve
from ctrnn.setup import (build_model_and_states, constant_input, gradient_results, model_config, natural_scheme, place,
                         random_states, resolve_torch)

DEFAULTS = {"seed": 0, "device": "cpu", "dtype": "float64", "model": {"kind": "rate"}, "run": {"t": 1.0, "n": 2}}


def test_resolve_layers_defaults_file_sets_and_flags(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("seed = 1\n[run]\nt = 2.0\nn = 5\n")
    cfg = resolve(DEFAULTS, path, {"run.n": 7, "seed": None}, ["run.t=3.0", "model.g=0.5"], free_sections=("model",))
    assert cfg["seed"] == 1 and cfg["run"] == {"t": 3.0, "n": 7} and cfg["model"] == {"kind": "rate", "g": 0.5}
    assert DEFAULTS["run"] == {"t": 1.0, "n": 2}  # the defaults are not modified
    assert overrides(["a.b=1"], {"a.b": 2, "c": None}) == {"a": {"b": 2}}
    with pytest.raises(ctrnn.ConfigError, match="unknown config key 'run.x'; valid keys here: n, t"):
        resolve(DEFAULTS, sets=["run.x=1"])


def test_resolve_torch_names_the_fix():
    assert resolve_torch("cpu", "float32") == (torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="unknown dtype 'half'; choose one of: float32, float64"):
        resolve_torch("cpu", "half")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        resolve_torch("gpu0", "float64")


def test_random_states_leave_the_global_rng_alone():
    net = ctrnn.RateRNN(4, seed=0)
    before = torch.random.get_rng_state()
    x0 = random_states(net, 3, batch=5, scale=2.0, device="cpu", dtype=torch.float32)
    assert torch.equal(torch.random.get_rng_state(), before)
    expected = 2.0 * torch.randn(5, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert torch.equal(x0, expected.to(net.dtype))  # the net's dtype (float64), not the one for tensor-less models


def test_place_keeps_a_complex_model_complex():
    lru = ctrnn.build_system("lru", {"n": 3}, seed=0)
    assert any(t.is_complex() for t in lru.parameters())
    place(lru, "cpu", torch.float32)
    assert any(t.is_complex() for t in lru.parameters())
    assert place(ctrnn.RateRNN(3, seed=0), "cpu", torch.float32).W.dtype == torch.float32


def test_build_model_and_states_from_a_config_or_a_file(tmp_path):
    cfg = {"seed": 2, "device": "cpu", "dtype": "float64", "model": model_config({"kind": "rate", "n": 6})}
    net, x0 = build_model_and_states(cfg, 3, 1.0)
    assert torch.equal(net.W, ctrnn.RateRNN(6, seed=2).W) and x0.shape == (3, 6)
    net.save(str(tmp_path / "m.safetensors"))
    again, y0 = build_model_and_states(cfg, 3, 1.0, model_file=tmp_path / "m.safetensors")
    assert torch.equal(again.W, net.W) and torch.equal(y0, x0)
    with pytest.raises(ctrnn.ConfigError, match="model 'rate'"):  # a wrong type from the config is the config's
        build_model_and_states({**cfg, "model": {"kind": "rate", "g": "strong"}}, 1, 1.0)
    with pytest.raises(ValueError, match="a constant input of 2 value"):
        constant_input([1.0, 2.0], net)
    with pytest.raises(ValueError, match="no standard discrete update"):
        natural_scheme("lorenz")


def test_gradient_results_follow_an_lstm_through_its_cell_too():
    cfg = {"seed": 0, "device": "cpu", "dtype": "float64", "model": {"kind": "lstm", "n": 3}}
    lstm, x0 = build_model_and_states(cfg, 2, 0.5)
    dmap = ctrnn.discretize(lstm, 1.0, scheme=natural_scheme("lstm"))
    results = gradient_results({"lstm": (dmap, x0)}, horizon=4.0, t_transient=1.0, dt=1.0)
    assert list(results) == ["lstm", "lstm (cell path c)"]
    assert all(r.norms.shape[-1] == len(r.lags) for r in results.values())
