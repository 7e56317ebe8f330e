"""The documentation site builds with warnings as errors, and its pages say what they should.

``mkdocs build --strict`` (mkdocs.yml) renders the API reference from the docstrings (mkdocstrings + griffe),
the gallery and one page per analysis. CI installs the docs toolchain with the test extras, so there a missing
toolchain is a failure; elsewhere the test skips with a note."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mkdocs() -> list[str]:
    try:
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
        import material  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the docs toolchain is missing in CI ({exc}); it is in the test extras")
        pytest.skip(f"no docs toolchain here ({exc}): pip install -e '.[docs]'")
    return [sys.executable, "-m", "mkdocs"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    proc = subprocess.run([*_mkdocs(), "build", "--strict", "--site-dir", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    took = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert took < 60, f"the docs build took {took:.0f} s"  # about 15 s on 2 cores
    return out


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def _section(html: str, anchor: str) -> str:
    """The HTML of one mkdocstrings object, from its heading to the next object of the same level."""
    start = html.index(f'id="{anchor}"')
    nxt = re.search(r'<h3 id="ctrnn\.', html[start + 10:])
    return html[start:start + 10 + nxt.start()] if nxt else html[start:]


def test_the_site_has_every_page(site):
    for name in ["", "gallery", "references", "api", "api/systems", "api/inputs", "api/training", "api/results", "api/config",
                 "api/errors", *(f"analysis/{a}" for a in ("simulation", "stability", "periodic", "chaos", "gradients",
                                                             "accuracy", "mechanisms"))]:
        assert (site / name / "index.html").is_file(), name
    assert not list(site.rglob("_*.py"))  # the build's own extension and hooks are not published


def test_api_pages_hold_the_docstrings_sections(site):
    fixed = _section(_page(site, "analysis/stability"), "ctrnn.find_fixed_points")
    # its "Arguments:" entries, "Returns:" and "Raises:" parsed as sections (google style reads "Arguments")
    for name in ("sys_or_map", "x_init", "inputs", "max_iter", "tol", "slow_tol", "unique_tol", "max_norm", "patience"):
        assert f"<code>{name}</code>" in fixed, name
    assert "Levenberg-Marquardt" in fixed and "Returns" in fixed and "Raises" in fixed
    # a Sphinx role became a link, never printed verbatim
    assert ":class:" not in fixed and 'href="../../api/systems/#ctrnn.System"' in fixed
    # an entry documenting two parameters at once gives each its own row
    simulate = _section(_page(site, "analysis/simulation"), "ctrnn.simulate")
    assert "<code>rtol</code>" in simulate and "<code>atol</code>" in simulate
    # the contract's names (DESIGN.md, "Public API") all have an anchor somewhere
    anchors = set()
    for html in site.rglob("*.html"):
        anchors.update(re.findall(r'id="(ctrnn\.[\w.]+)"', html.read_text(encoding="utf-8")))
    for name in ("RateRNN", "BeerCTRNN", "GRUODE", "LSTMODE", "LinearSSM", "DiagonalSSM", "SelectiveSSM", "VectorField",
                 "IteratedMap", "simulate", "load", "discretize", "selective_scan", "to_torch", "from_torch",
                 "find_fixed_points", "jacobian", "lyapunov_spectrum", "find_limit_cycle", "gradient_propagation",
                 "systems.Lorenz", "systems.Rossler", "systems.VanDerPol", "train", "TrainingRun", "TaskModel",
                 "tasks.FlipFlop", "tasks.SineGenerator", "tasks.ContextIntegration"):
        assert f"ctrnn.{name}" in anchors, name


@pytest.mark.parametrize("page,references", [
    ("analysis/simulation", ["DOP853", "scipy.linalg.expm", "gradcheck", "tests/test_simulate.py"]),
    ("analysis/stability", ["8.485281", "-1 + w/4", "Sussillo", "tests/test_fixed_points.py"]),
    ("analysis/periodic", ["6.66328686", "8.59695e-4", "tests/test_limit_cycles.py"]),
    ("analysis/chaos", ["0.9059", "-14.5723", "Sompolinsky", "tests/test_lyapunov.py"]),
    ("analysis/gradients", ["torch.autograd.functional.jacobian", "largest Lyapunov exponent"]),
    ("analysis/accuracy", ["cont2discrete", "dlsim", "torch.nn.GRUCell", "tests/test_torch_bridge.py"]),
    ("analysis/mechanisms", ["Sussillo &amp; Barak 2013", "Mante", "scipy.linalg.eig", "tests/test_trained_mechanisms.py"]),
])
def test_each_analysis_page_names_its_references(site, page, references):
    html = _page(site, page)
    assert "How it is tested" in html and "Public functions" in html
    for ref in references:
        assert ref in html, (page, ref)


def test_the_gallery_has_every_experiment_with_its_checked_numbers(site):
    import tomllib

    html = _page(site, "gallery")
    for toml in sorted((ROOT / "simulations").glob("*.toml")):
        experiment = tomllib.loads(toml.read_text())["experiment"]
        assert f"<code>{experiment['name']}</code>" in html, toml.name
        # the TOML's own title and description (escaped as HTML)
        for text in (experiment["title"], experiment["description"]):
            plain = re.sub(r"<[^>]+>", "", html).replace("&#39;", "'").replace("&amp;", "&")
            assert text.lower().replace("`", "") in plain.lower().replace("`", ""), text
    for number in ("0.9059", "-14.5723", "2.0621", "29.00", "6.66328686", "ZOH exact, bilinear order 2, Mamba order 1"):
        assert number in html, number
