"""Saving and loading results and models: exact round trips, clear refusals."""

import pytest
import torch

import ctrnn


def test_trajectory_round_trip_is_exact(tmp_path):
    net = ctrnn.RateRNN(5, n_inputs=2, seed=3)
    u = torch.randn(11, 4, 2, generator=torch.Generator().manual_seed(0))
    traj = ctrnn.simulate(net, torch.randn(4, 5, generator=torch.Generator().manual_seed(1)), torch.linspace(0, 2, 11),
                          inputs=u, metadata={"seed": 3})
    traj.save(tmp_path / "run.safetensors")
    back = ctrnn.load(tmp_path / "run.safetensors")
    assert isinstance(back, ctrnn.Trajectory)
    for name in ("t", "x", "u"):
        assert torch.equal(getattr(back, name), getattr(traj, name).detach()), name
    assert back.stats == traj.stats and back.method == traj.method and back.rtol == traj.rtol
    assert back.metadata == traj.metadata
    assert back.metadata["seed"] == 3 and back.metadata["system"]["config"]["n"] == 5
    assert {"ctrnn", "torch", "torchdiffeq", "python"} <= set(back.metadata["versions"])
    assert not list(tmp_path.glob(".*partial"))  # the temporary file was renamed into place


@pytest.mark.parametrize("make", [
    lambda: ctrnn.RateRNN(6, n_inputs=2, form="r", activation="softplus", tau=torch.linspace(1, 2, 6), dale=0.5, seed=1),
    lambda: ctrnn.BeerCTRNN(torch.randn(3, 3, generator=torch.Generator().manual_seed(0)), taus=torch.tensor([1.0, 2.0, 3.0])),
    lambda: ctrnn.systems.Lorenz(rho=20.0),
    lambda: ctrnn.systems.VanDerPol(mu=3.0),
])
def test_model_round_trip(tmp_path, make):
    model = make()
    model.save(tmp_path / "model.safetensors")
    back = ctrnn.load(tmp_path / "model.safetensors")
    assert type(back) is type(model) and back.config() == model.config()
    for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), k
    x = torch.randn(2, model.state_dim, generator=torch.Generator().manual_seed(2))
    assert torch.equal(back(torch.tensor(0.0), x), model(torch.tensor(0.0), x))


def test_float32_model_keeps_its_dtype(tmp_path):
    model = ctrnn.RateRNN(4, seed=0).float()
    model.save(tmp_path / "m.safetensors")
    back = ctrnn.load(tmp_path / "m.safetensors")
    assert back.W.dtype == torch.float32 and torch.equal(back.W, model.W)


def test_unreadable_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        ctrnn.load(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a safetensors file")
    with pytest.raises(ValueError, match=r"not a (readable )?\.safetensors file"):
        ctrnn.load(garbage)
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ValueError, match="not one written by ctrnn"):
        ctrnn.load(tmp_path / "foreign.safetensors")
    with pytest.raises(ValueError, match="use a name ending in .safetensors"):
        ctrnn.systems.Lorenz().save(tmp_path / "model.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ctrnn.systems.Lorenz().save(tmp_path / "no" / "dir.safetensors")
    with pytest.raises(NotImplementedError, match="VectorField cannot be saved"):
        ctrnn.VectorField(lambda t, x, u: x, 2).save(tmp_path / "vf.safetensors")


@pytest.mark.parametrize("kind,scheme", [("linear", "foh"), ("lru", "zoh"), ("s4d", "bilinear"), ("gru", "exp_euler"),
                                         ("lstm", "euler"), ("rate", "rk4"), ("selective", "mamba")])
def test_discrete_map_round_trip(tmp_path, kind, scheme):
    model = ctrnn.build_system(kind, seed=3)
    dmap = ctrnn.discretize(model, 0.1, scheme=scheme)
    dmap.save(tmp_path / "map.safetensors")
    back = ctrnn.load(tmp_path / "map.safetensors")
    assert type(back) is type(dmap) and back.scheme == dmap.scheme
    x0 = torch.randn(2, model.state_dim, generator=torch.Generator().manual_seed(0)).to(
        torch.complex128 if kind in ("lru", "s4d") else torch.float64)
    u = torch.randn(6, 2, model.input_dim, generator=torch.Generator().manual_seed(1)) if model.input_dim else None
    with torch.no_grad():
        assert torch.equal(back.rollout(x0, u, steps=None if u is not None else 6), dmap.rollout(x0, u, steps=None if u is not None else 6))
    if hasattr(dmap, "cont2discrete_matrices"):
        for a, b in zip(back.cont2discrete_matrices(), dmap.cont2discrete_matrices(), strict=True):
            assert torch.equal(a, b)
