"""``ctrnn sweep``: the largest exponent, entropy and dimension against a model parameter, over several networks."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._defaults import LYAPUNOV_DEFAULTS, lyapunov_options
from cli._options import FLAG, ModelOpt, Shared, flag, shared_options
from cli._parse import parse_count, parse_values

RUN_NAME = re.compile(r"v(\d+)_s(\d+)\.safetensors")


def finished_runs(runs: Path, identity: Callable[[int, int], dict[str, Any]], n_values: int,
                  n_seeds: int) -> dict[tuple[int, int], Any]:
    """The finished runs of an interrupted sweep, each proven to be the run this sweep would make: named
    ``v{i}_s{j}.safetensors`` within the grid, a Lyapunov spectrum that ctrnn's sweep wrote, and the same value,
    seed, network tensors, initial states and options (content hashes). Anything else in ``runs/`` is refused,
    naming the file and what differs: a resumed sweep never reports another run under this run's name."""
    import ctrnn

    completed = {}
    for path in sorted(runs.iterdir()):
        found = RUN_NAME.fullmatch(path.name)
        if found is None or not path.is_file():
            raise ValueError(f"{path} is not a run of this sweep (runs are v<value>_s<seed>.safetensors); move it out "
                             "of runs/ to resume")
        i, j = int(found.group(1)), int(found.group(2))
        if i >= n_values or j >= n_seeds:
            raise ValueError(f"{path} is outside this sweep's grid ({n_values} values x {n_seeds} seeds)")
        res = ctrnn.load(path)
        stored = res.metadata.get("sweep_run") if isinstance(res, ctrnn.LyapunovSpectrum) else None
        if not isinstance(stored, dict):
            raise ValueError(f"{path} is not a run written by ctrnn sweep (a {type(res).__name__}); move it out of "
                             "runs/ to resume")
        expected = {"index": [i, j], **identity(i, j)}
        differs = [key for key in expected if stored.get(key) != expected[key]]
        if differs:
            raise ValueError(f"{path} is a different run (it differs in: {', '.join(differs)}); it cannot be reused: "
                             "delete it or resume into the sweep it belongs to")
        completed[(i, j)] = res
    return completed


Parameter = flag("sweep.parameter", str, "Model parameter to sweep, e.g. model.g.")
Values = flag("sweep.values", str, "START:STOP:COUNT, or a comma-separated list.", convert=parse_values)
Seeds = flag("sweep.seeds", int, "Number of networks (seeds 0..S-1) per value.", convert=parse_count)
Resume = Annotated[bool, typer.Option("--resume", metavar=FLAG,
                                         help="Continue a sweep in --out, skipping finished runs.")]


@shared_options(ModelOpt, Parameter, Values, Seeds, defaults=LYAPUNOV_DEFAULTS)
def sweep(opts: Shared, resume: Resume = False) -> None:
    """Sweep a model parameter (default: the gain g of a random rate network) and measure the largest exponent,
    entropy and Kaplan-Yorke dimension at each value, over several networks. Writes each run as it finishes."""
    import ctrnn
    from ctrnn.setup import place, random_states, resolve_torch
    from ctrnn.systems import model_parameters

    if resume and opts.given():
        raise ValueError("--resume takes every setting from the sweep's own config.toml; give only --out (and "
                         "--quiet)")
    folder = opts.folder("sweep", resume=resume)
    cfg = opts.resolve(LYAPUNOV_DEFAULTS, config=folder.config if resume else None)
    spec, lspec, kind = cfg["sweep"], cfg["lyapunov"], cfg["model"]["kind"]
    key = spec["parameter"]
    if not key.startswith("model.") or key == "model.kind":
        raise ValueError(f"sweep.parameter must name a model parameter (model.NAME), got {key!r}")
    name = key[len("model."):]
    if name not in model_parameters(kind):
        raise ValueError(f"model {kind!r} has no parameter {name!r}; choose one of: {', '.join(model_parameters(kind))}")
    if not spec["values"] or not spec["seeds"]:
        raise ValueError("sweep.values and sweep.seeds must not be empty")
    options = lyapunov_options(lspec, is_map=False)  # ranges (sweep.networks_per_solve, sweep.seeds...): BOUNDS
    dev, dt = resolve_torch(cfg["device"], cfg["dtype"])
    params = {k: v for k, v in cfg["model"].items() if k != "kind"}

    def build(value: float, net_seed: int) -> Any:
        return place(ctrnn.build_system(kind, {**params, name: value}, seed=net_seed), dev, dt)

    def x0(obj: Any, net_seed: int) -> Any:
        return random_states(obj, net_seed, lspec["batch"], lspec["x0_scale"], dev, dt)

    def identity(i: int, j: int) -> dict[str, Any]:
        """What makes run (i, j) that run: its value and seed, and its network's tensors and initial states."""
        value, net_seed = float(spec["values"][i]), int(spec["seeds"][j])
        model = build(value, net_seed)
        return {"value": value, "seed": net_seed, "model": ctrnn.io.content_digest(model),
                "x0": ctrnn.io.content_digest(x0(model, net_seed)), "options": json_options}

    json_options = {k: v for k, v in options.items() if isinstance(v, (int, float, str, bool, type(None)))}
    x0(build(spec["values"][0], spec["seeds"][0]), spec["seeds"][0])  # a bad parameter or batch fails here
    folder.create(cfg)  # with --resume: the sweep's own folder and config, kept
    runs = folder.folder("runs")
    completed = finished_runs(runs, identity, len(spec["values"]), len(spec["seeds"])) if resume else {}

    def keep(i: int, j: int, res: Any) -> None:
        marked = dataclasses.replace(res, metadata={**res.metadata, "sweep_run": {"index": [i, j], **identity(i, j)}})
        marked.save(str(folder.file(f"runs/v{i}_s{j}.safetensors", listed=False)))

    result = ctrnn.sweep(build, spec["values"], parameter=name, seeds=spec["seeds"], x0=x0, on_result=keep,
                         completed=completed, networks_per_solve=spec["networks_per_solve"], progress=not opts.quiet,
                         **options)
    folder.save(result, "sweep")
    folder.figure(result.plot(), "sweep")
    folder.finish(*([f"resumed: {len(completed)} finished run(s) reused"] if completed else []), result.summary())
