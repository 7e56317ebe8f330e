"""Phase-portrait reports: one self-contained HTML file (every figure inline, no scripts, fonts or requests;
readable offline and printable), optionally also a PDF printed by a local Chromium.

:func:`report` analyses a flow end to end (trajectories, fixed and slow points, limit cycles, basins,
eigenvalues, Lyapunov spectrum, gradient propagation, discretization error) and writes the report;
:class:`Report` is the document itself, which experiments extend with sections of their own.
"""

from __future__ import annotations

import base64
import html
import io
import math
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

#: figures whose SVG is larger than this are embedded as PNG instead (dense images print fine as PNG)
SVG_LIMIT_BYTES = 1_500_000
#: browsers that can print the report to PDF, in the order they are looked for
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1a1a1a;
       max-width: 1020px; margin: 2em auto; padding: 0 1.2em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.1em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc;
     padding-bottom: 0.2em; margin-top: 1.8em; } .subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
td, th { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } table.summary td:first-child { font-weight: 600; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; background: #f5f5f5; }
pre { padding: 0.6em; white-space: pre-wrap; word-break: break-word; }
.note { color: #7a4b00; background: #fff7e0; padding: 0.4em 0.7em; border-left: 3px solid #E69F00; }
nav ol { columns: 2; font-size: 0.92em; }
@media print { body { max-width: none; margin: 0; } figure, table, pre { break-inside: avoid; } h2 { break-after: avoid; }
               nav { display: none; } a { color: inherit; text-decoration: none; } }
"""


def figure_data_uri(fig: Any, *, close: bool = True) -> str:
    """A matplotlib figure as a ``data:`` URI: SVG (text drawn as paths, so no font is needed), or PNG when
    the SVG would exceed :data:`SVG_LIMIT_BYTES`."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    if buf.tell() <= SVG_LIMIT_BYTES:
        uri = "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    else:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    if close:
        plt.close(fig)
    return uri


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that produce the numbers."""
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for dist, name in (("ctrnn-dynamics", "ctrnn"), ("torch", "torch"), ("torchdiffeq", "torchdiffeq"),
                       ("numpy", "numpy"), ("scipy", "scipy"), ("matplotlib", "matplotlib")):
        try:
            found[name] = md.version(dist)
        except md.PackageNotFoundError:
            found[name] = "not installed"
    return found


class Report:
    """A report under construction: a summary table, a model card, and sections of text, tables and figures.

    Arguments:
        title: the report's title; subtitle: one line under it.

    Every figure is embedded (SVG, or PNG when large), so :meth:`html` needs nothing but itself.
    """

    def __init__(self, title: str, *, subtitle: str = ""):
        self.title, self.subtitle = title, subtitle
        self.summary: dict[str, str] = {}
        self.sections: list[tuple[str, list[str]]] = []
        self.figure_count = 0

    # -- building ----------------------------------------------------------------------------------
    def summarize(self, name: str, value: Any) -> None:
        """One row of the summary table at the top (a later value for the same name replaces it)."""
        self.summary[name] = str(value)

    def section(self, heading: str, text: str = "") -> None:
        """Start a section; later ``add_*`` calls go into it."""
        self.sections.append((heading, []))
        if text:
            self.add_text(text)

    def _body(self) -> list[str]:
        if not self.sections:
            self.section("Results")
        return self.sections[-1][1]

    def add_text(self, text: str, *, note: bool = False) -> None:
        """A paragraph (plain text, escaped); ``note`` marks it as a caveat."""
        cls = ' class="note"' if note else ""
        self._body().append(f"<p{cls}>{html.escape(text)}</p>")

    def add_code(self, text: str) -> None:
        self._body().append(f"<pre><code>{html.escape(text)}</code></pre>")

    def add_table(self, rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None) -> None:
        """A table of plain values (escaped)."""
        head = "" if header is None else "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        self._body().append(f"<table>{head}{body}</table>")

    def add_figure(self, fig: Any, caption: str = "") -> None:
        """A matplotlib figure, embedded and closed."""
        self.figure_count += 1
        alt = html.escape(caption or f"figure {self.figure_count}", quote=True)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._body().append(f'<figure><img alt="{alt}" src="{figure_data_uri(fig)}">{cap}</figure>')

    def add_model_card(self, model: Any, *, seed: int | None, command: str | None = None,
                       config: dict[str, Any] | None = None) -> None:
        """Model card: the equations in words, the parameters and tensors, the seed, the versions, and the
        command that reproduces the report."""
        self.section("Model card")
        self.add_text(model.describe())
        settings = model.config() if hasattr(model, "config") else {}
        rows = [(k, _short_value(v)) for k, v in settings.items()]
        if rows:
            self.add_table(rows, ("parameter", "value"))
        tensors = [(name, "x".join(map(str, t.shape)) or "scalar", str(t.dtype).replace("torch.", ""),
                    f"{float(t.abs().max()):.4g}" if t.numel() else "-", f"{float(t.norm()):.4g}" if t.numel() else "-")
                   for name, t in [(k, v.detach()) for k, v in [*model.named_parameters(), *model.named_buffers()]]]
        if tensors:
            self.add_table(tensors, ("tensor", "shape", "dtype", "max |entry|", "norm"))
        facts = [("seed", "recorded in the model" if seed is None else seed)]
        facts += [(f"{name} version", v) for name, v in versions().items()]
        facts.append(("written", time.strftime("%Y-%m-%d %H:%M:%S")))
        self.add_table(facts)
        if command:
            self.add_text("Reproduce this report with:")
            self.add_code(command)
        if config:
            import json

            self.add_text("Resolved configuration:")
            self.add_code(json.dumps(config, indent=2, default=str))

    def extend(self, other: Report) -> None:
        """Append another report's sections, and its summary rows (marked with its title) after this one's."""
        for key, value in other.summary.items():
            self.summary.setdefault(f"{key} ({other.title})", value)
        self.sections.extend(other.sections)
        self.figure_count += other.figure_count

    # -- output ------------------------------------------------------------------------------------
    def html(self) -> str:
        """The whole report as one HTML document; it references nothing outside itself."""
        title = html.escape(self.title)
        parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                 '<meta name="viewport" content="width=device-width, initial-scale=1">',
                 f"<title>{title}</title><style>{_CSS}</style></head><body>",
                 f"<header><h1>{title}</h1>"]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{html.escape(self.subtitle)}</p>')
        parts.append("</header>")
        if self.summary:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in self.summary.items())
            parts.append(f'<section id="summary"><h2>Summary</h2><table class="summary">{rows}</table></section>')
        if len(self.sections) > 2:
            links = "".join(f'<li><a href="#s{i}">{html.escape(h)}</a></li>' for i, (h, _) in enumerate(self.sections))
            parts.append(f"<nav><ol>{links}</ol></nav>")
        for i, (heading, body) in enumerate(self.sections):
            parts.append(f'<section id="s{i}"><h2>{html.escape(heading)}</h2>{"".join(body)}</section>')
        parts.append("<footer><p class=\"subtitle\">Written by ctrnn.</p></footer></body></html>")
        return "\n".join(parts)

    def write(self, path: str | Path, *, pdf: bool = False) -> list[Path]:
        """Write the HTML to ``path`` (and ``path`` with ``.pdf`` when ``pdf``); returns the files written.

        Raises:
            RuntimeError: ``pdf`` asked for but no Chromium or Chrome is installed, or printing failed.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        written = [path]
        if pdf:
            written.append(print_to_pdf(path, path.with_suffix(".pdf")))
        return written


def find_browser() -> str | None:
    """The path of a Chromium or Chrome executable, or ``None``."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def headless_browser_command(browser: str, profile: str) -> list[str]:
    """A headless Chromium command line that makes no connection of its own (no updates, sync or
    background fetches) and uses a fresh profile."""
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-quic", f"--user-data-dir={profile}"]


def print_to_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 180.0) -> Path:
    """Print an HTML file to PDF with a local headless Chromium."""
    browser = find_browser()
    if browser is None:
        raise RuntimeError("--pdf needs Chromium or Chrome to print the report (e.g. apt-get install chromium); "
                           f"the HTML report is in {html_path}")
    with tempfile.TemporaryDirectory() as profile:
        cmd = headless_browser_command(browser, profile) + ["--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                                                            html_path.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"printing {html_path} to PDF with {browser} failed: {last}")
    return pdf_path


def _short_value(v: Any) -> str:
    if isinstance(v, (list, tuple)) and len(v) > 8:
        flat = [x for x in v if isinstance(x, (int, float))]
        rng = f", range {min(flat):.4g} .. {max(flat):.4g}" if len(flat) == len(v) and flat else ""
        return f"{len(v)} values{rng}"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


# -- the automatic analysis ---------------------------------------------------------------------------
def report(model: Any, path: str | Path | None = None, *, x0: Any = None, inputs: Any = None, seed: int = 0,
           title: str | None = None, quick: bool = False, t_end: float | None = None, batch: int | None = None,
           x0_scale: float = 1.0, command: str | None = None, config: dict[str, Any] | None = None,
           pdf: bool = False, log: Callable[[str], None] | None = None) -> Report:
    """Analyse a flow end to end and (when ``path`` is given) write its report.

    Sections, each where it applies: summary; model card; trajectories; phase portrait (2-D: vector field,
    nullclines, trajectories, fixed points by kind, limit cycles, basins) or the top principal components
    with fixed and slow points (n > 2); eigenvalues (connectivity against the circular law for a rate
    network; Jacobians at fixed points against the stability boundary; Floquet multipliers); Lyapunov
    spectrum with Kaplan-Yorke dimension; gradient propagation; discretization error.

    Arguments:
        model: a :class:`~ctrnn.System`.
        path: where to write the HTML (``None``: only build the :class:`Report`).
        x0: ``(B, n)`` initial states (default: ``batch`` states ``N(0, x0_scale^2)`` from ``seed``).
        inputs: a constant input ``(m,)`` (fixed points, cycles and spectra at that input) or ``None``.
        quick: a reduced size (shorter runs, fewer starts, coarser grids) for a fast look or for tests.
        t_end: length of the simulated trajectories in time units (default 100; quick 30).
        command, config: recorded in the model card so the report can be reproduced.
        pdf: also print a PDF beside the HTML (needs Chromium or Chrome).
        log: called with a line as each analysis starts (progress).

    Returns:
        the :class:`Report`. An analysis that cannot run on this model (e.g. no limit cycle found) leaves a
        note in its section rather than stopping the report.
    """
    from ..analysis._common import check_dynamics

    if check_dynamics(model, "report"):
        raise TypeError("report takes a flow (a ctrnn.System); a map's report is not implemented")
    from .._validation import default_dtype

    ref = next(iter([*model.parameters(), *model.buffers()]), None)
    # a model without tensors (Van der Pol, Lorenz) runs in its states' precision, float64 by default
    given = x0.dtype if isinstance(x0, torch.Tensor) and x0.is_floating_point() else torch.float64
    with default_dtype(ref.real.dtype if ref is not None else given):
        return _report(model, path, x0=x0, inputs=inputs, seed=seed, title=title, quick=quick, t_end=t_end,
                       batch=batch, x0_scale=x0_scale, command=command, config=config, pdf=pdf, log=log)


def _report(model: Any, path: str | Path | None, *, x0: Any, inputs: Any, seed: int, title: str | None, quick: bool,
            t_end: float | None, batch: int | None, x0_scale: float, command: str | None, config: dict[str, Any] | None,
            pdf: bool, log: Callable[[str], None] | None) -> Report:
    import ctrnn.analysis as analysis
    from .._simulate import simulate
    from ..inputs import Constant
    from ..plot import plot_fixed_points, plot_phase_portrait

    say = log or (lambda line: None)
    n = model.state_dim
    ref = next(iter([*model.parameters(), *model.buffers()]), None)
    dtype = torch.get_default_dtype()  # the model's real dtype, set by report()
    device = ref.device if ref is not None else torch.device("cpu")
    if x0 is None:
        gen = torch.Generator().manual_seed(seed)
        x0 = x0_scale * torch.randn(batch or (4 if quick else 8), n, generator=gen, dtype=torch.float64)
    x0 = torch.as_tensor(x0).to(device=device, dtype=dtype).reshape(-1, n)
    u = None if inputs is None else torch.as_tensor(inputs, dtype=dtype, device=device)
    t_end = float(t_end if t_end is not None else (30.0 if quick else 100.0))

    doc = Report(title or f"{type(model).__name__}, n = {n}",
                 subtitle=f"ctrnn phase-portrait report: {model.describe()}" + (" (quick size)" if quick else ""))
    doc.summarize("model", model.describe())
    doc.summarize("state dimension", n)
    doc.add_model_card(model, seed=seed, command=command, config=config)

    say("simulating trajectories")
    steps = max(50, min(4000, int(t_end / 0.05)))
    with torch.no_grad():
        traj = simulate(model, x0, torch.linspace(0.0, t_end, steps + 1, dtype=torch.float64),
                        inputs=None if u is None else Constant(u), rtol=1e-7, atol=1e-9)
    doc.section("Trajectories", f"{x0.shape[0]} trajectories from random initial states over t in [0, {t_end:g}]"
                                f"{'' if u is None else ' at the constant input u = ' + _short_value(u.tolist())}.")
    doc.add_figure(traj.plot(), "Left: the first trajectory's units over time. Right: every trajectory in the "
                                "state plane (n <= 3) or its top two principal components.")

    say("finding fixed points")
    starts = analysis.sample_starts(traj.x, 64 if quick else 256, noise=0.1, seed=seed)
    fp = analysis.find_fixed_points(model, torch.cat([starts, x0]), inputs=u)
    kinds = ", ".join(f"{fp.kinds.count(k)} {k}" for k in dict.fromkeys(fp.kinds)) or "none found"
    doc.summarize("fixed points", f"{len(fp)}: {kinds}" + (f"; {fp.slow_points.shape[0]} slow point(s)"
                                                           if fp.slow_points.shape[0] else ""))

    say("Lyapunov spectrum")
    dt = _step_for(model, traj, u)
    k = min(n, 4 if quick else 10)
    les = None
    try:
        les = analysis.lyapunov_spectrum(model, traj.x[-1, :4], k=k, inputs=u, dt=dt,
                                         t_transient=5.0 if quick else 20.0, t_total=20.0 if quick else 200.0)
        doc.summarize("largest Lyapunov exponent", f"{les.largest:+.4f} ± {float(les.stderr[0]):.4f} per time unit")
        doc.summarize("chaotic", "yes (largest exponent > 3 standard errors above 0)" if les.chaotic else "no")
        doc.summarize("Kaplan-Yorke dimension", f"{les.kaplan_yorke_dimension:.3f}" + (" (lower bound: k < n)" if k < n else ""))
    except Exception as error:  # noqa: BLE001 - the report says what could not be computed and goes on
        les_error = str(error).splitlines()[0]
        doc.summarize("largest Lyapunov exponent", f"not computed: {les_error}")

    say("limit cycles")
    cycles, cycle_note = _limit_cycles(model, traj, fp, u, les, quick)
    doc.summarize("limit cycles", ", ".join(f"{'stable' if c.stable else 'unstable'}, period {c.period:.4g}"
                                            for c in cycles) or f"none ({cycle_note})")
    stable_points = {f"fixed point #{i}": fp.points[i:i + 1] for i in range(len(fp)) if bool(fp.stable[i])}
    attractors = {**stable_points, **{f"cycle {j + 1}": c.orbit for j, c in enumerate(cycles) if c.stable}}
    strange = ["a chaotic attractor"] if les is not None and les.chaotic else []
    doc.summarize("attractors found", f"{len(attractors) + len(strange)}: " +
                  (", ".join([*attractors, *strange]) or "none found"))

    say("phase portrait and basins")
    basins_result = None
    if n >= 2 and len(attractors) >= (1 if n == 2 else 2):
        plane = analysis.state_plane(traj.x) if n == 2 else analysis.pca_plane(traj.x)
        res = 20 if quick else (60 if n == 2 else 40)
        try:
            # a cycle is known at sampled points only: the tolerance must cover half their spacing
            basins_result = analysis.basins(model, attractors, **plane, resolution=(res, res), inputs=u,
                                            t_end=30.0 if quick else 60.0, tol=5e-2 if cycles else 1e-2)
        except Exception as error:  # noqa: BLE001
            doc.add_text(f"basins not computed: {str(error).splitlines()[0]}", note=True)
    if n == 2:
        doc.section("Phase portrait", "The vector field (streamlines, darker where faster), the nullclines, the "
                                      "trajectories, the fixed points by kind, limit cycles and, shaded, the basins "
                                      "of the attractors.")
        doc.add_figure(plot_phase_portrait(model, trajectory=traj, fixed_points=fp, cycles=cycles, basins=basins_result,
                                           inputs=u), "Phase portrait.")
    else:
        from ..analysis import principal_components

        ratio = principal_components(traj.x.detach().cpu(), min(n, 10))[2]
        doc.section("Fixed and slow points in the principal-component plane",
                    "Trajectories (grey) projected on their top two principal components, with the fixed points by "
                    "kind and the slow points. Share of the trajectories' variance explained by the leading "
                    "components: " + ", ".join(f"PC{i + 1} {100 * float(r):.1f}% of variance" for i, r in
                                               enumerate(ratio[:5])) + f"; the first two together "
                    f"{100 * float(ratio[:2].sum()):.1f}%.")
    doc.add_figure(plot_fixed_points(fp, trajectory=traj), "Left: fixed points (markers by kind) and slow points over "
                                                           "the trajectories. Right: the eigenvalues of the Jacobian "
                                                           "at each fixed point against the stability boundary.")
    if fp.kinds:
        doc.add_table([(i, kind, f"{float(fp.residuals[i]):.1e}", f"{float(fp.eigenvalues[i, 0].real):+.4f}",
                        _short_value([round(float(v), 4) for v in fp.points[i, :6]]) + (" ..." if n > 6 else ""))
                       for i, kind in enumerate(fp.kinds[:20])],
                      ("#", "kind", "residual", "leading Re(lambda)", "position"))
    if basins_result is not None and n > 2:
        doc.add_figure(basins_result.plot(), "Basins of attraction on the principal-component plane.")
    for j, c in enumerate(cycles):
        doc.add_figure(c.plot(), f"Limit cycle {j + 1}: the orbit and its Floquet multipliers (one is 1, along the "
                                 "flow; the cycle is stable when the others lie inside the unit circle).")

    doc.section("Eigenvalues")
    if hasattr(model, "W_eff") and getattr(model, "form", None) is not None:
        doc.add_figure(analysis.connectivity_spectrum(model).plot(),
                       "Eigenvalues of the connectivity against Girko's circular law of radius g.")
    if len(fp):
        doc.add_text("The Jacobian eigenvalues at the fixed points are in the fixed-point figure above; the "
                     "imaginary axis is the stability boundary of a flow.")
    with torch.no_grad():
        along = analysis.spectra_along(model, traj.x[::max(1, traj.x.shape[0] // 60), 0], inputs=u)
    doc.add_figure(along.plot(), "Jacobian eigenvalues at 60 states along the first trajectory (coloured by their "
                                 "order along it), and the leading real part at each.")

    doc.section("Lyapunov spectrum")
    if les is not None:
        doc.add_text(les.summary())
        doc.add_figure(les.plot(), f"The {k} leading exponents with standard errors, and their running estimates "
                                   f"(RK4, dt = {dt:g}).")
    else:
        doc.add_text(f"The Lyapunov spectrum could not be computed: {les_error}", note=True)

    say("gradient propagation")
    doc.section("Gradient propagation")
    try:
        gp = analysis.gradient_propagation(model, traj.x[-1, :2], horizon=10.0 if quick else 40.0, inputs=u, dt=dt,
                                           t_transient=2.0 if quick else 10.0)
        doc.summarize("gradient norm rate", f"{gp.rate:+.4f} per time unit (" +
                      ("exploding" if gp.rate > 0.05 else "vanishing" if gp.rate < -0.05 else "neither: |rate| < 0.05")
                      + ")")
        doc.add_figure(gp.plot(), "Norm and leading singular values of d x_T / d x_(T-k) against the lag: a "
                                  "positive slope explodes, a negative one vanishes.")
    except Exception as error:  # noqa: BLE001
        doc.add_text(f"not computed: {str(error).splitlines()[0]}", note=True)

    say("discretization error")
    doc.section("Discretization error")
    _discretization_section(doc, model, x0[:2], dt, u)

    if path is not None:
        doc.write(path, pdf=pdf)
    return doc


def _step_for(model: Any, traj: Any, u: torch.Tensor | None) -> float:
    """An RK4 step for the tangent dynamics: at most 0.05 time units and 0.5 / (largest |eigenvalue| of the
    Jacobian over sampled states), well inside RK4's stability region."""
    samples = traj.x[:: max(1, traj.x.shape[0] // 10)].reshape(-1, model.state_dim)[:64]
    with torch.no_grad():
        rho = float(torch.linalg.eigvals(model.jacobian(samples, u)).abs().max())
    step = min(0.05, 0.5 / max(rho, 1e-12))
    return float(f"{step:.1g}")  # a round number, so that time spans divide evenly


def _limit_cycles(model: Any, traj: Any, fp: Any, u: torch.Tensor | None, les: Any, quick: bool) -> tuple[list, str]:
    """Limit cycles the trajectories approach (up to 3 distinct), and a note when none is looked for."""
    from ..analysis import NoCycleError, find_limit_cycle

    if model.state_dim > 20:
        return [], "not searched for n > 20"
    if les is not None and les.chaotic:
        return [], "chaotic"
    ends = traj.x[-1]
    with torch.no_grad():
        speeds = model(torch.zeros((), dtype=ends.dtype, device=ends.device), ends, u).norm(dim=-1)
    cycles: list = []
    attempts = 0
    for i in speeds.argsort(descending=True).tolist():
        if float(speeds[i]) < 1e-3 or attempts >= 3:
            break
        end = ends[i:i + 1].to(torch.float64)
        if any(float(torch.cdist(end, c.orbit.to(torch.float64)).min()) < 0.1 * _diameter(c.orbit) for c in cycles):
            continue  # on a cycle already found
        attempts += 1
        try:
            cycles.append(find_limit_cycle(model, ends[i], inputs=u, t_transient=50.0, t_search=100.0,
                                           rtol=1e-10, atol=1e-10, tol=1e-8))
        except (NoCycleError, RuntimeError, ValueError):
            continue
    return cycles, "every trajectory settles on a fixed point" if not cycles else ""


def _diameter(points: torch.Tensor) -> float:
    p = points.detach().double()
    return float((p.amax(0) - p.amin(0)).norm())


def _discretization_section(doc: Report, model: Any, x0: torch.Tensor, dt: float, u: torch.Tensor | None) -> None:
    from ..analysis import discretization_error

    schemes = ["euler", "rk4"] + (["exp_euler"] if model.leak(x0, u) is not None else [])
    from .._errors import DivergenceError

    dts = [8 * dt, 4 * dt, 2 * dt, dt]
    span = 40 * 8 * dt
    while True:
        try:
            err = discretization_error(model, x0, span, schemes=schemes, dts=dts, inputs=u)
            break
        except DivergenceError as error:  # a step too large for explicit Euler: drop it and measure the rest
            if len(dts) <= 2:
                doc.add_text(f"not computed: {str(error).splitlines()[0]}", note=True)
                return
            dts = dts[1:]
        except Exception as error:  # noqa: BLE001
            doc.add_text(f"not computed: {str(error).splitlines()[0]}", note=True)
            return
    doc.add_text(f"Each scheme's largest error against the continuous solution (dopri5, tolerance 1e-10) over "
                 f"t in [0, {span:g}], for steps {', '.join(f'{d:g}' for d in dts)}.")
    doc.add_figure(err.plot(), "Error against step size, with the fitted order of each scheme.")
    orders = getattr(err, "orders", None)
    if isinstance(orders, dict):
        doc.add_table([(s, "-" if o is None or (isinstance(o, float) and math.isnan(o)) else f"{o:.2f}")
                       for s, o in orders.items()], ("scheme", "fitted order"))
