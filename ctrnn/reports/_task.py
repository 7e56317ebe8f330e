"""The task sections of a trained network's report: its score and example trials, its training curves, its fixed
points per condition with the saddles between them, its limit cycles and its slow modes."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import torch

from ..mechanisms import TaskFixedPoints, check_task_model, compare_topologies, task_fixed_points
from ..tasks import SineGenerator
from ..training import TaskMap, TaskModel, TrainingRun, task_trajectories, trial_generator
from ._document import Report, short_value

#: the most conditions analysed in a report (a sine generator has one per frequency: an even spread is shown)
MAX_CONDITIONS = 6


def report_conditions(task: Any, limit: int = MAX_CONDITIONS) -> list[str] | None:
    """The conditions a report analyses: all of the task's, or ``limit`` spread evenly over them."""
    conditions = task.conditions() if callable(getattr(task, "conditions", None)) else None
    if conditions is None or len(conditions) <= limit:
        return None
    names = list(conditions)
    return [names[round(i * (len(names) - 1) / (limit - 1))] for i in range(limit)]


def add_task_sections(doc: Report, model: TaskModel | TaskMap, task: Any, *, training: TrainingRun | None = None,
                      seed: int = 0, quick: bool = False, log: Callable[[str], None] | None = None,
                      progress: bool = False, task_note: str | None = None) -> TaskFixedPoints:
    """Append the task sections to ``doc`` and return the analysis behind them.

    Arguments:
        doc: the report to extend. model: the trained model. task: the task it was trained on.
        training: its :class:`~ctrnn.TrainingRun` (curves; trials run the way it trained), or ``None``.
        seed: the example trials and the fixed-point starts. quick: fewer trials and starts.
        log: called with a line as each part starts. progress: show progress bars.
        task_note: a caveat on the task's settings, shown first in the task section and in the summary (the
            CLI's, when they are the task's defaults rather than the training run's).

    Returns:
        the :class:`~ctrnn.mechanisms.TaskFixedPoints` the sections show.
    """
    check_task_model(model, task)
    if training is not None:  # its curves and the way it ran trials, with the model as given (its dtype, device)
        training = dataclasses.replace(training, model=model)
    say = log or (lambda _: None)
    name = getattr(task, "name", type(task).__name__)
    say("task: example trials and score")
    trials = 64 if quick else 256
    batch = task.sample(trials, trial_generator(seed, "examples"))
    with torch.no_grad():
        outputs = training.respond(batch)[1] if training is not None else task_trajectories(model, batch)[1]
    score = float(task.score(outputs.detach(), batch))
    score_name = getattr(task, "score_name", "score")
    doc.summarize("task", f"{name}: {getattr(task, 'description', '')}")
    doc.summarize("task score", f"{score_name} {score:.4g} on {trials} unseen trials")
    doc.section(f"Task: {name}", f"{getattr(task, 'description', '')}. The trained network's {score_name} on {trials} "
                                 f"trials it never saw: {score:.4g}.")
    if task_note:
        doc.summarize("task settings", task_note)
        doc.add_text(f"Task settings: {task_note}.", note=True)
    doc.add_figure(batch.plot(outputs=outputs.detach(), trials=4), "Example trials: inputs above; below, the "
                   "network's outputs (solid) against the targets (dashed) where they count.")

    doc.section("Training")
    if training is not None:
        doc.add_text(training.summary())
        tracked = len(training.tracking_steps) > 0
        doc.add_figure(training.plot(), "Training and held-out loss, held-out score and gradient norm against "
                       "training steps" + ("; and the dynamics during training: the largest finite-time Lyapunov "
                                           "exponent and the gradient-propagation rate on task trials." if tracked
                                           else "."))
        if not tracked:
            doc.add_text("The dynamics during training were not tracked (train with track_every > 0, or "
                         "--set training.track_every=K, to see them here).", note=True)
    else:
        doc.add_text("No training run was given (the CLI reads training.safetensors beside the model file): the "
                     "training curves are not shown.", note=True)

    say("task: fixed points per condition")
    found = task_fixed_points(training if training is not None else model, task,
                              conditions=report_conditions(task), trials=32 if quick else 128,
                              starts=128 if quick else 512, seed=seed, progress=progress)
    _fixed_point_sections(doc, found)
    _cycle_section(doc, found, task)
    _slow_mode_section(doc, found, task)
    return found


def _fixed_point_sections(doc: Report, found: TaskFixedPoints) -> None:
    kind = "map" if found.is_map else "flow"
    doc.section("Fixed points per condition",
                f"For each held input condition, starts drawn from the network's own trajectories on task trials of "
                f"that condition, the fixed points of the trained {kind} found from them (Levenberg-Marquardt then "
                "Newton), and the unstable manifolds of the unstable ones followed to where they end. These starts "
                "and inputs are not those of the fixed-point section above (random states, no input), so its points "
                "and their numbers (#k) differ: here each condition numbers its own.")
    doc.add_figure(found.plot(), "Fixed points by kind, slow points (+), the unstable manifolds (orange) and limit "
                                 "cycles, over the task trajectories (grey). The plane is the top two principal "
                                 "components of the fixed points and their manifolds; with fewer than 3 points, of "
                                 "the trajectories.")
    # the output-pattern and saddle columns where some condition holds more than one stable state (a memory); the
    # cycle column where some condition oscillates
    multistable = any(int(fps.stable.sum()) > 1 for fps in found.fixed_points)
    cycle_of = dict(zip(found.cycle_conditions, found.cycles))
    rows = []
    for i, c in enumerate(found.conditions):
        row = compare_topologies({c: found}, condition=i)
        said = f"{int(row.n_stable[0])} stable of {len(found.fixed_points[i])}"
        if multistable:
            said += (f"; {int(row.n_joining[0])} of {int(row.n_saddles[0])} saddles with one unstable direction join "
                     f"two stable points ({int(row.n_one_flip[0])} one output apart)")
        if i in cycle_of:
            said += (f"; a {'stable' if cycle_of[i].stable else 'unstable'} limit cycle of period "
                     f"{cycle_of[i].period:.4g}")
        doc.summarize(f"fixed points, {c}", said)
        cells: list[Any] = [c, int(row.n_stable[0]), int(row.n_saddles[0]), int(row.n_other_unstable[0]),
                            int(row.n_slow[0])]
        if multistable:
            cells += [f"{int(row.n_patterns[0])} of {2 ** found.readouts[i].shape[-1]}",
                      "-" if math.isnan(float(row.pattern_error[0])) else f"{float(row.pattern_error[0]):.3f}",
                      f"{int(row.n_joining[0])} ({int(row.n_one_flip[0])} one output apart)"]
        if cycle_of:
            cycle = cycle_of.get(i)
            cells.append("-" if cycle is None else
                         f"period {cycle.period:.4g} ({'stable' if cycle.stable else 'unstable'})")
        rows.append(tuple(cells))
    header = ["condition", "stable", "saddles (1 unstable)", "other unstable", "slow points"]
    if multistable:
        header += ["output patterns of the stable points", "max |y - sign y| at stable points",
                   "saddles whose branches join two stable points"]
    if cycle_of:
        header.append("limit cycle")
    doc.add_table(rows, tuple(header))
    for i, c in enumerate(found.conditions):
        stable = found.fixed_points[i].stable.nonzero().flatten().tolist()
        if stable and len(stable) <= 16:
            doc.add_text(f"{c}: the readouts of the {len(stable)} stable point(s).")
            doc.add_table([(f"#{k}", short_value([round(float(v), 3) for v in found.readouts[i][k]]))
                           for k in stable], ("point", "readout y"))
        graph = found.manifolds[i].connections()
        if graph:
            y = found.readouts[i]
            lines = []
            for saddle, ends in list(graph.items())[:24]:
                reached = [e for e in ends if e >= 0]
                apart = int((torch.sign(y[reached[0]]) != torch.sign(y[reached[1]])).sum()) \
                    if len(reached) == 2 and reached[0] != reached[1] else None
                lines.append((f"#{saddle}", short_value([round(float(v), 3) for v in y[saddle]]),
                              ", ".join(f"#{e}" if e >= 0 else "none" for e in ends),
                              "-" if apart is None else apart))
            doc.add_text(f"{c}: where the two branches of each saddle with one unstable direction end.")
            doc.add_table(lines, ("saddle", "its readout", "branches end on", "outputs whose sign differs"))


def _cycle_section(doc: Report, found: TaskFixedPoints, task: Any) -> None:
    if not found.cycles:
        return
    doc.section("Limit cycles", "Conditions whose trials do not settle on a fixed point: the periodic orbit they "
                                "approach (Newton shooting), with its Floquet multipliers.")
    rows = []
    for cycle, c in zip(found.cycles, found.cycle_conditions):
        target = sine_period(task, found.conditions[c])
        error = "-" if target is None else f"{100 * (cycle.period - target) / target:+.2f}%"
        rows.append((found.conditions[c], f"{cycle.period:.6g}", "-" if target is None else f"{target:.6g}", error,
                     "stable" if cycle.stable else "unstable", f"{float(cycle.floquet_multipliers[1].abs()):.4f}"))
    doc.add_table(rows, ("condition", "period", "asked-for period", "period error", "stability",
                         "largest non-trivial |multiplier|"))


def sine_period(task: Any, condition: str) -> float | None:
    """The period ``1 / f`` a :class:`~ctrnn.tasks.SineGenerator` asks for in ``condition`` (``None`` for other
    tasks)."""
    if not isinstance(task, SineGenerator):
        return None
    for f, key in zip(task.frequencies, task.conditions()):
        if key == condition:
            return 1.0 / float(f)
    return None


#: a condition's slow points form a line where at least this many hold this share of their variance on one
_LINE_POINTS, _LINE_FRACTION = 10, 0.9


def _slow_mode_section(doc: Report, found: TaskFixedPoints, task: Any) -> None:
    duration = float(getattr(task, "dt", 1.0)) * found.states.shape[0]
    slow = [i for i, modes in enumerate(found.slow) if len(modes) and (
        float(modes.time_constants.median()) >= duration or (len(modes) >= _LINE_POINTS and
                                                             modes.line_fraction >= _LINE_FRACTION))]
    if not slow:
        return
    m = found.inputs.shape[-1]
    doc.section("Slow modes", f"Conditions whose fixed and slow points lie along one line (at least {_LINE_POINTS} "
                              f"of them, {_LINE_FRACTION:.0%} of their variance on it), or have a mode slower than a "
                              f"whole trial ({duration:g} time units): along it the state is held, as on a line "
                              "attractor. For each point, the slow eigenvalue's left eigenvector l is the selection "
                              "vector (Mante et al. 2013); |l^T dg/du_j| is how strongly input j moves the state "
                              "along the line.")
    rows = []
    for i in slow:
        modes = found.slow[i]
        proj = modes.mean_projections()
        rows.append((found.conditions[i], len(modes), f"{modes.line_fraction:.1%}" if len(modes) >= 2 else "-",
                     f"{float(modes.time_constants.median()):.3g}", f"{int(modes.others_stable.sum())} of {len(modes)}",
                     *(f"{float(p):.3g}" for p in proj)))
    doc.add_table(rows, ("condition", "points", "variance along one line", "median slow time constant",
                         "every other mode stable", *(f"input {j}" for j in range(m))))
    for i in slow:
        doc.add_figure(found.slow[i].plot(title=found.conditions[i]), f"{found.conditions[i]}: slow time constants "
                       "along the line, and each input's mean projection on the selection vector.")
