"""Reports and the simulations gallery: every experiment runs at its quick size, the numbers its report states
agree with references computed here without ctrnn (scipy, closed forms, published values), and the report
renders in headless Chromium with nothing fetched, every image decoded and a page that is not blank."""

import html
import io
import json
import tomllib
import os
import re
import shutil
from pathlib import Path

import numpy as np

import pytest
import torch
from typer.testing import CliRunner

import ctrnn
import simulations
from cli import app
from ctrnn import Report, report
from ctrnn.reports import find_browser, headless_browser_command

runner = CliRunner()
GALLERY = list(simulations.available())


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright. CI installs both, so there a missing browser is a failure."""
    path = find_browser()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium and playwright (see .ci/run)")
        pytest.skip("no Chromium or Playwright here")
    with sync_playwright() as p:
        flags = headless_browser_command(path, "unused")[2:-1]  # the same no-network flags as --pdf uses
        chromium = p.chromium.launch(executable_path=path, args=flags)
        yield chromium
        chromium.close()


def check_self_contained(text: str) -> None:
    """Nothing in the HTML points outside it: no scripts, stylesheets, fonts, frames or remote images."""
    assert "<script" not in text.lower() and "<link" not in text.lower() and "<iframe" not in text.lower()
    assert "@import" not in text and "url(" not in text
    for src in re.findall(r'src="([^"]*)"', text):
        assert src.startswith("data:image/"), src[:80]
    for href in re.findall(r'href="([^"]*)"', text):
        assert href.startswith("#"), href


def render(browser, html_path: Path, shot: Path) -> None:
    """Open the report, record every request, check each image decoded and the screenshot is not blank."""
    from PIL import Image

    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html_path.resolve().as_uri(), wait_until="load")
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert images and all(ok and w > 0 and h > 0 for ok, w, h in images), images
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not external, external
    assert [u for u in requests if u.startswith("file:")] == [html_path.resolve().as_uri()]
    im = Image.open(io.BytesIO(shot.read_bytes())).convert("L")
    hist = im.histogram()
    dark = sum(hist[:200]) / (im.width * im.height)  # ink: text, lines, images
    assert im.height > 1400 and dark > 0.01, (im.size, dark)


def summary_rows(text: str) -> dict[str, str]:
    """The report's summary table, as the reader sees it: name -> value."""
    table = re.search(r'<table class="summary">(.*?)</table>', text, flags=re.S).group(1)
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", table)}


def table_rows(text: str) -> dict[str, list[str]]:
    """Every other table row of the report: first cell -> the remaining cells."""
    rows = re.findall(r"<tr><td>(.*?)</td>((?:<td>.*?</td>)+)</tr>", text)
    return {html.unescape(first): [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", rest)] for first, rest in rows}


def check_beer_oscillator(text: str, cfg: dict) -> None:
    """The period the reader sees is the one scipy's DOP853 gives for the same equations (Beer 1995)."""
    from scipy.integrate import solve_ivp
    from scipy.special import expit

    W, theta = np.array(cfg["settings"]["weights"]), np.array(cfg["settings"]["biases"])
    sol = solve_ivp(lambda t, y: -y + W @ expit(y + theta), (0, 300), [0.1, 0.2], method="DOP853", rtol=1e-11,
                    atol=1e-11, dense_output=True)
    t = np.linspace(150, 300, 300001)
    s = sol.sol(t)[0] - sol.sol(t)[0].mean()
    up = np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]
    period = np.diff(t[up] - s[up] * (t[up + 1] - t[up]) / (s[up + 1] - s[up])).mean()  # ~1e-7 from the grid
    rows = summary_rows(text)
    assert rows["limit cycles"] == f"stable, period {period:.6g}", (rows["limit cycles"], period)
    assert rows["fixed points"] == "1: 1 unstable focus" and rows["attractors found"] == "1: cycle 1"


def check_bistable_neuron(text: str, cfg: dict) -> None:
    """The folds of dy/dt = -y + w sigma(y - w/2) + I are the extrema of I(y) = y - w sigma(y - w/2) on the
    fixed-point curve (found here by scipy); the bistable range the sweep reports is the swept inputs
    between them."""
    from scipy.optimize import minimize_scalar
    from scipy.special import expit

    s = cfg["settings"]
    w = s["w"]
    curve = lambda y: y - w * expit(y - w / 2)  # noqa: E731
    top = minimize_scalar(lambda y: -curve(y), bounds=(0, w / 2), method="bounded", options={"xatol": 1e-10})
    bottom = minimize_scalar(curve, bounds=(w / 2, w), method="bounded", options={"xatol": 1e-10})
    folds = sorted([curve(bottom.x), curve(top.x)])
    found = re.fullmatch(r"(\S+) < I < (\S+) \(closed-form folds (\S+), (\S+)\)", summary_rows(text)["bistable for inputs"])
    low, high, fold_low, fold_high = (float(v) for v in found.groups())
    assert abs(fold_low - folds[0]) <= 5e-5 and abs(fold_high - folds[1]) <= 5e-5  # printed to 4 decimals
    grid = np.linspace(s["input_min"], s["input_max"], s["input_count"])
    inside = grid[(grid > folds[0]) & (grid < folds[1])]
    assert abs(low - inside.min()) <= 5e-4 and abs(high - inside.max()) <= 5e-4, (low, high, inside)


def check_lorenz(text: str, cfg: dict) -> None:
    """The spectrum against the published 0.9059, 0, -14.5723 (REFERENCES.md), each within four of its own
    standard errors (the quick run is short); the sum is the trace -(sigma + 1 + beta), up to RK4's error."""
    rows = table_rows(text)
    for i, published in enumerate((0.9059, 0.0, -14.5723)):
        measured, stderr = (float(v) for v in rows[f"lambda_{i + 1}"][0].split(" ± "))
        assert abs(measured - published) <= 4 * stderr + 5e-5, (i, measured, stderr)
    s = cfg["settings"]
    # the sum is the mean log-determinant of RK4's step, off the trace by RK4's local error (rho dt)^5 / 5! per
    # step, rho = 22.83 the largest Jacobian eigenvalue modulus (at the origin): 5e-4 per time unit at dt = 0.01
    rk4 = (22.83 * s["dt"]) ** 5 / 120 / s["dt"]
    assert abs(float(rows["sum"][0]) + s["sigma"] + 1 + s["beta"]) <= rk4, rows["sum"]
    assert summary_rows(text)["chaotic (the full analysis)"].startswith("yes")


def check_ssm_discretization(text: str, cfg: dict) -> None:
    """A piecewise-constant input switching on the grid: ZOH is exact, bilinear order 2, Mamba order 1."""
    rows = summary_rows(text)
    assert rows["zoh order"] == "exact"
    assert abs(float(rows["bilinear order"]) - 2) < 0.15 and abs(float(rows["mamba order"]) - 1) < 0.15, rows


def check_gradient_comparison(text: str, cfg: dict) -> None:
    """The LRU's ZOH map is diagonal, so ||d x_T / d x_(T-k)|| = max |exp(lam dt)|^k exactly: its rate per time
    unit is max Re(lam), read here from the model's eigenvalues."""
    params = cfg["settings"]["lru"]
    model = ctrnn.build_system("lru", params, seed=cfg["seed"])
    expected = float(model.lam.detach().real.max())
    assert summary_rows(text)["rate: lru"] == f"{expected:+.4f} per time unit"


def check_line_attractor(text: str, cfg: dict) -> None:
    """The state starts on the line x = a v and the input enters along v, so it stays there and a obeys the
    scalar equation da/dt = -a + v^T tanh(a v) + u(t) exactly: scipy's DOP853 on that equation gives the held
    value the reader sees (to its 4 decimals); the integral is the pulses' area."""
    import torch
    from scipy.integrate import solve_ivp

    s = cfg["settings"]
    v = torch.randn(s["n"], generator=torch.Generator().manual_seed(cfg["seed"]), dtype=torch.float64)
    v = (v / v.norm()).numpy()
    pulses = s["pulses"]

    def rhs(t, a):
        return -a + v @ np.tanh(a * v) + sum(amp for start, stop, amp in pulses if start <= t < stop)

    breaks = sorted({0.0, s["t_end"], *(edge for p in pulses for edge in p[:2])})
    a = [0.0]
    for t0, t1 in zip(breaks, breaks[1:]):  # one solve per piece: the input jumps at the pulse edges
        a = solve_ivp(rhs, (t0, t1), a, method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
    rows = summary_rows(text)
    integral = sum((stop - start) * amp for start, stop, amp in pulses)
    assert rows["held after the pulses"].startswith(f"v^T x = {a[0]:+.4f} at t = {s['t_end']:g}: the integral of "
                                                    f"the input, {integral:+.4f}, less"), (rows, a)
    assert 0 < a[0] < integral  # the drift leaks towards the origin: it holds less than it was given


def retrained(cfg: dict, architecture: str, seed: int):
    """The network a trained-network experiment trained, trained again from its resolved config (deterministic: the
    same seed gives the same network), and its task."""
    from simulations import _trained

    task = _trained.build_task(cfg)
    with ctrnn.show_progress(False):
        return _trained.train(cfg, task, architecture, seed, lambda _: None), task


def check_trained_network(text: str, cfg: dict, architecture: str) -> None:
    """The task score and each condition's fixed-point counts the reader sees are those of the trained network, as
    ``ctrnn.mechanisms.task_fixed_points`` finds them on it with the report's sizes."""
    seed = cfg["settings"]["seeds"][0] if "seeds" in cfg["settings"] else cfg["seed"]
    run, task = retrained(cfg, architecture, seed)
    rows = summary_rows(text)
    # the quick network has not learnt the task, and the page says so with its steps and held-out score
    assert rows["quick size"].startswith(f"trained {len(run.steps)} steps only ({run.score_name} "
                                         f"{run.final_score:.3g}): the analyses show the pipeline"), rows
    batch = task.sample(64, ctrnn.training.trial_generator(cfg["seed"], "examples"))  # the quick report's trials
    score = task.score(run.respond(batch)[1], batch)
    assert rows["task score"] == f"{task.score_name} {score:.4g} on 64 unseen trials", rows
    found = ctrnn.mechanisms.task_fixed_points(run, task, conditions=ctrnn.reports._task.report_conditions(task),
                                              trials=32, starts=128, seed=cfg["seed"])
    cycles = dict(zip(found.cycle_conditions, found.cycles))
    for c, name in enumerate(found.conditions):
        fps, said = found.fixed_points[c], rows[f"fixed points, {name}"]
        assert said.split(";")[0] == f"{int(fps.stable.sum())} stable of {len(fps)}", (said, found.summary())
        if c in cycles:  # the sine generator's cycle per frequency, its period as the analysis finds it
            assert said.endswith(f"limit cycle of period {cycles[c].period:.4g}"), (said, cycles[c].period)


def check_flipflop(text: str, cfg: dict) -> None:
    check_trained_network(text, cfg, cfg["settings"]["architectures"][0])
    networks = len(cfg["settings"]["architectures"]) * len(cfg["settings"]["seeds"])
    assert summary_rows(text)["universality"].startswith(f"{networks} networks: stable points "), text


def check_one_trained(text: str, cfg: dict) -> None:
    check_trained_network(text, cfg, cfg["settings"]["architecture"])


CHECKS = {"beer_oscillator": check_beer_oscillator, "bistable_neuron": check_bistable_neuron, "lorenz": check_lorenz,
          "line_attractor": check_line_attractor, "ssm_discretization": check_ssm_discretization, "gradient_comparison": check_gradient_comparison,
          "flipflop": check_flipflop, "sine_generator": check_one_trained, "context_integration": check_one_trained}


@pytest.mark.parametrize("name", GALLERY)
def test_every_gallery_experiment_runs_quick_and_renders(tmp_path, browser, name):
    out = tmp_path / name
    result = run("run", name, "--quick", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    html_path = out / "report.html"
    text = html_path.read_text(encoding="utf-8")
    check_self_contained(text)
    assert "Summary" in text and f"{name}:" in text and "Reproduce this report with" in text
    if name in CHECKS:  # the numbers the reader is told
        CHECKS[name](text, tomllib.loads((out / "config.toml").read_text()))
    render(browser, html_path, tmp_path / f"{name}.png")
    keep = os.environ.get("CTRNN_KEEP_SCREENSHOTS")  # for looking at the pages by hand
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / f"{name}.png", Path(keep) / f"{name}.png")


def test_gallery_has_the_experiments_the_issue_lists():
    assert {"chaos_transition", "beer_oscillator", "bistable_neuron", "line_attractor", "gradient_comparison",
            "ssm_discretization", "lorenz"} <= set(GALLERY)


def test_report_of_a_two_dimensional_flow_has_every_section(tmp_path, browser):
    """Van der Pol: the phase portrait (field, nullclines, cycle, basins), the cycle's multipliers, spectrum,
    gradients and discretization error, from the CLI, also printed to PDF."""
    result = run("report", "--model", "vanderpol", "--quick", "--pdf", "--out", tmp_path / "vdp", "-q")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "vdp" / "report.html").read_text(encoding="utf-8")
    for heading in ("Summary", "Model card", "Trajectories", "Phase portrait", "Eigenvalues", "Lyapunov spectrum",
                    "Gradient propagation", "Discretization error"):
        assert f">{heading}</h2>" in text, heading
    assert "stable, period 6.6" in text  # the Van der Pol cycle at mu = 1 has period 6.6633
    assert "Reproduce this report with" in text and "Resolved configuration" in text
    pdf = (tmp_path / "vdp" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 3
    render(browser, tmp_path / "vdp" / "report.html", tmp_path / "vdp.png")


def test_report_in_python_for_a_high_dimensional_network():
    net = ctrnn.RateRNN(12, g=0.5, seed=1)
    doc = report(net, quick=True, seed=3)
    headings = [h for h, _ in doc.sections]
    assert "Fixed and slow points in the principal-component plane" in headings and "Phase portrait" not in headings
    assert re.match(r"1: 1 stable (node|focus)$", doc.summary["fixed points"])  # g < 1: only the origin, stable
    assert doc.summary["chaotic"] == "no" and float(doc.summary["largest Lyapunov exponent"].split()[0]) < 0
    assert "% of variance" in doc.html()


def test_report_escapes_text_and_embeds_figures():
    import matplotlib.pyplot as plt

    doc = Report("<script>alert(1)</script>")
    doc.section("a & b")
    doc.add_table([("<b>", 1)], ("k", "v"))
    fig, ax = plt.subplots()
    ax.imshow(torch.rand(400, 400).numpy())  # a dense image: still inline
    doc.add_figure(fig, "caption <i>")
    text = doc.html()
    assert "<script>" not in text and "&lt;script&gt;" in text and "a &amp; b" in text and "caption &lt;i&gt;" in text
    check_self_contained(text)


def test_run_bad_input(tmp_path):
    result = run("run", "nosuch", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "unknown simulation 'nosuch'; available: beer_oscillator" in result.output
    result = run("run", "lorenz", "--set", "settings.sigmaa=3", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "unknown config key 'settings.sigmaa'" in result.output and "sigma" in result.output
    bad = tmp_path / "mine.toml"
    bad.write_text('[experiment]\nname = "lorenz"\n[settings]\nrhoo = 20.0\n')
    result = run("run", bad, "--out", tmp_path / "x")
    assert result.exit_code == 2 and "unknown config key 'settings.rhoo'" in result.output
    assert not (tmp_path / "x").exists()  # refused before any folder was made
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = run("run", "ssm_discretization", "--quick", "--out", tmp_path / "full", "-q")
    assert result.exit_code == 2 and "exists and is not empty; pass --force" in result.output
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    result = run("run", "--list")
    assert result.exit_code == 0 and all(name in result.output for name in GALLERY)


def test_run_a_config_file_of_ones_own(tmp_path):
    mine = tmp_path / "ssm.toml"
    mine.write_text('[experiment]\nname = "ssm_discretization"\n[settings]\nn = 3\ndts = [0.2, 0.1]\n')
    result = run("run", mine, "--out", tmp_path / "o", "-q")
    assert result.exit_code == 0, result.output
    cfg = tomllib.loads((tmp_path / "o" / "config.toml").read_text())
    assert cfg["settings"]["n"] == 3 and cfg["experiment"]["name"] == "ssm_discretization"
    rows = dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", (tmp_path / "o" / "report.html").read_text()))
    # piecewise-constant input switching on every grid: ZOH exact, bilinear order 2, Mamba order 1
    assert rows["zoh order"] == "exact"
    assert abs(float(rows["bilinear order"]) - 2) < 0.15 and abs(float(rows["mamba order"]) - 1) < 0.15, rows
