"""Vanishing and exploding gradients: ||d x_T / d x_(T-k)|| against the lag k for a vanilla RNN (the rate
network's Euler map, exactly torch.nn.RNN), a GRU, an LSTM (through h and through its cell path) and state-space
models (LRU and a selective SSM, by their ZOH updates), each by its standard discrete update."""

from __future__ import annotations

import math
from typing import Any, Callable


import ctrnn
from ctrnn.setup import build_model_and_states, gradient_results, natural_scheme
from ctrnn import Report
from ctrnn.analysis.gradients import RATE_BAND


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    s = cfg["settings"]
    doc = Report(cfg["experiment"]["title"], subtitle=cfg["experiment"]["description"])
    targets = {}
    for kind in s["models"]:
        params = dict(s.get(kind, {}))
        model, x0 = build_model_and_states({**cfg, "model": {"kind": kind, **params}}, s["batch"], s["x0_scale"])
        targets[kind] = (ctrnn.discretize(model, s["step"], scheme=natural_scheme(kind)), x0)
    log(f"gradient propagation of {', '.join(targets)}")
    results = gradient_results(targets, s["horizon"], s["t_transient"], dt=s["step"])
    doc.section("Gradient norms against the lag",
                f"Each model by its standard update with step {s['step']:g} (Euler for the RNN, GRU and LSTM, which "
                f"is exactly torch.nn.RNN/GRU/LSTM; ZOH for the state-space models), from {s['batch']} states after "
                f"a transient of {s['t_transient']:g}, at zero input. The fitted rate is the slope of log ||.|| per "
                f"time unit. Regime (GradientPropagation.regime): exploding when the rate is above {RATE_BAND:g} and "
                f"the norm at the horizon above 1, vanishing when the rate is below -{RATE_BAND:g} and the norm "
                "below 1, neither otherwise.")
    doc.add_figure(ctrnn.compare_gradient_propagation(results), "Gradient propagation of every model on one plot.")
    # log10 of the norm, from the stored logarithm: the norm itself can overflow (an exploding model)
    rows = [(label, f"{r.rate:+.4f}", f"{float(r.mean_log_norm()[-1]) / math.log(10):+.3f}", r.regime)
            for label, r in results.items()]
    doc.add_table(rows, ("model", "rate per time unit", f"log10 norm at lag {s['horizon']:g}", "regime"))
    slowest = max(results, key=lambda k: results[k].rate)
    doc.summarize("slowest decay", f"{slowest} (rate {results[slowest].rate:+.4f})")
    for label, r in results.items():
        doc.summarize(f"rate: {label}", f"{r.rate:+.4f} per time unit")
    doc.section("Models")
    doc.add_table([(kind, obj.describe()) for kind, (obj, _) in targets.items()],
                  ("name", "model"))
    return doc
