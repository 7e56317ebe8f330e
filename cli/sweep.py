"""``ctrnn sweep``: the largest exponent, entropy and dimension against a model parameter, over several networks."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli._defaults import LYAPUNOV_DEFAULTS, lyapunov_options
from cli._options import FLAG, ModelOpt, Shared, flag, shared_options
from cli._parse import parse_count, parse_values


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

    folder = opts.folder("sweep", resume=resume)
    cfg = opts.resolve(LYAPUNOV_DEFAULTS)
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

    x0(build(spec["values"][0], spec["seeds"][0]), spec["seeds"][0])  # a bad parameter or batch fails here
    folder.create(cfg)  # with --resume: the sweep's own folder and config, kept
    runs = folder.folder("runs")
    completed = {}
    for path in runs.glob("v*_s*.safetensors"):  # finished runs of an interrupted sweep
        i, j = (int(part[1:]) for part in path.stem.split("_"))
        completed[(i, j)] = ctrnn.load(path)

    def keep(i: int, j: int, res: Any) -> None:
        res.save(str(runs / f"v{i}_s{j}.safetensors"))

    result = ctrnn.sweep(build, spec["values"], parameter=name, seeds=spec["seeds"], x0=x0, on_result=keep,
                         completed=completed, networks_per_solve=spec["networks_per_solve"], progress=not opts.quiet,
                         **options)
    folder.save(result, "sweep")
    folder.figure(result.plot(), "sweep")
    folder.finish(*([f"resumed: {len(completed)} finished run(s) reused"] if completed else []), result.summary())
