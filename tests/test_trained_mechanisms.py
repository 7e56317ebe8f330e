"""The published mechanisms, found in networks ctrnn trained (``tests/trained/``: made by ``tests/trained/train.py``
with ``ctrnn.train``, committed because training them takes minutes):

- the 3-bit flip-flop (Sussillo & Barak 2013): 8 stable fixed points reading out as the 8 corners ``(+-1, +-1,
  +-1)``, and saddles with one unstable direction whose two branches end on corners one bit apart;
- the sine generator (Sussillo & Barak 2013): per frequency input, a stable limit cycle of the asked-for period
  around an unstable fixed point whose complex pair turns at about that frequency;
- context-dependent integration (Mante et al. 2013): per context, slow points along a line with one slow mode
  and the rest stable, the relevant input projecting on its left eigenvector more than the irrelevant one;

and the trained-model report of the CLI, with the numbers it states checked against the analysis. (Universality
across architectures and seeds is in ``test_universality.py``: a file of its own, so that it runs beside these.)
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import ctrnn
from cli import app
from ctrnn.analysis import sample_starts
from ctrnn.mechanisms import compare_topologies, task_fixed_points

TRAINED = Path(__file__).resolve().parent / "trained"
sys.path.insert(0, str(TRAINED))
import train as recipes  # noqa: E402  (the tasks each network was trained on)
from test_report import summary_rows, table_rows  # noqa: E402

CORNERS = {c for c in itertools.product((-1, 1), repeat=3)}
runner = CliRunner()


def trained(name: str) -> ctrnn.TaskModel:
    return ctrnn.load(TRAINED / f"{name}.safetensors")


@pytest.fixture(scope="module", params=["flipflop_rate", "flipflop_gru"])
def flipflop(request):
    model = trained(request.param)
    return request.param, model, task_fixed_points(model, recipes.flipflop(), trials=64, starts=256, seed=0)


def test_a_trained_flip_flop_has_a_stable_point_per_memory(flipflop):
    name, _, found = flipflop
    y = found.stable_readouts(0)
    # 8 stable fixed points, one per corner of the output cube, each within 0.15 of it (Sussillo & Barak 2013)
    assert y.shape[0] == 8, (name, found.summary())
    assert {tuple(int(v) for v in row) for row in torch.sign(y).tolist()} == CORNERS
    assert float((y - torch.sign(y)).abs().max()) < 0.15, y


def test_float32_finds_the_same_points_once_each(flipflop):
    """The float32 network's search, from the same starts, finds float64's points, each once: every point is
    placed to its dtype's rounding (|g| at most 2e-6, the rounding of f's 64-term sums, about sqrt(n) eps; the
    search's stopping tolerance, 256 eps (1 + |x|), once left two copies of a point 9e-4 apart along a slow
    direction of a float32 network), and float32's points lie within 1e-4 of float64's (|g| / |lambda| with the
    slowest |lambda| here above 0.05)."""
    name, model, found = flipflop
    flow64 = model.system
    flow32 = trained(name).float().system
    starts = sample_starts(found.states[:, :16], 256, noise=0.5, seed=0)
    u = torch.zeros(flow64.input_dim, dtype=torch.float64)
    fp64 = ctrnn.find_fixed_points(flow64, starts, inputs=u)
    fp32 = ctrnn.find_fixed_points(flow32, starts.float(), inputs=u.float())
    g32 = flow32(torch.zeros(()), fp32.points, u.float().expand(len(fp32), -1)).detach()
    assert float(g32.abs().max()) <= 2e-6, (name, fp32.summary())
    assert len(fp32) == len(fp64), (name, fp32.summary(), fp64.summary())
    gap = (fp32.points.double()[:, None] - fp64.points[None]).abs().amax(-1).amin(-1)
    assert float(gap.max()) < 1e-4, (name, gap)
    assert sorted(fp32.kinds) == sorted(fp64.kinds)


def test_its_saddles_join_memories_one_bit_apart(flipflop):
    name, _, found = flipflop
    y = found.readouts[0]
    graph = found.manifolds[0].connections(unstable=1)
    joining = {s: ends for s, ends in graph.items() if min(ends) >= 0 and ends[0] != ends[1]}
    assert len(joining) >= 12, (name, graph)  # at least one saddle on each of the output cube's 12 edges
    for saddle, (a, b) in joining.items():
        assert bool(found.fixed_points[0].stable[a]) and bool(found.fixed_points[0].stable[b])
        assert int((torch.sign(y[a]) != torch.sign(y[b])).sum()) == 1, (saddle, y[a], y[b])
    table = compare_topologies({name: found})
    assert int(table.n_one_flip[0]) == int(table.n_joining[0]) == len(joining)


@pytest.fixture(scope="module")
def sine():
    task = recipes.sine()
    return task, task_fixed_points(trained("sine_rate"), task, trials=48, starts=128, seed=0)


def test_a_trained_sine_generator_oscillates_at_each_asked_for_frequency(sine):
    task, found = sine
    assert found.cycle_conditions == list(range(len(found.conditions)))  # a cycle in every condition
    for c, cycle in zip(found.cycle_conditions, found.cycles):
        f = float(task.frequencies[c])
        assert cycle.stable
        assert abs(cycle.period * f - 1) < 0.02, (found.conditions[c], cycle.period, 1 / f)  # within 2% of 1 / f
        fps = found.fixed_points[c]
        # inside it, an unstable fixed point whose leading eigenvalues are a complex pair (it turns)
        centre = [k for k in range(len(fps)) if not bool(fps.stable[k]) and bool(fps.eigenvalues[k, 0].imag != 0)]
        assert centre, found.summary()
        assert float(fps.eigenvalues[centre[0], 0].real) > 0


SINE_CONDITIONS = range(len(recipes.sine().frequencies))


@pytest.mark.parametrize("c", SINE_CONDITIONS)
def test_the_focus_turns_at_about_the_cycle_frequency(sine, c):
    """Sussillo & Barak 2013: the unstable focus inside each cycle turns at about the cycle's frequency (within
    10%; measured 1.015 to 1.024 times it at the 6 frequencies)."""
    task, found = sine
    omega = 2 * math.pi * float(task.frequencies[c])
    lam = found.fixed_points[c].eigenvalues[0, 0]
    assert abs(float(lam.imag.abs()) / omega - 1) < 0.1, (found.conditions[c], lam, omega)


@pytest.fixture(scope="module")
def context():
    task = recipes.context()
    return task, task_fixed_points(trained("context_rate"), task, trials=128, starts=256, seed=0)


def test_a_trained_context_integrator_holds_its_evidence_on_a_line_of_slow_points(context):
    """Mante et al. 2013: per context, slow points along a line, each with one eigenvalue near zero and the rest
    stable (here the line runs from the saddle between the two choices' attractors along its unstable manifold)."""
    task, found = context
    model = trained("context_rate")
    for c, name in enumerate(found.conditions):
        modes = found.slow[c]
        assert len(modes) >= 10 and modes.line_fraction > 0.9, (name, modes.summary())
        assert bool(modes.others_stable.all()), (name, modes.summary())
        # near zero: the slow eigenvalue's rate at most a quarter of the next slowest mode's, at every point
        # (measured: at most 0.21 of it; the next mode decays at 0.55 or faster)
        jac = model.system.jacobian(modes.points, found.inputs[c].expand(len(modes), -1)).detach()
        rates = torch.linalg.eigvals(jac).real.abs().sort(-1).values
        assert bool((rates[:, 0] <= 0.25 * rates[:, 1]).all()), (name, rates[:, :2])
        assert torch.allclose(rates[:, 0], modes.eigenvalues.real.abs(), rtol=1e-9)  # the mode slow_modes picked


def test_its_slow_mode_selects_the_relevant_input_per_context(context):
    """Mante et al. 2013: along the line, the relevant evidence input projects on the slow mode's left eigenvector
    (the selection vector) more strongly than the irrelevant one (measured: 32 and 75 times)."""
    _, found = context
    motion, colour = 0, 1  # the evidence inputs; 2 and 3 are the context cues
    for c, name in enumerate(found.conditions):
        proj = found.slow[c].mean_projections()
        relevant, irrelevant = (motion, colour) if name == "motion context" else (colour, motion)
        assert float(proj[relevant]) > 10 * float(proj[irrelevant]), (name, proj)


def test_the_report_shows_each_contexts_slow_mode_and_its_selection(context):
    task, _ = context
    doc = ctrnn.Report("context")
    found = ctrnn.reports.add_task_sections(doc, trained("context_rate"), task, quick=True)
    text = doc.html()
    assert ">Slow modes</h2>" in text
    rows = table_rows(text)  # the slow-mode table is the last whose rows start with the condition's name
    for c, name in enumerate(found.conditions):
        modes = found.slow[c]
        assert rows[name][2] == f"{float(modes.time_constants.median()):.3g}", rows[name]
        assert rows[name][4:] == [f"{float(p):.3g}" for p in modes.mean_projections()], rows[name]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_the_trained_model_report_states_what_the_analysis_found(tmp_path):
    """A flip-flop trained from the CLI, then ``ctrnn report --model-file ... --task flipflop``: the task sections
    are there and the numbers in the summary are the analysis's."""
    out = tmp_path / "trained"
    result = run("train", "--task", "flipflop", "--n", "16", "--set", "task.duration=20", "--set", "task.dt=0.2",
                 "--set", "task.pulse_probability=0.05", "--batch-size", "16", "--steps", "60", "--lr", "0.01",
                 "--set", "training.validation_trials=64", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    report = run("report", "--model-file", out / "model.safetensors", "--task", "flipflop", "--quick",
                 "--out", tmp_path / "report", "--quiet")
    assert report.exit_code == 0, report.output
    text = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    for heading in ("Task: flipflop", "Training", "Fixed points per condition"):
        assert f">{heading}</h2>" in text, heading
    rows = summary_rows(text)
    # the task's parameters are the training run's (config.toml beside the model file), and so is the analysis
    model = ctrnn.load(out / "model.safetensors").double()
    task = ctrnn.tasks.FlipFlop(3, duration=20, dt=0.2, pulse_probability=0.05)
    found = task_fixed_points(model, task, trials=32, starts=128, seed=0)
    fps = found.fixed_points[0]
    assert rows["fixed points, zero input"].split(";")[0] == f"{int(fps.stable.sum())} stable of {len(fps)}", rows
    assert "training curves are not shown" not in text  # training.safetensors beside the model was read


def test_report_task_bad_input(tmp_path):
    trained_dir = tmp_path / "t"
    assert run("train", "--task", "flipflop", "--n", "8", "--set", "task.duration=10", "--steps", "2",
               "--batch-size", "4", "--set", "training.validation_trials=4", "--out", trained_dir, "-q").exit_code == 0
    plain = tmp_path / "plain.safetensors"
    ctrnn.save_model(ctrnn.RateRNN(8, n_inputs=3, seed=0), plain)
    cases = [
        (["--task", "flipflop"], "--task reports a trained model: give its file with --model-file"),
        (["--model-file", plain, "--task", "flipflop"], "needs a trained model with a readout"),
        (["--model-file", trained_dir / "model.safetensors", "--task", "context"],
         "the model has 3 inputs but the task context has 4"),
        (["--model-file", trained_dir / "model.safetensors", "--task", "nosuch"], "unknown task 'nosuch'"),
    ]
    for i, (args, message) in enumerate(cases):
        out = tmp_path / f"bad{i}"
        result = run("report", *args, "--out", out, "-q")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert not out.exists()


def test_report_says_when_the_task_settings_are_defaults(tmp_path):
    """The task's settings come from the training run's config.toml beside the model file (``--keys`` shows them
    too); a model file on its own gets the task's defaults, and the report says so, on stderr and in the report,
    because a network trained otherwise scores as if untrained there."""
    trained_dir = tmp_path / "t"
    assert run("train", "--task", "flipflop", "--n", "8", "--set", "task.duration=10", "--set", "task.dt=0.5",
               "--steps", "2", "--batch-size", "4", "--set", "training.validation_trials=4", "--out", trained_dir,
               "-q").exit_code == 0
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "model.safetensors").write_bytes((trained_dir / "model.safetensors").read_bytes())
    keys = run("report", "--keys", "--model-file", trained_dir / "model.safetensors", "--task", "flipflop").output
    assert "task.duration = 10" in keys and "task.dt = 0.5" in keys, keys
    keys = run("report", "--keys", "--model-file", alone / "model.safetensors", "--task", "flipflop").output
    assert "task.duration = 200.0" in keys and "task.dt = 1.0" in keys, keys
    result = run("report", "--model-file", alone / "model.safetensors", "--task", "flipflop", "--quick",
                 "--out", tmp_path / "r", "-q")
    assert result.exit_code == 0, result.output
    said = ("task flipflop at its default settings (no config.toml beside model.safetensors): if the model was "
            "trained with others, give them with --set task.KEY=VALUE")
    assert f"warning: {said}" in result.output, result.output
    assert summary_rows((tmp_path / "r" / "report.html").read_text(encoding="utf-8"))["task settings"].startswith(said)
    # the title names the trained network, not the wrapper class
    assert "<title>RateRNN with a 3-output readout, n = 8</title>" in (tmp_path / "r" / "report.html").read_text(
        encoding="utf-8")
    # the trajectories' length the quick survey ran, not the 0 that stands for it
    assert "t_end = 30.0" in (tmp_path / "r" / "config.toml").read_text(encoding="utf-8")
    # given settings, or the training run's own, need no warning
    given = run("report", "--model-file", alone / "model.safetensors", "--task", "flipflop", "--set",
                "task.duration=10", "--set", "task.dt=0.5", "--quick", "--out", tmp_path / "r2", "-q")
    assert given.exit_code == 0 and "warning" not in given.output, given.output
    # settings from a --config file count as given too
    (tmp_path / "task.toml").write_text('[task]\nname = "flipflop"\nduration = 10.0\ndt = 0.5\n', encoding="utf-8")
    from_file = run("report", "--model-file", alone / "model.safetensors", "--config", tmp_path / "task.toml",
                    "--quick", "--out", tmp_path / "r3", "-q")
    assert from_file.exit_code == 0 and "warning" not in from_file.output, from_file.output
