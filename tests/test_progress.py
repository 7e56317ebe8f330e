"""Progress bars: every long analysis draws one inside ``show_progress``, nested under the survey's and the
experiment's, and nothing is drawn outside it unless asked for. The display is a rich console that believes it
is a terminal, writing into a string, so what a user would see on screen is what is asserted."""

import io
import re

import pytest
import torch

import ctrnn
from ctrnn._progress import ProgressBar


def terminal() -> tuple[object, io.StringIO]:
    from rich.console import Console

    screen = io.StringIO()
    return Console(file=screen, force_terminal=True, width=120, color_system=None), screen


def shown(screen: io.StringIO) -> str:
    """The text drawn, without the cursor movements of the live display."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())


@pytest.fixture
def at_once(monkeypatch):
    monkeypatch.setattr(ProgressBar, "delay", 0.0)  # a bar is drawn from its first update, however short the work


def test_a_survey_shows_its_analyses_and_theirs(at_once):
    console, screen = terminal()
    model = ctrnn.systems.VanDerPol()
    with ctrnn.show_progress(console=console):
        ctrnn.survey(model, settings=ctrnn.SurveySettings.quick())
    text = shown(screen)
    # the survey's own bar names each analysis as it starts, and counts them
    for i, stage in enumerate(("simulating trajectories", "finding fixed points", "Lyapunov spectrum", "limit cycles",
                               "basins", "gradient propagation", "discretization error")):
        assert f"{i} / 7 analyses · {stage}" in text, stage
    # the analyses' own bars, under it
    assert re.search(r"Lyapunov spectrum .*t = [0-9.]+ / [0-9.]+", text)
    assert re.search(r"fixed points .*\d+ / \d+ starts done", text)
    assert re.search(r"gradient propagation .*\d+ / \d+ steps", text)


def test_an_experiment_shows_its_sections(at_once, tmp_path):
    import simulations

    console, screen = terminal()
    lines = []
    with ctrnn.show_progress(console=console):
        simulations.run("bistable_neuron", tmp_path, quick=True, log=lines.append)
    text = shown(screen)
    assert "bistable_neuron" in text
    assert "0 done · fixed points against the input" in text and "1 done · full report at I = 0" in text
    assert "7 analyses" in text  # the report's survey, nested under the experiment
    assert lines[0] == "fixed points against the input" and "  simulating trajectories" in lines  # the log too


def test_nothing_is_drawn_unless_asked(at_once, capsys):
    net = ctrnn.RateRNN(8, g=1.5, seed=0).double()
    ctrnn.lyapunov_spectrum(net, torch.zeros(8, dtype=torch.float64) + 0.1, k=2, t_transient=1, t_total=2)
    assert capsys.readouterr().out == ""
    console, screen = terminal()
    with ctrnn.show_progress(enabled=False, console=console):  # the CLI's --quiet
        ctrnn.lyapunov_spectrum(net, torch.zeros(8, dtype=torch.float64) + 0.1, k=2, t_transient=1, t_total=2)
    assert shown(screen) == ""


def test_a_bar_asked_for_outside_the_block_holds_the_nested_ones(at_once, monkeypatch):
    """``progress=True`` without ``show_progress``: the bars nested in that one join its display (rich allows one
    live display at a time, so a second one would raise)."""
    from ctrnn import _progress

    console, screen = terminal()
    monkeypatch.setattr(_progress, "_Display", lambda console_=None, _D=_progress._Display: _D(console))
    model = ctrnn.BeerCTRNN(torch.tensor([[6.0]]), biases=-3.0)  # one bistable neuron with an input
    ctrnn.fixed_point_branches(model, torch.linspace(-2, 2, 5), torch.linspace(-4, 10, 8)[:, None], progress=True)
    text = shown(screen)
    assert re.search(r"fixed point branches .*\d+ / 10 input values · up the sweep", text)
    assert "down the sweep" in text and "starts done" in text  # find_fixed_points' bar, nested


def test_a_bar_of_unknown_length_counts_what_is_done(at_once):
    console, screen = terminal()
    with ctrnn.show_progress(console=console), ProgressBar("study", None, unit="runs") as bar:
        bar.stage("first", 0)
        bar.stage("second", 1)
    assert "1 runs done · second" in shown(screen)


def test_the_cli_prints_its_lines_above_the_bars(at_once):
    """The CLI's lines go through the display, above the bars (``typer.echo`` wrote past it, leaving broken copies
    of the bars on screen and gluing the last line onto a bar)."""
    from cli._run_folder import _say

    console, screen = terminal()
    with ctrnn.show_progress(console=console), ProgressBar("work", 2, unit="steps") as bar:
        bar.update(1)
        _say("[   1.0 s] a line of the log")
        bar.update(2)
    text = shown(screen)
    assert "[   1.0 s] a line of the log\n" in text and "work" in text


def test_nothing_is_drawn_into_a_pipe(at_once):
    """Not a terminal (a pipe, a log file): no bar, and not the blank line rich prints when it stops."""
    from rich.console import Console

    pipe = io.StringIO()
    with ctrnn.show_progress(console=Console(file=pipe, force_terminal=False)), ProgressBar("work", 2) as bar:
        bar.update(1)
    assert pipe.getvalue() == ""
