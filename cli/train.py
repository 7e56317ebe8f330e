"""``ctrnn train``: train a network and its readout on a task; ``ctrnn tasks``: the tasks there are."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli._defaults import BASE
from cli._options import FLAG, ModelOpt, Shared, dotted_items, flag, shared_options, toml_value

DEFAULTS: dict[str, Any] = {
    **BASE,
    # training runs in float32 by default, as the field does (twice the speed of float64 on a CPU); --dtype float64
    "dtype": "float32",
    # the model's number of inputs (n_inputs, m or d) is the task's unless set here
    "model": {"kind": "rate"},
    # name and the task's parameters (see `ctrnn tasks`)
    "task": {"name": "flipflop"},
    # see ctrnn.train: schedule "none" | "cosine" | "exponential"; loss "task" (the task's own) | "mse" |
    # "cross_entropy"; clip_grad_norm 0: no clipping; source "auto" (rates for a rate network, else the state);
    # through "map" (BPTT through the scheme's map, the fast default) or "simulate" (method, rtol, atol, adjoint);
    # validation_trials: the held-out trials scored every validate_every steps and at the end
    "training": {"steps": 2000, "batch_size": 64, "lr": 1e-3, "optimizer": "adam", "schedule": "none",
                 "lr_final": None, "weight_decay": 0.0, "clip_grad_norm": 1.0, "loss": "task", "l2_rates": 0.0,
                 "l2_weights": 0.0, "through": "map", "scheme": "euler", "method": "rk4", "adjoint": False,
                 "rtol": 1e-6, "atol": 1e-8, "source": "auto", "validate_every": 50, "validation_trials": 1000,
                 "target_score": None, "track_every": 0, "tracking_trials": 16, "checkpoint_every": 100},
    # example_trials: trials drawn in the example-trials figure
    "output": {"example_trials": 4},
}

Task = flag("task.name", str, "Task (see `ctrnn tasks`).", "--task", "-t")
N = flag("model.n", int, "Number of units.")
Steps = flag("training.steps", int, "Optimizer steps.")
BatchSize = flag("training.batch_size", int, "Trials per step.")
Lr = flag("training.lr", float, "Learning rate.")
TargetScore = flag("training.target_score", float, "Stop once the held-out score reaches this.")
Resume = Annotated[bool, typer.Option("--resume", metavar=FLAG,
                                         help="Continue an interrupted run in --out from its last checkpoint (the "
                                              "options given, if any, must resolve to the run's own config).")]


def _resolve(opts: Shared, config: Path | None = None) -> dict[str, Any]:
    """The run's config. The model's number of inputs defaults to the task's: a first pass finds the task and the
    model's kind, and the second resolves over defaults that hold that number."""
    from ctrnn.setup import build_task, model_input_parameter

    first = opts.resolve(DEFAULTS, config=config)
    task = build_task(first)
    param = model_input_parameter(first["model"]["kind"]) if "kind" in first["model"] else None
    if param is None:
        return first
    defaults = {**DEFAULTS, "model": {"kind": first["model"]["kind"], param: task.input_dim}}
    return opts.resolve(defaults, config=config)


def _differences(stored: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """``key (run: a, asked: b)`` for each config key whose values differ."""
    a, b = dict(dotted_items(stored)), dict(dotted_items(asked))
    return [f"{k} (run: {toml_value(a.get(k))}, asked: {toml_value(b.get(k))})"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def training_options(spec: dict[str, Any]) -> dict[str, Any]:
    """``ctrnn.train`` keyword arguments from the config's ``training`` section."""
    options = dict(spec)
    options["schedule"] = None if spec["schedule"] == "none" else spec["schedule"]
    options["loss"] = None if spec["loss"] == "task" else spec["loss"]
    options["source"] = None if spec["source"] == "auto" else spec["source"]
    options["clip_grad_norm"] = spec["clip_grad_norm"] or None
    return options


@shared_options(Task, ModelOpt, N, Steps, BatchSize, Lr, TargetScore, defaults=DEFAULTS, resolver=_resolve)
def train(opts: Shared, resume: Resume = False) -> None:
    """Train a network (any model, default a rate network) and a linear readout on a task by backpropagation
    through time. Writes the trained model (model.safetensors, for every analysis verb's --model-file), the
    training curves, example trials (outputs against targets), the run (training.safetensors) and the resolved
    config; checkpoints as it goes, so an interrupted run continues with --resume --out DIR."""
    import ctrnn
    from ctrnn.setup import build_model, build_task

    folder = opts.folder("train", resume=resume)
    if resume:
        cfg = _resolve(Shared(), config=folder.config)  # the run's own config, as it was written
        if opts.given():  # the same command again with --resume: it must describe this very run
            differs = _differences(cfg, _resolve(opts))
            if differs:
                raise ValueError(f"--resume: {folder.path} holds a run of another config; these keys differ: "
                                 f"{'; '.join(differs)}. Give only --out (and --quiet) to continue it as it was")
    else:
        cfg = _resolve(opts)
    task, model = build_task(cfg), build_model(cfg)
    options = training_options(cfg["training"])
    ctrnn.training.check_training(model, task, seed=cfg["seed"], **options)  # before any file is written
    folder.create(cfg)
    checkpoint = folder.file(ctrnn.training.CHECKPOINT, listed=False)  # recorded before train writes it
    resumed_at = int(ctrnn.io.read_header(checkpoint).meta["step"]) if resume and checkpoint.is_file() else None
    try:
        run = ctrnn.train(model, task, path=folder.path, resume=resumed_at is not None, seed=cfg["seed"],
                          progress=not opts.quiet, **options)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; the last checkpoint is in {checkpoint}; continue with: "
                   f"ctrnn train --resume --out {folder.path}", err=True)
        raise typer.Exit(130) from None
    run.model.save(str(folder.file("model.safetensors")))
    folder.save(run, "training")
    folder.figure(run.plot(), "training")
    examples = cfg["output"]["example_trials"]
    if examples:
        batch = task.sample(examples, ctrnn.training.trial_generator(cfg["seed"], "examples"))
        folder.figure(batch.plot(outputs=run.respond(batch)[1], trials=examples), "trials")
    done = [f"resumed at step {resumed_at} of {options['steps']}, from the last checkpoint"]
    folder.finish(*(done if resumed_at is not None else []), run.model.describe(), run.summary())


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}{'' if k == 1 else 's'}"


def tasks() -> None:
    """List the built-in tasks: what each asks of a network, its inputs and outputs, and its parameters (for
    --set task.NAME=VALUE) with their defaults."""
    import ctrnn
    from ctrnn.setup import task_parameters

    for name in ctrnn.tasks.TASKS:
        cls = ctrnn.tasks.TASKS[name]
        task = cls()
        params = ", ".join(f"{k}={toml_value(v)}" for k, v in task_parameters(name).items())
        typer.echo(f"{name:12s} {cls.description} ({_count(task.input_dim, 'input')}, "
                   f"{_count(task.output_dim, 'output')}; scored by {cls.score_name})")
        typer.echo(f"{'':12s} {params}")
