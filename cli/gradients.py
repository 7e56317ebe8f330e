"""``ctrnn gradients``: how gradients propagate back through a model, or several side by side."""

from __future__ import annotations

from pathlib import Path

from cli._defaults import LYAPUNOV_DEFAULTS
from cli._options import ModelFileOpt, ModelOpt, Shared, flag, shared_options
from cli._parse import parse_list


Horizon = flag("gradients.horizon", float, "Largest lag (time units; iterations for a map).")
Compare = flag("gradients.compare", str, "Comma-separated model names to put on one plot, e.g. rate,gru,lstm,lru.",
               convert=parse_list)
Scheme = flag("gradients.scheme", str, "auto (each model's standard update), flow (through RK4), or a scheme name; "
              "the step is gradients.step.")


@shared_options(ModelOpt, Horizon, Compare, Scheme, defaults=LYAPUNOV_DEFAULTS)
def gradients(opts: Shared, model_file: ModelFileOpt = None) -> None:
    """Gradient propagation: norms and singular values of d x_T / d x_(T-k) against the lag, with the fitted rate."""
    import ctrnn
    from ctrnn.setup import NATURAL_SCHEMES, build_model_and_states, check_gradient_targets, gradient_results

    folder = opts.folder("gradients")
    cfg = opts.resolve(LYAPUNOV_DEFAULTS, model_file=model_file)  # records the file, not the defaults
    spec, lspec = cfg["gradients"], cfg["lyapunov"]
    from_file = "file" in cfg["model"]  # --model-file, or a config that recorded one
    if from_file and spec["compare"]:
        raise ValueError("--compare takes built-in model names; drop --model-file (or --compare)")
    names = spec["compare"] or [Path(cfg["model"]["file"]).stem if from_file else cfg["model"]["kind"]]
    targets = {}
    for name in names:  # every model is built before any file is written
        if from_file:
            obj, x0 = build_model_and_states(cfg, lspec["batch"], lspec["x0_scale"])
        else:  # the config's model parameters are for its own model only
            params = cfg["model"] if name == cfg["model"]["kind"] else {"kind": name}
            obj, x0 = build_model_and_states({**cfg, "model": params}, lspec["batch"], lspec["x0_scale"])
        chosen = NATURAL_SCHEMES.get(name) if spec["scheme"] == "auto" else spec["scheme"]  # None: the flow
        if chosen and chosen != "flow" and isinstance(obj, ctrnn.System):
            obj = ctrnn.discretize(obj, spec["step"], scheme=chosen)
        targets[name] = (obj, x0)
    check_gradient_targets(targets, spec["horizon"], lspec["dt"], spec["part"])  # before any file is written
    folder.create(cfg)
    results = gradient_results(targets, spec["horizon"], spec["t_transient"], lspec["dt"], spec["part"],
                               progress=not opts.quiet)
    for label, res in results.items():
        folder.save(res, "gradients_" + "".join(ch if ch.isalnum() else "_" for ch in label).strip("_"))
    folder.figure(ctrnn.compare_gradient_propagation(results), "gradients")
    folder.finish(*(f"{label:24s} {res.summary()}" for label, res in results.items()))
