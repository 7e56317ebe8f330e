"""What the trained-network experiments share: train networks on the experiment's task, then reverse-engineer
them, then report (public API only)."""

from __future__ import annotations

from typing import Any, Callable

import torch

import ctrnn
from ctrnn import Report
from ctrnn.mechanisms import TopologyComparison, compare_topologies, task_fixed_points

from . import within


def build_task(cfg: dict[str, Any]) -> Any:
    """The experiment's task: ``[task]`` holds its name and parameters, as ``ctrnn train``'s config does."""
    return ctrnn.setup.build_task({"task": cfg["task"]})


def train(cfg: dict[str, Any], task: Any, architecture: str, seed: int, log: Callable[[str], None]) -> ctrnn.TrainingRun:
    """One network of ``architecture`` (``rate``, ``gru``, ``lstm``, any model name) with ``settings.n`` units (and
    the parameters of ``[model]``, where the config has one), trained on ``task`` with the ``[training]`` options
    and ``seed``."""
    s = cfg["settings"]
    param = ctrnn.setup.model_input_parameter(architecture)
    network = ctrnn.build_system(architecture, {"n": s["n"], param: task.input_dim, **cfg.get("model", {})}, seed=seed)
    options = dict(cfg["training"])
    log(f"training {architecture}, seed {seed}")
    return ctrnn.train(network.to(torch.get_default_dtype()), task, seed=seed, progress=True, **options)


def report_trained(cfg: dict[str, Any], run: ctrnn.TrainingRun, task: Any, log: Callable[[str], None],
                   title: str) -> Report:
    """The trained-model report of ``run``'s network (the standard survey, then the task sections)."""
    log("reverse-engineering and reporting the first network")
    doc = ctrnn.report(run.model, task=task, training=run, seed=cfg["seed"], quick=cfg["quick"], title=title,
                       log=within(log))
    if cfg["quick"]:  # a reader must not take the quick network's points for the trained mechanism
        doc.summarize("quick size", f"trained {len(run.steps)} steps only ({run.score_name} {run.final_score:.3g}): the "
                                    "analyses show the pipeline at work, not the mechanism of a network that has "
                                    "learnt the task (run without --quick for that)")
    return doc


def universality(cfg: dict[str, Any], task: Any, doc: Report, log: Callable[[str], None],
                 first: ctrnn.TrainingRun | None = None) -> TopologyComparison:
    """Train every architecture of ``settings.architectures`` with every seed of ``settings.seeds``, find each
    one's fixed points, and add their comparison (Maheswaranathan et al. 2019) to ``doc``. ``first`` is the run of
    the first architecture and seed when it is already trained."""
    s = cfg["settings"]
    results, scores = {}, {}
    for architecture in s["architectures"]:
        for seed in s["seeds"]:
            name = f"{architecture} seed {seed}"
            run = first if (first is not None and not results) else train(cfg, task, architecture, seed, log)
            log(f"fixed points of {name}")
            results[name] = task_fixed_points(run, task, trials=s["analysis_trials"], starts=s["analysis_starts"],
                                              seed=seed, progress=True)
            scores[name] = run.final_score
    comparison = compare_topologies(results, scores=scores, score_name=getattr(task, "score_name", "score"))
    doc.section("Universality: one task, several networks",
                f"{len(results)} networks ({', '.join(s['architectures'])}; seeds {', '.join(map(str, s['seeds']))}), "
                f"each trained on the same task and analysed the same way in the condition '{comparison.condition}'. "
                "Maheswaranathan et al. (2019) found that networks of different architectures trained on one task "
                "share its fixed-point topology while their geometry differs.")
    doc.add_code(comparison.table())
    doc.add_figure(comparison.plot(), "Each network's fixed points by kind, and how far its stable points' outputs "
                                      "lie from their output patterns.")
    same = len({(int(a), int(b), int(c)) for a, b, c in zip(comparison.n_stable, comparison.n_patterns,
                                                           comparison.n_one_flip)}) == 1
    doc.summarize("universality", f"{len(results)} networks: stable points "
                  f"{', '.join(str(int(v)) for v in comparison.n_stable)}; output patterns "
                  f"{', '.join(str(int(v)) for v in comparison.n_patterns)}; "
                  + ("the same topology in every network" if same else "topologies differ (see the table)"))
    return comparison


def run_one(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    """An experiment of one trained network (``settings.architecture``, the config's seed): train it, then its
    trained-model report."""
    task = build_task(cfg)
    trained = train(cfg, task, cfg["settings"]["architecture"], cfg["seed"], log)
    return report_trained(cfg, trained, task, log, cfg["experiment"]["title"])
