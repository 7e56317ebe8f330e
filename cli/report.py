"""``ctrnn report``: one self-contained HTML report of a model, end to end (and of a trained model, its task)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cli._defaults import BASE
from cli._options import ModelFileOpt, ModelOpt, PdfOpt, QuickOpt, Shared, flag, shared_options
from cli._run_folder import command_line

DEFAULTS: dict[str, Any] = {
    **BASE,
    "model": {"kind": "beer"},
    # t_end 0: 100 time units (30 with --quick); input: a constant input (empty: none)
    "report": {"batch": 8, "x0_scale": 1.0, "t_end": 0.0, "input": []},
}

TaskOpt = flag("task.name", str, "The task a trained model (--model-file from `ctrnn train`) was trained on: adds "
               "its sections (score, trials, training curves, fixed points per condition, saddles, slow modes). Its "
               "parameters are the training run's (config.toml beside the model file) unless --set task.KEY=VALUE.",
               "--task", "-t")


def _task_keys(opts: Shared) -> tuple[dict[str, Any], bool]:
    """The task keys the options give (``--task``, ``--set task.*``, a ``[task]`` in ``--config``), and whether
    ``--config`` has a ``[task]``."""
    from ctrnn.config import overrides, read_toml

    layer = overrides(opts.sets or [], {k: v for k, v in opts.flags.items() if k.startswith("task.")})
    from_file = read_toml(opts.config).get("task") if opts.config is not None and opts.config.is_file() else None
    return {**(from_file if isinstance(from_file, dict) else {}), **layer.get("task", {})}, from_file is not None


def _asked_task(opts: Shared) -> tuple[bool, str | None]:
    """Whether the options ask for a task and the name they give it, if any."""
    task, in_config = _task_keys(opts)
    return bool(task or in_config), task.get("name")


def _stored_task(model_file: Path | None, name: str | None) -> dict[str, Any]:
    """The task section the report starts from: the training run's (``config.toml`` beside ``model_file``) when it
    is of task ``name`` (or no name is given), else the task ``name`` at its defaults.

    Raises:
        ValueError: no task name given and none beside the model file.
    """
    stored = _training_task(model_file)
    if stored is not None and (name is None or stored["name"] == name):
        return stored
    if name is None:
        raise ValueError("name the task the model was trained on with --task NAME (see `ctrnn tasks`)")
    return {"name": name}


def _training_task(model_file: Path | None) -> dict[str, Any] | None:
    """The ``[task]`` of the training run's ``config.toml`` beside ``model_file``, if there is one."""
    from ctrnn.config import read_toml

    beside = Path(model_file).with_name("config.toml") if model_file is not None else None
    stored = read_toml(beside).get("task") if beside is not None and beside.is_file() else None
    return dict(stored) if isinstance(stored, dict) and "name" in stored else None


def _defaults_notice(opts: Shared, model_file: Path, task_name: str) -> str | None:
    """What to tell the user when the task's settings are its defaults, not the training run's (no config.toml
    of that task beside the model file, and none given): a network trained otherwise scores as if untrained."""
    stored = _training_task(model_file)
    if stored is not None and stored["name"] == task_name:
        return None
    if set(_task_keys(opts)[0]) - {"name"}:  # settings given: the user chose them
        return None
    where = (f"its config.toml is of task {stored['name']!r}" if stored is not None else
             f"no config.toml beside {Path(model_file).name}")
    return (f"task {task_name} at its default settings ({where}): if the model was trained with others, give them "
            f"with --set task.KEY=VALUE (`--keys` lists them)")


def _resolve(opts: Shared, model_file: Path | None = None) -> dict[str, Any]:
    """The report's config; with a task asked for, its section starts from the training run's own."""
    asked, name = _asked_task(opts)
    if not asked:
        return opts.resolve(DEFAULTS, model_file=model_file)
    return opts.resolve({**DEFAULTS, "task": _stored_task(model_file, name)}, model_file=model_file)


@shared_options(ModelOpt, TaskOpt, defaults=DEFAULTS, resolver=_resolve)
def report(opts: Shared, model_file: ModelFileOpt = None, quick: QuickOpt = False, pdf: PdfOpt = False) -> None:
    """Analyse a model or a saved map end to end and write one self-contained HTML report (trajectories, phase
    portrait or principal components, fixed points, cycles, basins, eigenvalues, Lyapunov spectrum, gradients,
    discretization); with --task, a trained model's task sections too."""
    import ctrnn
    from ctrnn.setup import build_model_and_states, build_task, constant_input

    folder = opts.folder("report")
    cfg = _resolve(opts, model_file)  # records the file, not the defaults
    spec = cfg["report"]
    if not spec["t_end"]:  # 0 stands for the survey's own length: record (and show) the length it runs
        spec["t_end"] = (ctrnn.SurveySettings.quick() if quick else ctrnn.SurveySettings()).t_end
    task = training = notice = None
    if "task" in cfg:
        if model_file is None:
            raise ValueError("--task reports a trained model: give its file with --model-file (the model.safetensors "
                             "that `ctrnn train` writes)")
        task = build_task(cfg)
        notice = _defaults_notice(opts, model_file, cfg["task"]["name"])
    system, x0 = build_model_and_states(cfg, spec["batch"], spec["x0_scale"])
    if task is not None:
        from ctrnn.reports import check_task_model

        try:
            check_task_model(system, task)  # before the folder is made
        except TypeError as exc:  # here a user's file, not a caller's bug: one line, exit 2
            raise ValueError(str(exc)) from None
        beside = Path(model_file).with_name("training.safetensors")
        training = _training_run(beside, system)
    folder.create(cfg)
    if notice:  # before the long work, and whatever --quiet says: the score below depends on it
        print(f"warning: {notice}", file=sys.stderr, flush=True)
    html = folder.file("report.html")
    ctrnn.report(system, html, x0=x0, inputs=constant_input(spec["input"], system), seed=cfg["seed"], quick=quick,
                 t_end=spec["t_end"], command=command_line(), config=cfg, pdf=pdf, task=task,
                 training=training, log=folder.log, task_note=notice)
    if pdf:
        folder.file("report.pdf")
    folder.finish(f"report: {html}" + (f" and {folder.path / 'report.pdf'}" if pdf else ""))


def _training_run(path: Path, model: Any) -> Any:
    """The training run saved beside the model file, when there is one and it trained this very model (the same
    tensors); else ``None``."""
    import torch

    import ctrnn

    if not path.is_file():
        return None
    run = ctrnn.load(path)
    if not isinstance(run, ctrnn.TrainingRun):
        return None
    mine, theirs = model.state_dict(), run.model.state_dict()
    same = mine.keys() == theirs.keys() and all(torch.equal(mine[k].cpu(), theirs[k].to(mine[k].dtype).cpu())
                                                 for k in mine)
    return run if same else None
