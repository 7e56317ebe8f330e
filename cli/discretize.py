"""``ctrnn discretize``: a model's discrete map, and every scheme's error against the continuous solution."""

from __future__ import annotations

import json
from typing import Any

from cli._defaults import BASE
from cli._options import ModelOpt, Shared, flag, shared_options

DEFAULTS: dict[str, Any] = {
    **BASE,
    "discretize": {"scheme": "euler", "dt": 0.1, "t_end": 10.0, "batch": 4, "x0_scale": 1.0,
                   "schemes": [], "dts": [0.2, 0.1, 0.05, 0.025], "rtol": 1e-10, "atol": 1e-10},
    "input": {"kind": "none", "amplitude": 1.0, "start": 2.0, "stop": 5.0},
}
#: compared by default: every applicable scheme whose state is the continuous state x(t_k)
#: (foh's and impulse's states are shifted realisations; gbt needs alpha)
STUDY_EXCLUDED = {"foh", "impulse", "gbt"}


Scheme = flag("discretize.scheme", str, "Scheme of the map to write (euler, zoh, ...).")
Dt = flag("discretize.dt", float, "Step of the map (time constants).")
TEnd = flag("discretize.t_end", float, "Span of the error study.")


@shared_options(ModelOpt, Scheme, Dt, TEnd, defaults=DEFAULTS)
def discretize(opts: Shared) -> None:
    """Discretize a model: write the map's parameters, the error of every scheme against the continuous
    solution (with fitted orders) and plots of both."""
    import torch

    import ctrnn
    from ctrnn.analysis.accuracy import SLOPE_AGREEMENT, successive_slopes
    from ctrnn.discretize import applicable_schemes
    from ctrnn.plot import plot_rollouts
    from ctrnn.setup import build_input, build_model_and_states, check_size

    folder = opts.folder("discretize")
    cfg = opts.resolve(DEFAULTS)
    spec = cfg["discretize"]  # ranges: BOUNDS
    system, x0 = build_model_and_states(cfg, spec["batch"], spec["x0_scale"])
    # the continuous solution is plotted on 20 points per step of the map (see below)
    check_size((20 * spec["t_end"] / spec["dt"] + 1) * x0.numel(), "the plotted continuous solution (20 x "
               "discretize.t_end / discretize.dt time points x batch x n)",
               "raise discretize.dt or lower discretize.t_end")
    check_size((spec["t_end"] / min(spec["dts"] or [spec["dt"]]) + 1) * x0.numel(), "the error study's reference "
               "(discretize.t_end / min(discretize.dts) time points x batch x n)", "use larger discretize.dts")
    valid = applicable_schemes(system)
    schemes = spec["schemes"] or [s for s in valid if s not in STUDY_EXCLUDED]
    dmap = ctrnn.discretize(system, spec["dt"], scheme=spec["scheme"])  # bad names fail before files are written
    inputs = build_input(cfg["input"], system, spec["t_end"])
    folder.create(cfg)
    folder.save(dmap, "map")
    study = ctrnn.discretization_error(system, x0, spec["t_end"], schemes=schemes, dts=spec["dts"], inputs=inputs,
                                       rtol=spec["rtol"], atol=spec["atol"])
    summary = {"scheme": getattr(dmap, "scheme", spec["scheme"]), "dt": spec["dt"], "model": system.describe(),
               "map": type(dmap).__name__, "applicable_schemes": valid,
               "parameters": {k: list(v.shape) for k, v in dmap.state_dict().items()}, "orders": study.orders,
               "asymptotic": study.asymptotic, "diverged": study.diverged}
    folder.file("map.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    folder.save(study, "errors")
    folder.figure(study.plot(), "error_vs_dt")

    # the continuous solution against each scheme's rollout at the chosen dt
    steps = round(spec["t_end"] / spec["dt"])
    grid = torch.linspace(0.0, steps * spec["dt"], steps + 1, dtype=torch.float64)
    fine = torch.linspace(0.0, float(grid[-1]), 20 * steps + 1, dtype=torch.float64)
    with torch.no_grad():
        cont = ctrnn.simulate(system, x0, fine, inputs=inputs, rtol=spec["rtol"], atol=spec["atol"])
        u_steps = None if inputs is None else inputs.sample(grid[:-1].to(cont.t.dtype))
        rollouts = {name: (grid[1:], ctrnn.discretize(system, spec["dt"], scheme=name).rollout(
            cont.x[0], u_steps, steps=steps if u_steps is None else None)) for name in schemes}
    folder.figure(plot_rollouts(cont.t, cont.x, rollouts, title=f"{system.describe()}\nrollouts at dt = {spec['dt']:g}"),
                  "rollouts")

    j = min(range(len(spec["dts"])), key=lambda k: abs(spec["dts"][k] - spec["dt"]))
    rows = [f"{name:16s} {study.order_text(name):>22s} {float(study.max_errors[i, j]):22.3e}"
            for i, name in enumerate(study.schemes)]
    warnings = [f"warning: {name}'s order is not from the asymptotic regime (successive slopes "
                f"{', '.join(f'{v:.2f}' for v in successive_slopes(study.dts.tolist(), study.max_errors[i].tolist(), study.floor))}"
                f" differ by more than {SLOPE_AGREEMENT:g}); use smaller discretize.dts"
                for i, name in enumerate(study.schemes) if study.orders[name] is not None and not study.asymptotic[name]]
    warnings += [f"warning: {name}: {note}" for name, note in study.notes.items()]
    folder.finish(system.describe(), f"{'scheme':16s} {'order':>22s} {'max error at dt=' + format(spec['dts'][j], 'g'):>22s}",
                  *rows, *warnings)
