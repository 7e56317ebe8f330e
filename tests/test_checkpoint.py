"""Long runs write results as they go and resume exactly where they stopped."""

import pytest
import torch
from conftest import solver_bound

import ctrnn
import ctrnn.io._checkpoint


class InterruptOnce:
    """A vector field that raises KeyboardInterrupt the first time it is evaluated past ``t_stop``,
    as a Ctrl-C in the middle of a run would."""

    def __init__(self, t_stop):
        self.t_stop, self.fired = t_stop, False
        self.A = torch.tensor([[-0.1, 1.0], [-1.0, -0.1]])

    def __call__(self, t, x, u):
        if not self.fired and float(t) > self.t_stop:
            self.fired = True
            raise KeyboardInterrupt
        return x @ self.A.T + u


def _problem():
    t = torch.linspace(0, 10, 101)
    u = torch.sin(t)[:, None, None].expand(101, 3, 2)
    x0 = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    return x0, t, u


def test_chunked_fixed_step_run_equals_one_solve(tmp_path):
    """rk4 cuts each output interval into the same steps either way, so chunking changes nothing."""
    net = ctrnn.RateRNN(6, n_inputs=2, seed=1)
    x0, t, u = _problem()
    x0 = torch.randn(3, 6, generator=torch.Generator().manual_seed(1))
    whole = ctrnn.simulate(net, x0, t, inputs=u, method="rk4", step_size=0.02)
    chunked = ctrnn.simulate_to_file(net, x0, t, tmp_path / "r.safetensors", inputs=u, method="rk4", step_size=0.02,
                                     chunks=7, checkpoint_seconds=0.0)
    assert torch.equal(chunked.x, whole.x.detach()) and chunked.stats.nfe == whole.stats.nfe
    saved = ctrnn.load(tmp_path / "r.safetensors")
    assert torch.equal(saved.x, chunked.x) and torch.equal(saved.u, whole.u)
    checkpoint = dict(saved.metadata["checkpoint"])
    identity = checkpoint.pop("identity")
    assert checkpoint == {"complete": True, "points_done": 101, "points_total": 101}
    assert identity["model"] == ctrnn.io.content_digest(net) and identity["x0"] == ctrnn.io.content_digest(x0)


def test_a_fixed_step_run_records_no_tolerances(tmp_path):
    """rk4 ignores rtol/atol: the file and the returned trajectory must say so, as simulate's does (the
    defaults 1e-7 / 1e-9 were recorded as if they had controlled the solve)."""
    net = ctrnn.RateRNN(4, seed=3)
    x0 = torch.randn(2, 4, generator=torch.Generator().manual_seed(3))
    t = torch.linspace(0, 2, 21)
    whole = ctrnn.simulate(net, x0, t, method="rk4")  # no step_size: one step per output interval
    run = ctrnn.simulate_to_file(net, x0, t, tmp_path / "f.safetensors", method="rk4", chunks=3)
    saved = ctrnn.load(tmp_path / "f.safetensors")
    assert whole.rtol is None and whole.atol is None
    for traj in (run, saved):
        assert traj.method == "rk4" and traj.rtol is None and traj.atol is None and traj.step_size is None
    assert torch.equal(saved.x, whole.x.detach())  # fixed steps: chunking changes nothing


def test_chunked_adaptive_run_agrees_to_tolerance(tmp_path):
    net = ctrnn.RateRNN(6, g=1.5, seed=2)
    x0 = torch.randn(2, 6, generator=torch.Generator().manual_seed(2))
    t = torch.linspace(0, 10, 51)
    whole = ctrnn.simulate(net, x0, t, rtol=1e-9, atol=1e-9)
    chunked = ctrnn.simulate_to_file(net, x0, t, tmp_path / "a.safetensors", rtol=1e-9, atol=1e-9, chunks=5)
    torch.testing.assert_close(chunked.x, whole.x.detach(), rtol=0, atol=2 * solver_bound(whole))


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    x0, t, u = _problem()
    path = tmp_path / "run.safetensors"
    reference = ctrnn.simulate_to_file(ctrnn.VectorField(InterruptOnce(1e9), 2, 2), x0, t, tmp_path / "ref.safetensors",
                                       inputs=u, chunks=10)
    field = ctrnn.VectorField(InterruptOnce(6.3), 2, 2)
    with pytest.raises(KeyboardInterrupt):
        ctrnn.simulate_to_file(field, x0, t, path, inputs=u, chunks=10, checkpoint_seconds=1e9)
    partial = ctrnn.load(path)  # nothing lost: the chunks before the interruption are on disk
    assert partial.metadata["checkpoint"]["complete"] is False
    assert len(partial.x) == 61 and torch.equal(partial.x, reference.x[:61])
    with pytest.raises(ValueError, match="exists; pass resume=True"):
        ctrnn.simulate_to_file(field, x0, t, path, inputs=u, chunks=10)
    resumed = ctrnn.simulate_to_file(field, x0, t, path, inputs=u, chunks=10, resume=True)
    assert torch.equal(resumed.x, reference.x)
    assert resumed.stats.n_accepted == reference.stats.n_accepted  # stats add up across sessions
    # resuming a finished run returns it without solving again
    again = ctrnn.simulate_to_file(field, x0, t, path, inputs=u, chunks=10, resume=True)
    assert torch.equal(again.x, reference.x)


def test_resume_refuses_a_different_problem(tmp_path):
    x0, t, u = _problem()
    path = tmp_path / "run.safetensors"
    field = ctrnn.VectorField(InterruptOnce(3.0), 2, 2)
    with pytest.raises(KeyboardInterrupt):
        ctrnn.simulate_to_file(field, x0, t, path, inputs=u, chunks=10)
    with pytest.raises(ValueError, match="differs in: initial states"):
        ctrnn.simulate_to_file(field, x0 + 1, t, path, inputs=u, chunks=10, resume=True)
    with pytest.raises(ValueError, match="differs in: time grid, solver settings"):
        ctrnn.simulate_to_file(field, x0, t * 2, path, inputs=u, rtol=1e-3, chunks=10, resume=True)


def test_cli_resume_after_interruption(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli import app

    runner = CliRunner()
    out = tmp_path / "run"
    args = ["simulate", "--n", "8", "--t-end", "20", "--batch", "2", "--out", str(out), "-q"]
    assert runner.invoke(app, [*args[:-3], "--out", str(tmp_path / "ref"), "-q"]).exit_code == 0
    reference = ctrnn.load(tmp_path / "ref" / "trajectory.safetensors")

    real = ctrnn.simulate
    calls = {"n": 0}

    def flaky(*a, **k):  # the 40th chunk is interrupted, as by Ctrl-C
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(ctrnn.io._checkpoint, "simulate", flaky)
    result = runner.invoke(app, args)
    assert result.exit_code == 130 and "continue with: ctrnn simulate --resume --out" in result.output
    monkeypatch.setattr(ctrnn.io._checkpoint, "simulate", real)
    assert ctrnn.load(out / "trajectory.safetensors").metadata["checkpoint"]["complete"] is False
    bad = runner.invoke(app, ["simulate", "--resume", "--out", str(out), "--n", "9"])
    assert bad.exit_code == 2 and "give only --out" in bad.output
    result = runner.invoke(app, ["simulate", "--resume", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert torch.equal(ctrnn.load(out / "trajectory.safetensors").x, reference.x)
    assert (out / "trajectory.png").exists()


def _interrupted(tmp_path, net, x0, t, u, chunks: int):
    """A run stopped after its first chunks, as a kill leaves it: the checkpoint of the points done so far."""
    path = tmp_path / "r.safetensors"
    calls = {"n": 0}
    real = ctrnn.io._checkpoint.simulate

    def stop_after_three(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    ctrnn.io._checkpoint.simulate = stop_after_three
    try:
        with pytest.raises(KeyboardInterrupt):
            ctrnn.simulate_to_file(net, x0, t, path, inputs=u, method="rk4", step_size=0.02, chunks=chunks,
                                   checkpoint_seconds=0.0)
    finally:
        ctrnn.io._checkpoint.simulate = real
    assert not ctrnn.load(path).metadata["checkpoint"]["complete"]
    return path


def test_resume_with_other_chunks_continues_from_the_last_point_done(tmp_path):
    """Chunking is bookkeeping: resumed with other chunks, the run continues from the last saved point and
    gives the uninterrupted result (rk4 on the same steps: exactly), one row per time, never the rows of
    overlapping chunks (553 rows for 501 times before the fix)."""
    net = ctrnn.RateRNN(6, n_inputs=2, seed=1)
    _, t, u = _problem()
    x0 = torch.randn(3, 6, generator=torch.Generator().manual_seed(1))
    whole = ctrnn.simulate(net, x0, t, inputs=u, method="rk4", step_size=0.02)
    path = _interrupted(tmp_path, net, x0, t, u, chunks=7)
    again = ctrnn.simulate_to_file(net, x0, t, path, inputs=u, method="rk4", step_size=0.02, chunks=3, resume=True)
    assert again.x.shape == whole.x.shape and torch.equal(again.x, whole.x.detach())


def test_resume_refuses_another_network_of_the_same_config(tmp_path):
    """Same class, same size, same config, other weights (W * 3): not the same run, so resuming is refused and
    names the model tensors, instead of splicing two networks' trajectories into one file."""
    net = ctrnn.RateRNN(6, n_inputs=2, seed=1)
    _, t, u = _problem()
    x0 = torch.randn(3, 6, generator=torch.Generator().manual_seed(1))
    path = _interrupted(tmp_path, net, x0, t, u, chunks=7)
    other = ctrnn.RateRNN(6, n_inputs=2, seed=1)
    with torch.no_grad():
        other.W.mul_(3.0)
    assert other.describe() == net.describe()  # what the file recorded before: it could not tell them apart
    with pytest.raises(ValueError, match="model tensors"):
        ctrnn.simulate_to_file(other, x0, t, path, inputs=u, method="rk4", step_size=0.02, chunks=7, resume=True)
    with pytest.raises(ValueError, match="initial states"):
        ctrnn.simulate_to_file(net, x0 + 1e-12, t, path, inputs=u, method="rk4", step_size=0.02, resume=True)
