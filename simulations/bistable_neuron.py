"""A bistable one-neuron CTRNN, dy/dt = -y + w sigma(y - w/2) + I: two stable states for w > 4 and, as the
input I sweeps up and down, hysteresis between the two folds (saddle-node bifurcations)."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

import ctrnn
from ctrnn.setup import place
from ctrnn import Report, report

from . import within


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    s = cfg["settings"]
    w = s["w"]
    neuron = place(ctrnn.BeerCTRNN(torch.tensor([[w]]), biases=-w / 2), torch.device(cfg["device"]),
                   torch.get_default_dtype())
    doc = Report(cfg["experiment"]["title"], subtitle=cfg["experiment"]["description"])
    log("fixed points against the input")
    values = torch.linspace(s["input_min"], s["input_max"], s["input_count"])
    branches = ctrnn.fixed_point_branches(neuron, values, torch.linspace(-4, w + 4, 8)[:, None])
    window = branches.multistable_range()
    # closed form of the folds: w s (1 - s) = 1 with s = sigma(y - w/2), at I = y - w s
    folds = []
    if w > 4:
        for sign in (-1, 1):
            sf = (1 + sign * math.sqrt(1 - 4 / w)) / 2
            folds.append(math.log(sf / (1 - sf)) + w / 2 - w * sf)
    doc.summarize("bistable for inputs", "none" if window is None else f"{window[0]:.3f} < I < {window[1]:.3f}"
                  + (f" (closed-form folds {min(folds):.4f}, {max(folds):.4f})" if folds else ""))
    doc.section("Hysteresis as the input sweeps",
                f"Fixed points of the neuron (w = {w:g}) for {s['input_count']} held inputs I from "
                f"{s['input_min']:g} to {s['input_max']:g}, followed up and then down so that both stable branches "
                "are found. Between the folds two stable states coexist with a saddle between them: a state "
                "reached from below stays low until the upper fold, and from above stays high until the lower one.")
    doc.add_figure(branches.plot(), "Fixed points against the input, by kind; the bistable range shaded.")
    doc.add_table([(f"{float(v):+.3f}", ", ".join(f"{float(p):.4f} ({k})" for p, k in zip(r.points[:, 0], r.kinds)))
                   for v, r in list(zip(values, branches.results))[:: max(1, len(values) // 10)]],
                  ("input I", "fixed points y* (kind)"))
    log("full report at I = 0")
    x0 = torch.linspace(-2, w + 2, s["batch"])[:, None]
    doc.extend(report(neuron, x0=x0, inputs=torch.tensor([0.0]), seed=cfg["seed"], quick=cfg["quick"],
                      t_end=s["t_end"], title="the neuron at I = 0", log=within(log)))
    return doc
