"""``ctrnn report``: one self-contained HTML report of a model, end to end."""

from __future__ import annotations

from typing import Any

from cli._defaults import BASE
from cli._options import ModelFileOpt, ModelOpt, PdfOpt, QuickOpt, Shared, shared_options
from cli._run_folder import command_line

DEFAULTS: dict[str, Any] = {
    **BASE,
    "model": {"kind": "beer"},
    # t_end 0: 100 time units (30 with --quick); input: a constant input (empty: none)
    "report": {"batch": 8, "x0_scale": 1.0, "t_end": 0.0, "input": []},
}


@shared_options(ModelOpt, defaults=DEFAULTS)
def report(opts: Shared, model_file: ModelFileOpt = None, quick: QuickOpt = False, pdf: PdfOpt = False) -> None:
    """Analyse a model or a saved map end to end and write one self-contained HTML report (trajectories, phase
    portrait or principal components, fixed points, cycles, basins, eigenvalues, Lyapunov spectrum, gradients,
    discretization)."""
    import ctrnn
    from ctrnn.setup import build_model_and_states, constant_input

    folder = opts.folder("report")
    cfg = opts.resolve(DEFAULTS, model_file=model_file)  # records the file, not the defaults
    spec = cfg["report"]
    system, x0 = build_model_and_states(cfg, spec["batch"], spec["x0_scale"])
    folder.create(cfg)
    html = folder.file("report.html")
    ctrnn.report(system, html, x0=x0, inputs=constant_input(spec["input"], system), seed=cfg["seed"], quick=quick,
                 t_end=spec["t_end"] or None, command=command_line(), config=cfg, pdf=pdf, log=folder.log)
    if pdf:
        folder.file("report.pdf")
    folder.finish(f"report: {html}" + (f" and {folder.path / 'report.pdf'}" if pdf else ""))
