"""The standard report: a :class:`~ctrnn.analysis.Survey` of a flow or a map rendered as sections of a
:class:`Report`. The survey decides every number; this module only words and draws them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..analysis import Survey, SurveySettings, survey
from ..analysis.accuracy import SLOPE_AGREEMENT
from ..analysis.chaos import ZERO_STDERRS
from ..discretize import DiscreteMap
from ..plot import plot_fixed_points, plot_phase_portrait
from ..systems import System
from ._document import Report, short_value
from ._task import add_task_sections, check_task_model


def report(model: System | DiscreteMap, path: str | Path | None = None, *, x0: Any = None, inputs: Any = None,
           seed: int = 0, title: str | None = None, quick: bool = False, t_end: float | None = None,
           batch: int | None = None, x0_scale: float = 1.0, settings: SurveySettings | None = None,
           command: str | None = None, config: dict[str, Any] | None = None, pdf: bool = False,
           task: Any = None, training: Any = None, log: Callable[[str], None] | None = None,
           progress: bool = False, task_note: str | None = None) -> Report:
    """Survey a flow or a map end to end and (when ``path`` is given) write its report.

    Sections, each where it applies: summary; model card; trajectories; phase portrait (2-D flows: vector
    field, nullclines, trajectories, fixed points by kind, limit cycles, basins) or the top principal components
    with fixed and slow points; eigenvalues (a rate network's connectivity against the circular law; Jacobians
    along a trajectory); limit cycles with their Floquet multipliers; Lyapunov spectrum with Kaplan-Yorke
    dimension; gradient propagation; discretization error (flows). With ``task`` (a trained model): the task's score
    and example trials, the training curves and the dynamics during training (``training``), the fixed points per
    held input condition in the principal components of the task trajectories with the unstable manifolds of the
    saddles and where they end, limit cycles, and the slow modes with the inputs' selection-vector projections
    where a mode outlasts a trial.

    Arguments:
        model: a :class:`~ctrnn.System` or :class:`~ctrnn.DiscreteMap` (a user's ``VectorField`` or
            ``IteratedMap`` included).
        path: where to write the HTML (``None``: only build the :class:`Report`).
        x0: ``(B, n)`` initial states (default: ``batch`` states ``N(0, x0_scale^2)`` from ``seed``).
        inputs: a constant input ``(m,)`` (every analysis at that input) or ``None``.
        quick: start from ``SurveySettings.quick()`` (shorter runs, fewer starts, coarser grids).
        t_end, batch: override the settings' trajectory length and number of initial states.
        settings: every size of the survey (default ``SurveySettings()``, or the quick ones).
        command, config: recorded in the model card so the report can be reproduced.
        pdf: also print a PDF beside the HTML (needs Chromium or Chrome).
        task: the task ``model`` was trained on (then ``model`` must be a trained :class:`~ctrnn.TaskModel` or
            :class:`~ctrnn.TaskMap`). training: its :class:`~ctrnn.TrainingRun`, for the curves.
        task_note: a caveat on the task's settings for the task section and the summary (e.g. that they are the
            task's defaults, not necessarily those the model was trained with).
        log: called with a line as each analysis starts.
        progress: show the survey's progress bars (also shown inside :func:`~ctrnn.show_progress`).

    Returns:
        the :class:`Report` (its ``survey`` attribute holds the numbers).

    Raises:
        TypeError: ``model`` is neither a flow nor a map, or not a trained model when ``task`` is given.
        ValueError: bad states or inputs, or a task whose sizes are not the model's.
        FileNotFoundError: ``pdf`` asked for but no browser is installed. RuntimeError: printing failed.
    """
    if task is not None:  # before the survey spends anything
        check_task_model(model, task)
    chosen = settings if settings is not None else (SurveySettings.quick() if quick else SurveySettings())
    changes = {k: v for k, v in (("t_end", t_end), ("batch", batch)) if v is not None}
    chosen = chosen.replace(**changes) if changes else chosen
    found = survey(model, x0, inputs=inputs, seed=seed, settings=chosen, x0_scale=x0_scale, log=log,
                   progress=progress)
    doc = render(found, model, title=title, seed=seed, command=command, config=config, quick=quick)
    if task is not None:
        doc.mechanisms = add_task_sections(doc, model, task, training=training, seed=seed, quick=quick, log=log,
                                           progress=progress, task_note=task_note)
    if path is not None:
        doc.write(path, pdf=pdf)
    return doc


def _model_name(model: System | DiscreteMap) -> str:
    """The class a reader knows the model by: a trained model's network (with its readout), not the wrapper."""
    if not hasattr(model, "readout"):  # TaskModel wraps .system, TaskMap .map
        return type(model).__name__
    inner = model.system if hasattr(model, "system") else model.map
    return f"{type(inner).__name__} with a {model.output_dim}-output readout"


def render(found: Survey, model: System | DiscreteMap, *, title: str | None = None, seed: int | None = None,
           command: str | None = None, config: dict[str, Any] | None = None, quick: bool = False) -> Report:
    """The standard report of a survey, without running anything again.

    Arguments:
        found: the :class:`~ctrnn.analysis.Survey` to render.
        model: the surveyed model or map (for its model card and, for a 2-D flow, its vector field).
        title: the report's title (default: the model's class, a trained model's network class, and the dimension).
        seed, command, config: recorded in the model card so that the report can be reproduced.
        quick: say in the subtitle that the survey ran at the quick size.

    Returns:
        a :class:`Report` whose ``survey`` attribute is ``found``.
    """
    n, s, u = found.n, found.settings, found.inputs
    doc = Report(title or f"{_model_name(model)}, n = {n}",
                 subtitle=f"ctrnn phase-portrait report: {found.description}" + (" (quick size)" if quick else ""))
    doc.survey = found
    doc.summarize("model", found.description)
    doc.summarize("state dimension", n)
    _summary(doc, found)
    doc.add_model_card(model, seed=seed, command=command, config=config)

    traj = found.trajectory
    doc.section("Trajectories", f"{traj.x.shape[1]} trajectories from random initial states over "
                                f"{'iterations 0 ..' if found.is_map else 't in [0,'} {s.t_end:g}"
                                f"{'' if found.is_map else ']'}"
                                f"{'' if u is None else ' at the constant input u = ' + short_value(u.tolist())}.")
    doc.add_figure(traj.plot(), "Left: the first trajectory's units over time. Right: every trajectory in the "
                                "state plane (n <= 3) or its top two principal components.")
    _fixed_point_sections(doc, found, model)

    doc.section("Eigenvalues")
    if found.connectivity is not None:
        doc.add_figure(found.connectivity.plot(), "Eigenvalues of the connectivity against Girko's circular law of "
                                                  "radius g.")
    if len(found.fixed_points):
        boundary = "the unit circle" if found.is_map else "the imaginary axis"
        doc.add_text(f"The Jacobian eigenvalues at the fixed points are in the fixed-point figure above; {boundary} "
                     "is the stability boundary.")
    doc.add_figure(found.spectra.plot(), f"Jacobian eigenvalues at up to {s.spectra_states} states along the first "
                                         "trajectory (coloured by their order along it), and the leading one at each.")

    doc.section("Lyapunov spectrum")
    if found.lyapunov is not None:
        doc.add_text(found.lyapunov.summary())
        scheme = "the map's own step" if found.is_map else f"RK4, dt = {found.step:g}"
        doc.add_figure(found.lyapunov.plot(), f"The {len(found.lyapunov.exponents)} leading exponents with standard "
                                              f"errors, and their running estimates ({scheme}).")
    else:
        doc.add_text(f"The Lyapunov spectrum could not be computed: {found.notes.get('lyapunov')}", note=True)

    doc.section("Gradient propagation")
    if found.gradients is not None:
        doc.add_figure(found.gradients.plot(), "Norm and leading singular values of d x_T / d x_(T-k) against the lag: "
                                               "a positive slope explodes, a negative one vanishes.")
    else:
        doc.add_text(f"not computed: {found.notes.get('gradients')}", note=True)

    doc.section("Discretization error")
    err = found.discretization
    if err is not None:
        doc.add_text(f"Each scheme's largest error against the continuous solution (dopri5, tolerance 1e-10) over "
                     f"t in [{err.t_span[0]:g}, {err.t_span[1]:g}], for steps "
                     f"{', '.join(f'{float(d):g}' for d in err.dts)}.")
        doc.add_figure(err.plot(), "Error against step size, with the fitted order of each scheme.")
        doc.add_table([(name, err.order_text(name)) for name in err.schemes], ("scheme", "fitted order"))
        if not all(err.asymptotic.get(name, True) for name in err.schemes):
            doc.add_text(f"An order marked (not asymptotic) is not from the asymptotic regime: its successive slopes, "
                         f"between neighbouring steps, differ by more than {SLOPE_AGREEMENT:g} (or only one is above "
                         "the reference's accuracy); smaller steps would measure it.", note=True)
        for name, note in err.notes.items():
            doc.add_text(f"{name}: {note}; those steps are left out of its fit.", note=True)
    else:
        doc.add_text(f"not computed: {found.notes.get('discretization')}", note=True)
    return doc


def _summary(doc: Report, found: Survey) -> None:
    fp = found.fixed_points
    kinds = ", ".join(f"{fp.kinds.count(k)} {k}" for k in dict.fromkeys(fp.kinds)) or "none found"
    doc.summarize("fixed points", f"{len(fp)}: {kinds}" + (f"; {fp.slow_points.shape[0]} slow point(s)"
                                                           if fp.slow_points.shape[0] else ""))
    unit = "per iteration" if found.is_map else "per time unit"
    les = found.lyapunov
    if les is not None:
        doc.summarize("largest Lyapunov exponent", f"{les.largest:+.4f} ± {float(les.stderr[0]):.4f} {unit}")
        doc.summarize("chaotic", f"yes (largest exponent > {ZERO_STDERRS:g} standard errors and > 1/t_total above 0)"
                      if les.chaotic else "no")
        lower = f" (a lower bound: {len(les.exponents)} of {found.n} exponents computed)" \
            if les.kaplan_yorke_is_bound else ""
        doc.summarize("Kaplan-Yorke dimension", f"{les.kaplan_yorke_text(3)}{lower}")
    else:
        doc.summarize("largest Lyapunov exponent", f"not computed: {found.notes.get('lyapunov')}")
    doc.summarize("limit cycles", ", ".join(f"{'stable' if c.stable else 'unstable'}, period {c.period:.6g}"
                                            for c in found.cycles) or f"none ({found.notes.get('limit cycles')})")
    names = found.attractor_names()
    doc.summarize("attractors found", f"{len(names)}: " + (", ".join(names) or "none found"))
    gp = found.gradients
    if gp is not None:
        per = "per iteration" if gp.metadata.get("dt") is None else "per unit time"  # a map with a dt: time
        doc.summarize("gradient norm rate", f"{gp.rate:+.4f} {per} ({gp.regime})")


def _fixed_point_sections(doc: Report, found: Survey, model: System | DiscreteMap) -> None:
    fp, n = found.fixed_points, found.n
    if n == 2 and not found.is_map:
        doc.section("Phase portrait", "The vector field (streamlines, darker where faster), the nullclines, the "
                                      "trajectories, the fixed points by kind, limit cycles and, shaded, the basins "
                                      "of the attractors.")
        doc.add_figure(plot_phase_portrait(model, trajectory=found.trajectory, fixed_points=fp, cycles=found.cycles,
                                           basins=found.basins, inputs=found.inputs), "Phase portrait.")
    else:
        ratio = found.explained_variance
        doc.section("Fixed and slow points in the principal-component plane",
                    "Trajectories (grey) projected on their top two principal components, with the fixed points by "
                    "kind and the slow points. Share of the trajectories' variance explained by the leading "
                    "components: " + ", ".join(f"PC{i + 1} {100 * float(r):.1f}% of variance" for i, r in
                                               enumerate(ratio[:5])) + f"; the first two together "
                    f"{100 * float(ratio[:2].sum()):.1f}%.")
    doc.add_figure(plot_fixed_points(fp, trajectory=found.trajectory),
                   "Left: fixed points (markers by kind) and slow points over the trajectories. Right: the eigenvalues "
                   "of the Jacobian at each fixed point against the stability boundary.")
    if fp.kinds:
        lead = "leading |lambda|" if found.is_map else "leading Re(lambda)"
        doc.add_table([(i, kind, f"{float(fp.residuals[i]):.1e}",
                        f"{float(fp.eigenvalues[i, 0].abs() if found.is_map else fp.eigenvalues[i, 0].real):+.4f}",
                        short_value([round(float(v), 4) for v in fp.points[i, :6]]) + (" ..." if n > 6 else ""))
                       for i, kind in enumerate(fp.kinds[:20])],
                      ("#", "kind", "residual", lead, "position"))
    if found.basins is not None and n > 2:
        doc.add_figure(found.basins.plot(), "Basins of attraction on the principal-component plane.")
    if "basins" in found.notes:
        doc.add_text(f"basins not computed: {found.notes['basins']}", note=True)
    for j, c in enumerate(found.cycles):
        doc.add_figure(c.plot(), f"Limit cycle {j + 1}: the orbit and its Floquet multipliers (one is 1, along the "
                                 "flow; the cycle is stable when the others lie inside the unit circle).")
