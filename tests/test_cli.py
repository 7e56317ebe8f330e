"""The command line: through Typer's CliRunner, and once as a real subprocess."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import ctrnn
from cli import app

runner = CliRunner()
SMALL = ["--n", "12", "--t-end", "5", "--batch", "3", "--quiet"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_the_verbs():
    result = run("--help")
    assert result.exit_code == 0
    for verb in ("simulate", "models", "version"):
        assert verb in result.output
    models = run("models")
    assert models.exit_code == 0 and "rate" in models.output and "dopri5" in models.output


def test_simulate_writes_everything_and_reproduces_from_its_config(tmp_path):
    out = tmp_path / "a"
    result = run("simulate", *SMALL, "--seed", "4", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("trajectory.safetensors", "model.safetensors", "trajectory.png", "trajectory.svg", "config.toml"):
        assert (out / name).stat().st_size > 0, name
    traj = ctrnn.load(out / "trajectory.safetensors")
    assert traj.x.shape == (51, 3, 12) and traj.x.dtype == torch.float64 and traj.metadata["seed"] == 4
    model = ctrnn.load(out / "model.safetensors")
    assert torch.equal(model.W, ctrnn.RateRNN(12, g=1.5, seed=4).W)
    # the resolved config alone reproduces the run exactly
    again = run("simulate", "--config", out / "config.toml", "--out", tmp_path / "b", "--quiet")
    assert again.exit_code == 0, again.output
    assert torch.equal(ctrnn.load(tmp_path / "b" / "trajectory.safetensors").x, traj.x)


def test_flags_override_the_config_file(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('seed = 1\ndtype = "float32"\n[model]\nkind = "rate"\nn = 7\ng = 0.5\n'
                   '[simulation]\nt_end = 2.0\nbatch = 2\nmethod = "rk4"\nstep_size = 0.05\n')
    result = run("simulate", "--config", cfg, "--n", "9", "--set", "model.form=\"r\"", "--out", tmp_path / "o", "-q")
    assert result.exit_code == 0, result.output
    traj = ctrnn.load(tmp_path / "o" / "trajectory.safetensors")
    assert traj.x.shape[-1] == 9 and traj.x.dtype == torch.float32 and traj.method == "rk4"
    assert traj.metadata["config"]["model"]["form"] == "r" and traj.metadata["config"]["model"]["g"] == 0.5


def test_driven_model_with_a_pulse(tmp_path):
    result = run("simulate", "--set", "model.n_inputs=2", "--set", "input.kind=\"pulse\"", "--set", "input.start=1.0",
                 "--set", "input.stop=2.0", *SMALL, "--out", tmp_path / "p")
    assert result.exit_code == 0, result.output
    traj = ctrnn.load(tmp_path / "p" / "trajectory.safetensors")
    assert float(traj.u[10].abs().max()) == 1.0 and float(traj.u[0].abs().max()) == 0.0  # on at t=1, off at t=0


@pytest.mark.parametrize("args,message", [
    (["--set", "simulation.tend=1"], "unknown config key 'simulation.tend'; valid keys here: atol, batch"),
    (["--set", "model.foo=1"], "unknown parameter(s) 'foo' for model 'rate'; valid: n, n_inputs"),
    (["--model", "hopfield"], "unknown model 'hopfield'; choose one of: beer, gru, linear, lorenz, lru, lstm, rate"),
    (["--method", "rk45"], "unknown method 'rk45'"),
    (["--dtype", "float16"], "unknown dtype 'float16'; choose one of: float32, float64"),
    (["--set", "simulation.batch=\"many\""], "config key 'simulation.batch' must be int, got 'many'"),
    (["--set", "input.kind=\"pulse\""], "the model has no inputs"),
    (["--t-end", "-1"], "config key 'simulation.t_end' must be > 0, got -1.0"),
    (["--model", "lorenz", "--method", "euler", "--step-size", "0.5", "--t-end", "50"], "diverged"),
    (["--set", "model.tau=0.0"], "tau must be > 0"),
    (["--config", "/nonexistent/run.toml"], "config file not found: /nonexistent/run.toml"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x"), "-q", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert message in lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_invalid_toml_and_existing_output(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 3\n")
    result = run("simulate", "--config", bad, "--out", tmp_path / "x", "-q")
    assert result.exit_code == 2 and "is not valid TOML" in result.output
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = run("simulate", *SMALL, "--out", out)
    assert result.exit_code == 2 and "pass --force" in result.output
    assert (out / "keep.txt").read_text() == "precious"  # nothing lost
    result = run("simulate", *SMALL, "--out", out, "--force")  # not ctrnn's folder: --force leaves it alone
    assert result.exit_code == 2 and "was not made by ctrnn" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_unavailable_is_a_clear_error(tmp_path):
    result = run("simulate", *SMALL, "--device", "cuda", "--out", tmp_path / "c")
    assert result.exit_code == 2 and "CUDA is not available" in result.output


def test_real_subprocess(tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run([sys.executable, "-m", "cli", "simulate", "--model", "vanderpol", "--t-end", "10",
                           "--batch", "2", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "VanDerPol" in proc.stdout and "wrote:" in proc.stdout
    assert ctrnn.load(out / "trajectory.safetensors").x.shape == (101, 2, 2)
    proc = subprocess.run([sys.executable, "-m", "cli", "simulate", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_help_starts_without_loading_torch():
    """``ctrnn --help`` and a verb's ``--help`` import neither torch nor ctrnn (a quick answer), and the model
    defaults they show are the model's own."""
    code = ("import sys; from typer.testing import CliRunner; from cli import app; "
            "r = [CliRunner().invoke(app, a) for a in (['--help'], ['simulate', '--help'])]; "
            "assert all(x.exit_code == 0 for x in r), [x.output for x in r]; "
            "print(sorted(m for m in ('torch', 'ctrnn') if m in sys.modules)); print(r[1].output)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("[]"), proc.stdout[:200]
    from cli._defaults import MODEL_FLAG_DEFAULTS

    for kind, shown in MODEL_FLAG_DEFAULTS.items():
        real = ctrnn.systems.model_parameters(kind)
        assert all(real[k] == v for k, v in shown.items()), (kind, shown, real)
    assert "Number of units (rate model). (default: 128)" in proc.stdout


SIMULATIONS = sorted((Path(__file__).resolve().parents[1] / "simulations" / "configs").glob("*.toml"))


@pytest.mark.parametrize("config", SIMULATIONS, ids=[p.stem for p in SIMULATIONS])
def test_every_simulation_config_runs(tmp_path, config):
    result = run("simulate", "--config", config, "--t-end", "2", "--out", tmp_path / config.stem, "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / config.stem / "trajectory.png").exists()


def test_discretize_writes_the_map_errors_and_plots(tmp_path):
    out = tmp_path / "d"
    result = run("discretize", "--model", "linear", "--scheme", "zoh", "--t-end", "2", "--set", "input.kind=\"step\"",
                 "--set", "input.start=1.0", "--set", "discretize.dts=[0.2, 0.1, 0.05]", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("map.safetensors", "map.json", "errors.safetensors", "error_vs_dt.png", "error_vs_dt.svg",
                 "rollouts.png", "rollouts.svg", "config.toml"):
        assert (out / name).stat().st_size > 0, name
    assert re.search(r"^zoh\s+exact", result.output, flags=re.M) and re.search(r"^rk4\s+4\.\d", result.output, flags=re.M)
    dmap = ctrnn.load(out / "map.safetensors")
    assert isinstance(dmap, ctrnn.LinearMap) and dmap.scheme == "zoh"
    assert json.loads((out / "map.json").read_text())["orders"]["zoh"] is None
    errors = ctrnn.load(out / "errors.safetensors")
    assert abs(errors.orders["bilinear"] - 2) < 0.2


@pytest.mark.parametrize("args,message", [
    (["--scheme", "zoh"], "scheme 'zoh' does not apply to RateRNN"),
    (["--scheme", "heun"], "unknown scheme 'heun'"),
    (["--dt", "0"], "config key 'discretize.dt' must be > 0"),
    (["--set", "discretize.dts=[0.3]"], "dt = 0.3 does not divide the span 10"),
])
def test_discretize_bad_input(tmp_path, args, message):
    result = runner.invoke(app, ["discretize", "--set", "model.n=4", "--out", str(tmp_path / "x"), "-q", *args])
    assert result.exit_code == 2 and message in result.output, result.output


def test_fixed_points_and_cycles_verbs(tmp_path):
    result = run("fixed-points", "--model", "lorenz", "--starts", "48", "--out", tmp_path / "fp")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 fixed point(s)") and result.output.count("saddle") == 3
    fp = ctrnn.load(tmp_path / "fp" / "fixed_points.safetensors")
    assert len(fp) == 3 and (tmp_path / "fp" / "fixed_points.svg").exists()
    # a saved model file works in place of --model
    assert run("simulate", "--n", "6", "--t-end", "2", "--out", tmp_path / "s", "-q").exit_code == 0
    result = run("fixed-points", "--model-file", tmp_path / "s" / "model.safetensors", "--starts", "32",
                 "--out", tmp_path / "fp2", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fp2" / "connectivity_spectrum.png").exists()  # a rate model: its spectrum too
    result = run("cycles", "--model", "beer", "--set", "search.t_search=100.0", "--out", tmp_path / "cy")
    assert result.exit_code == 0, result.output
    assert "stable limit cycle: period" in result.output and (tmp_path / "cy" / "cycle.png").exists()
    result = run("cycles", "--model", "rate", "--set", "model.n=4", "--set", "model.g=0.5", "--out", tmp_path / "cy2")
    assert result.exit_code == 2 and "settled on a fixed point" in result.output
    result = run("fixed-points", "--model-file", tmp_path / "nope.safetensors", "--out", tmp_path / "fp3")
    assert result.exit_code == 2 and "no such file" in result.output


def test_fixed_points_basins_and_input_sweep(tmp_path):
    neuron = ["--model", "beer", "--set", "model.weights=[[6.0]]", "--set", "model.biases=-3.0", "--set", "search.x0_scale=4.0"]
    result = run("fixed-points", *neuron, "--sweep-input", "-2:2:41", "--out", tmp_path / "fp")
    assert result.exit_code == 0, result.output
    assert re.search(r"two or more stable points for u0 in \[-0\.[0-9]+, 0\.[0-9]+\]", result.output), result.output
    branches = ctrnn.load(tmp_path / "fp" / "branches.safetensors")
    assert max(branches.counts()) == 3 and min(branches.counts()) == 1
    assert (tmp_path / "fp" / "branches.png").exists() and (tmp_path / "fp" / "spectra_along.png").exists()
    # two bistable neurons: four stable points, each with a quarter of the plane around (3, 3)
    pair = ["--model", "beer", "--set", "model.weights=[[6.0, 0.0], [0.0, 6.0]]", "--set", "model.biases=-3.0",
            "--set", "search.x0_scale=4.0", "--set", "search.batch=32"]
    result = run("fixed-points", *pair, "--basins", "--set", "basins.resolution=12", "--out", tmp_path / "basins")
    assert result.exit_code == 0, result.output
    res = ctrnn.load(tmp_path / "basins" / "basins.safetensors")
    assert len(res.names) == 4 and res.fractions()["undecided"] == 0
    assert (tmp_path / "basins" / "basins.svg").exists()
    result = run("fixed-points", *neuron, "--basins", "--out", tmp_path / "fp1")
    assert result.exit_code == 2 and "at least two state variables" in result.output
    result = run("fixed-points", "--model", "lorenz", "--sweep-input", "0:1:5", "--out", tmp_path / "fp2")
    assert result.exit_code == 2 and "needs a model with inputs" in result.output
    result = run("fixed-points", "--model", "beer", "--sweep-input", "0:1", "--out", tmp_path / "fp3")
    assert result.exit_code == 2 and "START:STOP:COUNT" in result.output


def test_lyapunov_gradients_and_sweep_verbs(tmp_path):
    result = run("lyapunov", "--model", "lorenz", "--set", "lyapunov.t_total=20", "--set", "lyapunov.t_transient=5",
                 "--set", "lyapunov.dt=0.01", "--set", "lyapunov.batch=2", "--out", tmp_path / "ly", "-q")
    assert result.exit_code == 0, result.output
    les = ctrnn.load(tmp_path / "ly" / "spectrum.safetensors")
    assert les.exponents.shape == (3,) and abs(float(les.exponents.sum()) + 13.6667) < 1e-2
    assert (tmp_path / "ly" / "spectrum.png").exists()

    result = run("gradients", "--compare", "rate,lstm,lru", "--set", "model.n=8", "--horizon", "10",
                 "--set", "gradients.t_transient=2", "--out", tmp_path / "gr")
    assert result.exit_code == 0, result.output
    assert "lstm (cell path c)" in result.output and (tmp_path / "gr" / "gradients.svg").exists()
    lru = ctrnn.load(tmp_path / "gr" / "gradients_lru.safetensors")
    assert lru.is_map and lru.metadata["dt"] == 1.0  # the SSM by its ZOH update ('auto')

    sweep = ["sweep", "--set", "model.n=8", "--values", "0.5:1.5:3", "--seeds", "2", "--set", "lyapunov.t_total=10",
             "--set", "lyapunov.t_transient=5", "--set", "lyapunov.k=2", "--set", "lyapunov.batch=2", "-q"]
    result = run(*sweep, "--out", tmp_path / "sw")
    assert result.exit_code == 0, result.output
    full = ctrnn.load(tmp_path / "sw" / "sweep.safetensors")
    assert full.values.tolist() == [0.5, 1.0, 1.5] and full.per_network.shape == (3, 2, 3)
    # an interrupted sweep: drop two finished runs and resume; the rest are reused, the result is the same
    for name in ("v2_s0", "v2_s1"):
        (tmp_path / "sw" / "runs" / f"{name}.safetensors").unlink()
    result = run("sweep", "--out", tmp_path / "sw", "--resume")  # every setting from the sweep's config.toml
    assert result.exit_code == 0 and "resumed: 4 finished run(s) reused" in result.output, result.output
    again = ctrnn.load(tmp_path / "sw" / "sweep.safetensors")
    torch.testing.assert_close(again.largest, full.largest, rtol=0, atol=0)

    result = run("sweep", "--parameter", "model.q", "--out", tmp_path / "sw2")
    assert result.exit_code == 2 and "has no parameter 'q'" in result.output
    result = run("lyapunov", "--set", "lyapunov.t_total=0.0", "--out", tmp_path / "ly2")
    assert result.exit_code == 2 and "config key 'lyapunov.t_total' must be > 0" in result.output
    assert not (tmp_path / "ly2").exists()  # refused before any folder was made


def test_a_value_error_is_one_line_and_exit_2(tmp_path):
    result = run("fixed-points", "--model", "beer", "--sweep-input", "1:2:x", "--out", tmp_path / "v")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: --sweep-input takes START:STOP:COUNT with COUNT >= 2, got '1:2:x'"]
    assert not (tmp_path / "v").exists()


def test_an_internal_error_is_not_swallowed(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ctrnn, "find_limit_cycle", broken)
    result = run("cycles", "--model", "beer", "--out", tmp_path / "cy")
    assert isinstance(result.exception, RuntimeError) and str(result.exception) == "boom"
    assert result.exit_code == 1
    assert "ctrnn hit an internal error; please report it with the traceback below" in result.output
    assert "error: boom" not in result.output


def test_a_missing_file_is_one_line_and_exit_2(tmp_path):
    result = run("lyapunov", "--model-file", tmp_path / "missing.safetensors", "--out", tmp_path / "ly")
    assert result.exit_code == 2 and result.output.startswith("error: no such file"), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_keyboard_interrupt_exits_130(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ctrnn, "find_limit_cycle", interrupted)
    result = run("cycles", "--model", "beer", "--out", tmp_path / "cy")
    assert result.exit_code == 130 and result.output.strip() == "interrupted", result.output


@pytest.mark.parametrize("exc,line", [
    (PermissionError(13, "Permission denied", "/data/run"), "error: /data/run: Permission denied"),
    (OSError(28, "No space left on device", "/data/run/cycle.png"), "error: /data/run/cycle.png: No space left on device"),
    (ctrnn.NoCycleError("no periodic orbit"), "error: no periodic orbit"),
    (OSError(5, "Input/output error"), None),  # not the user's to fix: a bug report, with the traceback
    (TypeError("unsupported operand"), None),
])
def test_which_errors_are_the_users(tmp_path, monkeypatch, exc, line):
    def failing(*args, **kwargs):
        raise exc

    monkeypatch.setattr(ctrnn, "find_limit_cycle", failing)
    result = run("cycles", "--model", "beer", "--out", tmp_path / "cy")
    if line is None:
        assert result.exception is exc and result.exit_code == 1
        assert result.output.startswith("ctrnn hit an internal error")
    else:
        assert result.exit_code == 2 and result.output.splitlines() == [line], result.output


def test_a_model_file_is_recorded_and_rerun_from_the_config(tmp_path):
    """--model-file is recorded in config.toml (path, SHA-256, the file's class and config), never as the
    default [model] kind = "rate", n = 128; the config reruns the same file and refuses it once it changed."""
    import tomllib

    from ctrnn.setup import file_sha256

    assert run("simulate", "--n", "5", "--t-end", "2", "--seed", "3", "--out", tmp_path / "s", "-q").exit_code == 0
    model_file = tmp_path / "s" / "model.safetensors"
    for verb, extra in (("fixed-points", ["--starts", "16"]), ("lyapunov", ["--set", "lyapunov.t_total=5.0",
                                                                           "--set", "lyapunov.t_transient=1.0"])):
        result = run(verb, "--model-file", model_file, *extra, "--out", tmp_path / verb, "-q")
        assert result.exit_code == 0, result.output
        model = tomllib.loads((tmp_path / verb / "config.toml").read_text())["model"]
        assert model["file"] == str(model_file.resolve()) and model["sha256"] == file_sha256(model_file)
        assert model["class"] == "RateRNN" and model["config"]["n"] == 5 and "kind" not in model
    again = run("fixed-points", "--config", tmp_path / "fixed-points" / "config.toml", "--out", tmp_path / "re", "-q")
    assert again.exit_code == 0, again.output
    first, second = (ctrnn.load(tmp_path / d / "fixed_points.safetensors") for d in ("fixed-points", "re"))
    assert torch.equal(first.points, second.points)  # the same network, not a default n = 128 one
    result = run("fixed-points", "--model-file", model_file, "--model", "beer", "--out", tmp_path / "both")
    assert result.exit_code == 2 and "--model-file takes the model from the file; drop model.kind" in result.output
    model_file.write_bytes(model_file.read_bytes() + b" ")  # the file changes after the run
    changed = run("fixed-points", "--config", tmp_path / "fixed-points" / "config.toml", "--out", tmp_path / "c")
    assert changed.exit_code == 2 and "has changed since this config recorded it" in changed.output


def test_version_defaults_in_help_and_keys():
    """--version prints the version; every verb's --help shows its flags' real defaults (the config's, not
    None); --keys lists every config key with its default, including the chosen model's parameters."""
    from cli._app import VERBS

    version = run("--version")
    assert version.exit_code == 0 and version.output.startswith(f"ctrnn {ctrnn.__version__}")
    wide = CliRunner(env={"COLUMNS": "300"})
    for verb in set(VERBS) - {"models", "tasks", "version"}:
        result = wide.invoke(app, [verb, "--help"])
        assert result.exit_code == 0 and "--keys" in result.output, verb
        if verb != "run":
            dtype = "float32" if verb == "train" else "float64"  # training's default is the field's
            assert "(default: 0)" in result.output and f'(default: "{dtype}")' in result.output, verb
    assert "Number of units (rate model). (default: 128)" in wide.invoke(app, ["simulate", "--help"]).output
    keys = run("simulate", "--model", "lorenz", "--keys")
    assert keys.exit_code == 0 and "model.rho = 28.0" in keys.output and "simulation.t_end = 100.0" in keys.output
    assert "simulation.step_size = unset" in keys.output
    gallery = run("run", "lorenz", "--keys")
    assert gallery.exit_code == 0 and "settings.rho = 28.0" in gallery.output
