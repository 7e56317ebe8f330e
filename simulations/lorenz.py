"""The Lorenz system as a sanity check: its Lyapunov spectrum against the published values."""

from __future__ import annotations

from typing import Any, Callable

import torch

import ctrnn
from ctrnn.setup import place
from ctrnn import Report, report

#: Lyapunov exponents of the Lorenz system at (10, 28, 8/3) (REFERENCES.md; e.g. Sprott, "Chaos and
#: Time-Series Analysis", 2003)
PUBLISHED = (0.9059, 0.0, -14.5723)


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    s = cfg["settings"]
    model = place(ctrnn.systems.Lorenz(sigma=s["sigma"], rho=s["rho"], beta=s["beta"]), torch.device(cfg["device"]),
                  torch.get_default_dtype())
    gen = torch.Generator().manual_seed(cfg["seed"])
    x0 = torch.tensor([1.0, 1.0, 20.0]) + torch.randn(s["batch"], 3, generator=gen)
    doc = Report(cfg["experiment"]["title"], subtitle=cfg["experiment"]["description"])
    log("Lyapunov spectrum against the published values")
    les = ctrnn.lyapunov_spectrum(model, x0, t_transient=s["t_transient"], t_total=s["t_total"], dt=s["dt"])
    doc.section("Lyapunov spectrum against the published values",
                f"{s['batch']} initial states, RK4 with dt = {s['dt']:g}, {s['t_total']:g} time units after a "
                f"transient of {s['t_transient']:g}. The exponents sum to -(sigma + 1 + beta) exactly.")
    rows = [(f"lambda_{i + 1}", f"{float(les.exponents[i]):+.4f} ± {float(les.stderr[i]):.4f}", f"{p:+.4f}",
             f"{float(les.exponents[i]) - p:+.4f}") for i, p in enumerate(PUBLISHED)]
    rows.append(("sum", f"{float(les.exponents.sum()):+.5f}", f"{-(s['sigma'] + 1 + s['beta']):+.5f}",
                 f"{float(les.exponents.sum()) + s['sigma'] + 1 + s['beta']:+.1e}"))
    rows.append(("Kaplan-Yorke dimension", les.kaplan_yorke_text(4), "2.0621", ""))
    doc.add_table(rows, ("", "measured ± s.e.", "published", "difference"))
    doc.summarize("Lyapunov exponents (published 0.9059, 0, -14.5723)",
                  ", ".join(f"{float(v):+.4f}" for v in les.exponents))
    doc.extend(report(model, x0=x0, seed=cfg["seed"], quick=cfg["quick"], t_end=s["t_end"], log=log,
                      title="the full analysis"))
    return doc
