"""Bad values are refused with one clear message, sizes are checked before anything is allocated, and no NaN
reaches a result or a report line (issue 13, "nothing lost, nothing silently wrong").

The command-line cases assert exit code 2, a single ``error: ...`` line naming the config key, and that no output
folder was made; the library cases assert the ``ValueError`` (or ``TypeError``) at the entry point.
"""

from __future__ import annotations

import math
import re
import tomllib

import pytest
import torch
from typer.testing import CliRunner

import ctrnn
from cli import app

runner = CliRunner()
TINY_LYAPUNOV = ["--set", "model.n=3", "--set", "lyapunov.t_transient=1.0", "--set", "lyapunov.t_total=2.0"]


def refused(tmp_path, *args: str) -> str:
    """Run the CLI, assert it refused with one ``error:`` line and made no folder; return that line."""
    out = tmp_path / "x"
    result = runner.invoke(app, [*map(str, args), "--out", str(out), "--quiet"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not out.exists(), "an output folder was made before the value was refused"
    return lines[0]


def rate(n: int = 3) -> ctrnn.RateRNN:
    return ctrnn.RateRNN(n, g=0.5, seed=0)


# -- 1. no silent NaN: empty batches, and huge but finite states ----------------------------------------------------

def test_cli_refuses_an_empty_lyapunov_batch(tmp_path):
    line = refused(tmp_path, "lyapunov", *TINY_LYAPUNOV, "--set", "lyapunov.batch=0")
    assert "lyapunov.batch" in line and ">= 1" in line


EMPTY = torch.zeros(0, 3)
EMPTY_BATCH_CALLS = {
    "simulate": lambda: ctrnn.simulate(rate(), EMPTY, [0.0, 1.0]),
    "lyapunov_spectrum": lambda: ctrnn.lyapunov_spectrum(rate(), EMPTY, t_transient=1.0, t_total=2.0),
    "lyapunov_spectra": lambda: ctrnn.lyapunov_spectra([rate(), rate()], EMPTY, t_transient=1.0, t_total=2.0),
    "gradient_propagation": lambda: ctrnn.gradient_propagation(rate(), EMPTY, horizon=1.0),
    "find_fixed_points": lambda: ctrnn.find_fixed_points(rate(), EMPTY),
    "fixed_point_starts": lambda: ctrnn.analysis.fixed_point_starts(rate(), EMPTY, 4),
    "survey": lambda: ctrnn.survey(rate(), EMPTY, settings=ctrnn.SurveySettings.quick()),
    "sweep": lambda: ctrnn.sweep(lambda g, s: ctrnn.RateRNN(3, g=g, seed=s), [1.0], x0=lambda m, s: EMPTY,
                                 t_transient=1.0, t_total=2.0),
    "rollout": lambda: ctrnn.discretize(rate(), 0.1).rollout(EMPTY, steps=3),
}


@pytest.mark.parametrize("call", EMPTY_BATCH_CALLS.values(), ids=EMPTY_BATCH_CALLS.keys())
def test_the_library_refuses_empty_batches(call):
    with pytest.raises(ValueError, match="empty batch"):
        call()


def test_basins_refuse_an_empty_grid():
    with pytest.raises(ValueError, match="resolution must be >= 1"):
        ctrnn.analysis.basins(ctrnn.systems.VanDerPol(), {"origin": torch.zeros(2)}, resolution=(0, 5))


def test_a_survey_of_a_huge_but_finite_run_reports_no_nan(tmp_path):
    """dx/dt = 5 x over 138 time units reaches 1e300, still finite: the principal components are 100% / 0%, not
    NaN, and the limit-cycle note says why none was found, not that every trajectory settles on a fixed point."""
    A = torch.diag(torch.tensor([5.0, -1.0, -2.0], dtype=torch.float64))
    model = ctrnn.LinearSSM(A, torch.zeros(3, 1, dtype=torch.float64))
    path = tmp_path / "report.html"
    doc = ctrnn.report(model, path, quick=True, t_end=138.0)
    found = doc.survey
    assert float(found.trajectory.x.abs().max()) > 1e250  # the premise: huge, yet finite
    assert bool(torch.isfinite(found.explained_variance).all())
    assert math.isclose(float(found.explained_variance[0]), 1.0, rel_tol=1e-9)
    assert "settles on a fixed point" not in found.notes["limit cycles"]
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"<[^>]+>", "\n", text)
    assert not re.search(r"\bnan\b", text, flags=re.I), [line for line in text.splitlines() if "nan" in line.lower()]
    assert "every trajectory settles on a fixed point" not in text


# -- 2. sizes checked before anything is allocated ---------------------------------------------------------------------

def test_cli_refuses_a_sweep_of_1e11_values(tmp_path):
    line = refused(tmp_path, "sweep", "--values", "1:2:100000000000")
    assert "--values" in line and "limit" in line and "max_elements" in line


def test_sweep_values_and_seeds_are_checked_against_the_limit_the_config_sets(tmp_path):
    """--values and --seeds are converted under the config's max_elements, not the default one: a lowered limit
    refuses a COUNT above it before any folder is made, and a raised one lets a COUNT above the default through
    (the default is lowered to 50 here by the caller's context, which the verb's starts from: nothing large is made)."""
    line = refused(tmp_path, "sweep", "--set", "max_elements=100", "--values", "0:1:101")
    assert "--values 0:1:101" in line and "limit of 100" in line
    line = refused(tmp_path, "sweep", "--set", "max_elements=100", "--seeds", "101")
    assert "--seeds 101" in line and "limit of 100" in line
    with ctrnn.size_limit(50):
        result = runner.invoke(app, ["sweep", "--set", "max_elements=1000", "--values", "0:1:500", "--seeds", "500",
                                     "--keys"])
    assert result.exit_code == 0, result.output
    # --keys prints dotted TOML keys ("unset" for None, which TOML cannot spell)
    sweep = tomllib.loads(result.output.replace("= unset", '= "unset"'))["sweep"]
    assert len(sweep["values"]) == 500 and sweep["seeds"] == list(range(500))


def test_cli_refuses_a_time_grid_of_1e11_points(tmp_path):
    line = refused(tmp_path, "simulate", "--n", "2", "--batch", "1", "--dt-out", "1e-9")
    assert "simulation.dt_out" in line and "limit" in line


def test_cli_refuses_1e11_fixed_point_starts(tmp_path):
    line = refused(tmp_path, "fixed-points", "--set", "model.n=2", "--starts", "100000000000")
    assert "search.starts" in line and "limit" in line


def test_cli_refuses_too_large_fixed_point_refinement_before_making_its_folder(tmp_path, monkeypatch):
    """8 starts of n = 4 pass (8 x 16 Jacobian values), but a refinement round may take 3 max(8, 64) starts:
    3072 values, above the limit of 2500 set here. Refused before the run folder is made, not after the trajectories
    and the first search (whose sizes stay within the limit)."""
    import cli._run_folder

    def create(self, cfg):  # a failure a run folder would clean up after: so refused() could not tell
        raise ValueError("the run folder was made before the refinement's size was checked")

    monkeypatch.setattr(cli._run_folder.RunFolder, "create", create)
    line = refused(tmp_path, "fixed-points", "--set", "model.n=4", "--set", "search.batch=1", "--starts", "8",
                   "--set", "search.refine=1", "--set", "max_elements=2500")
    assert "search.refine = 1" in line and "limit of 2,500" in line and "lower search.refine to 0" in line, line


def test_find_fixed_points_checks_its_refinement_rounds_before_searching():
    with ctrnn.size_limit(2500), pytest.raises(ValueError, match=r"refinement round \(refine = 2: up to 3 max"):
        ctrnn.find_fixed_points(rate(4), torch.randn(8, 4, generator=torch.Generator().manual_seed(0)), refine=2)
    with ctrnn.size_limit(2500):  # no refinement: 8 x 4 x 4 Jacobian values
        assert len(ctrnn.find_fixed_points(rate(4), torch.zeros(8, 4), refine=0)) == 1  # g = 0.5: the origin only


def test_the_size_limit_is_documented_and_overridable(tmp_path):
    from cli._defaults import MAX_ELEMENTS

    assert MAX_ELEMENTS == ctrnn.MAX_ELEMENTS  # the CLI's default (kept without torch) is the library's
    line = refused(tmp_path, "simulate", "--n", "2", "--batch", "1", "--t-end", "1", "--set", "max_elements=10")
    assert "limit of 10" in line
    with ctrnn.size_limit(10):
        with pytest.raises(ValueError, match="limit of 10"):
            ctrnn.simulate(rate(), torch.ones(2, 3), torch.linspace(0, 1, 5))
    assert ctrnn.simulate(rate(), torch.ones(2, 3), torch.linspace(0, 1, 5)).x.shape == (5, 2, 3)  # restored


@pytest.mark.parametrize("call", [
    lambda: ctrnn.simulate(rate(), torch.ones(3), [0.0, 1.0], method="rk4", step_size=1e-12),
    lambda: ctrnn.analysis.basins(ctrnn.systems.VanDerPol(), {"o": torch.zeros(2)}, resolution=(10**6, 10**6)),
    lambda: ctrnn.analysis.fixed_point_starts(rate(), torch.ones(4, 3), 10**12),
    lambda: ctrnn.find_fixed_points(rate(300), torch.ones(4000, 300)),
    lambda: ctrnn.gradient_propagation(rate(), torch.ones(3), horizon=1e12),
    lambda: ctrnn.discretize(rate(), 0.1).rollout(torch.ones(3), steps=10**12),
], ids=["fixed-step grid", "basins", "fixed_point_starts", "jacobians", "gradient horizon", "rollout"])
def test_the_library_checks_sizes_before_allocating(call):
    with pytest.raises(ValueError, match="above the limit"):
        call()


# -- 3. no bare tracebacks -----------------------------------------------------------------------------------------

def test_cli_refuses_an_infinite_t_end(tmp_path):
    line = refused(tmp_path, "simulate", "--n", "2", "--set", "simulation.t_end=inf")
    assert "simulation.t_end" in line and "finite" in line


# -- 4. bad values are refused, not accepted -------------------------------------------------------------------------

def test_cli_refuses_a_nan_input_time(tmp_path):
    line = refused(tmp_path, "simulate", "--n", "2", "--set", "model.n_inputs=1", "--set", 'input.kind="step"',
                   "--set", "input.start=nan")
    assert "input.start" in line and "finite" in line


def test_cli_refuses_a_nan_model_parameter(tmp_path):
    assert "model.g" in refused(tmp_path, "simulate", "--set", "model.g=nan")


@pytest.mark.parametrize("call,name", [
    (lambda: ctrnn.inputs.step(float("nan"), [1.0], t_span=(0.0, 10.0)), "t_on"),
    (lambda: ctrnn.inputs.pulse(1.0, float("inf"), [1.0], t_span=(0.0, 10.0)), "t_off"),
    (lambda: ctrnn.inputs.steps([1.0], [0.0, 1.0], t_span=(0.0, float("inf"))), r"t_span\[1\]"),
])
def test_input_times_must_be_finite(call, name):
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        call()


@pytest.mark.parametrize("call", [
    lambda x0: ctrnn.simulate(rate(), x0, [0.0, 1.0]),
    lambda x0: ctrnn.lyapunov_spectrum(rate(), x0, t_transient=1.0, t_total=2.0),
    lambda x0: ctrnn.find_fixed_points(rate(), x0[None]),
], ids=["simulate", "lyapunov_spectrum", "find_fixed_points"])
def test_complex_states_are_refused_for_a_real_model(call):
    with pytest.raises(ValueError, match="complex .* but the model is real"):
        call(torch.ones(3, dtype=torch.complex128) * (1 + 1j))


def test_cli_refuses_an_unknown_gradient_part(tmp_path):
    line = refused(tmp_path, "gradients", "--set", "model.n=3", "--set", "gradients.part=\"zzz\"")
    assert "gradients.part" in line and "'zzz'" in line and "choose one of: all" in line


def test_seeds_must_be_integers(tmp_path):
    line = refused(tmp_path, "sweep", *TINY_LYAPUNOV, "--values", "1,2", "--set", "sweep.seeds=[1.5]")
    assert "sweep.seeds" in line and "int" in line
    with pytest.raises(TypeError, match="seeds must be an int"):
        ctrnn.sweep(lambda g, s: ctrnn.RateRNN(3, g=g, seed=s), [1.0], seeds=[1.5], t_transient=1.0, t_total=2.0)


@pytest.mark.parametrize("make,name", [
    (lambda: ctrnn.systems.Lorenz(rho=float("nan")), "rho"),
    (lambda: ctrnn.systems.Rossler(a=float("inf")), "a"),
    (lambda: ctrnn.systems.VanDerPol(mu=float("nan")), "mu"),
])
def test_reference_systems_refuse_non_finite_parameters(make, name):
    with pytest.raises(ValueError, match=f"^{name} must be a finite number"):
        make()


@pytest.mark.parametrize("call", [
    lambda m: ctrnn.simulate(m, torch.ones(3), [0.0, 1.0]),
    lambda m: ctrnn.lyapunov_spectrum(m, torch.ones(3), t_transient=1.0, t_total=2.0),
], ids=["simulate", "lyapunov_spectrum"])
def test_half_precision_models_are_refused(call):
    with pytest.raises(ValueError, match="float16, which ctrnn does not support: use float32 or float64"):
        call(rate().half())


# -- 5. one readable line naming the key and its range -----------------------------------------------------------------

@pytest.mark.parametrize("args,key,text", [
    (["simulate", "--set", "model.n=0"], "model.n", ">= 1"),
    (["fixed-points", "--set", "model.n=2", "--basins", "--set", "basins.resolution=0"], "basins.resolution", ">= 1"),
    (["simulate", "--seed", str(2**70)], "'seed'", "2**64 - 1"),
    (["fixed-points", "--set", "search.starts=1.5"], "search.starts", "must be int"),
    (["cycles", "--model", "vanderpol", "--set", "search.t_search=-1"], "search.t_search", "> 0"),
    (["lyapunov", "--set", "lyapunov.batch=0"], "lyapunov.batch", ">= 1"),
])
def test_messages_name_the_key_and_its_range(tmp_path, args, key, text):
    line = refused(tmp_path, *args)
    assert key in line and text in line, line


def test_a_seed_out_of_torch_range_is_named():
    with pytest.raises(ValueError, match=r"seed must be an integer in \[-2\*\*63, 2\*\*64 - 1\]"):
        ctrnn.RateRNN(3, seed=2**70)
