"""Reports and the simulations gallery: every experiment runs at its quick size and its report renders in
headless Chromium with nothing fetched, every image decoded and a page that is not blank."""

import io
import os
import re
import shutil
from pathlib import Path

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


@pytest.mark.parametrize("name", GALLERY)
def test_every_gallery_experiment_runs_quick_and_renders(tmp_path, browser, name):
    out = tmp_path / name
    result = run("run", name, "--quick", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    html_path = out / "report.html"
    text = html_path.read_text(encoding="utf-8")
    check_self_contained(text)
    assert "Summary" in text and f"{name}:" in text and "Reproduce this report with" in text
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
    cfg = (tmp_path / "o" / "config.json").read_text()
    assert '"n": 3' in cfg
    rows = dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", (tmp_path / "o" / "report.html").read_text()))
    # piecewise-constant input switching on every grid: ZOH exact, bilinear order 2, Mamba order 1
    assert rows["zoh order"] == "exact"
    assert abs(float(rows["bilinear order"]) - 2) < 0.15 and abs(float(rows["mamba order"]) - 1) < 0.15, rows
