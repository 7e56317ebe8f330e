"""Beer's two-neuron CTRNN oscillator: its limit cycle, period and Floquet multipliers, in a full report."""

from __future__ import annotations

from typing import Any, Callable

import torch

import ctrnn
from ctrnn.setup import place
from ctrnn import Report, report

from . import within


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    s = cfg["settings"]
    model = place(ctrnn.BeerCTRNN(torch.tensor(s["weights"]), biases=torch.tensor(s["biases"])), torch.device(cfg["device"]),
                  torch.get_default_dtype())
    x0 = s["x0_scale"] * torch.randn(s["batch"], 2, generator=torch.Generator().manual_seed(cfg["seed"]))
    return report(model, x0=x0, seed=cfg["seed"], quick=cfg["quick"], t_end=s["t_end"], log=within(log),
                  title=cfg["experiment"]["title"])
