"""The report document: one self-contained HTML file (every figure inline, no scripts, fonts or requests;
readable offline and printable), optionally also a PDF printed by a local Chromium.

:class:`Report` is built from escaped fragments (text, tables, code, figures) in sections; experiments add
sections of their own to the standard report.
"""

from __future__ import annotations

import base64
import html
import io
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .._files import atomic_path, write_text
from .._version import versions
from ..discretize import DiscreteMap, map_time_step

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
        #: the :class:`~ctrnn.analysis.Survey` behind a standard report (``None`` for a document built by hand)
        self.survey: Any = None
        #: the :class:`~ctrnn.mechanisms.TaskFixedPoints` behind a trained model's task sections (else ``None``)
        self.mechanisms: Any = None

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
        """Model card: the model in words, its settings and tensors, the seed, the versions, and the command
        that reproduces the report. ``model`` is any flow or map (a user's own included)."""
        self.section("Model card")
        self.add_text(model.describe())
        rows = [(k, short_value(v)) for k, v in model_settings(model).items()]
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
            FileNotFoundError: ``pdf`` asked for but no Chromium or Chrome is installed.
            RuntimeError: printing failed.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, self.html())
        written = [path]
        if pdf:
            written.append(print_to_pdf(path, path.with_suffix(".pdf")))
        return written


def find_browser() -> str | None:
    """Look for a browser that can print a report to PDF.

    Returns:
        the path of the first Chromium or Chrome executable on ``PATH`` (in the order of :data:`BROWSERS`),
        or ``None``.
    """
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
    """Print an HTML file to PDF with a local headless Chromium.

    Arguments:
        html_path: the report to print. pdf_path: the PDF to write. timeout: seconds the browser may take.

    Returns:
        ``pdf_path``.

    Raises:
        FileNotFoundError: no browser is installed.
        RuntimeError: printing failed (the browser's last message is quoted).
    """
    browser = find_browser()
    if browser is None:  # a missing program is the user's to install, not a bug: FileNotFoundError
        raise FileNotFoundError("--pdf needs Chromium or Chrome to print the report (e.g. apt-get install chromium); "
                           f"the HTML report is in {html_path}")
    with tempfile.TemporaryDirectory() as profile, atomic_path(pdf_path) as tmp:
        cmd = headless_browser_command(browser, profile) + ["--no-pdf-header-footer", f"--print-to-pdf={tmp}",
                                                            html_path.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"printing {html_path} to PDF with {browser} failed: {last}")
    return pdf_path


def model_settings(model: Any) -> dict[str, Any]:
    """A flow's constructor settings (``config()``; none for a model that has no config, such as a
    ``VectorField``), or a map's class and step followed by its model's settings."""
    if isinstance(model, DiscreteMap):
        found: dict[str, Any] = {"map": type(model).__name__}
        dt = map_time_step(model)
        if dt is not None:
            found["dt"] = dt
        if model.scheme is not None:
            found["scheme"] = model.scheme
        return found | (model_settings(model.source_system) if model.source_system is not None else {})
    try:
        return dict(model.config())
    except NotImplementedError:
        return {}


def short_value(v: Any) -> str:
    """A setting as a short string: long lists by their count and range, floats to 6 digits."""
    if isinstance(v, (list, tuple)) and len(v) > 8:
        flat = [x for x in v if isinstance(x, (int, float))]
        rng = f", range {min(flat):.4g} .. {max(flat):.4g}" if len(flat) == len(v) and flat else ""
        return f"{len(v)} values{rng}"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
