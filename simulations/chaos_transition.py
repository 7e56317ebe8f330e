"""The transition to chaos of a random rate network dx/dt = -x + W tanh(x), W_ij ~ N(0, g^2/N), as g grows
(Sompolinsky, Crisanti & Sommers 1988): largest exponent, entropy and dimension against g, then the full report
of one network in the chaotic regime (g_report, chosen by its measured largest exponent)."""

from __future__ import annotations

from typing import Any, Callable

import torch

import ctrnn
from ctrnn.setup import place
from ctrnn import Report, report

from . import within


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    s = cfg["settings"]
    device = torch.device(cfg["device"])
    n = s["n"]
    gains = torch.linspace(s["g_min"], s["g_max"], s["g_count"]).tolist()
    doc = Report(cfg["experiment"]["title"], subtitle=cfg["experiment"]["description"])
    total = len(gains) * s["seeds"]
    log(f"sweep over g: {len(gains)} values x {s['seeds']} networks, N = {n}")
    done = []

    def finished(i: int, j: int, res: ctrnn.LyapunovSpectrum) -> None:  # a line per network: a long sweep shows life
        done.append((i, j))
        log(f"  g = {gains[i]:.3g}, network {j + 1}/{s['seeds']}: lambda_1 = {res.largest:+.4f} "
            f"({len(done)}/{total} networks)")

    result = ctrnn.sweep(lambda g, seed: place(ctrnn.RateRNN(n, g=g, seed=seed), device, torch.get_default_dtype()),
                         gains, parameter="g", seeds=range(s["seeds"]), batch=s["batch"], k=s["k"],
                         t_transient=s["t_transient"], t_total=s["t_total"], dt=s["dt"],
                         networks_per_solve=s["networks_per_solve"], on_result=finished)
    crossing = result.crossing()
    doc.summarize("largest exponent crosses zero at", "not in this range" if crossing is None else f"g = {crossing:.3f}"
                  " (N -> infinity theory: g = 1)")
    doc.section("Transition to chaos",
                f"Largest Lyapunov exponent, entropy (sum of positive exponents) and Kaplan-Yorke dimension of "
                f"random rate networks of N = {n} units against the gain g; {s['seeds']} networks per value, "
                f"{s['batch']} initial states each, the {s['k']} leading exponents over {s['t_total']:g} time "
                "constants. Error bars: standard errors over networks and states. Finite N moves the crossing "
                "above 1.")
    doc.add_figure(result.plot(), "The transition: lambda_1 against g (left), entropy and dimension (right).")
    doc.add_code(result.summary())
    log(f"full report of one network at g = {s['g_report']}")
    net = place(ctrnn.RateRNN(n, g=s["g_report"], seed=cfg["seed"]), device, torch.get_default_dtype())
    doc.extend(report(net, seed=cfg["seed"], quick=cfg["quick"], title=f"Rate network at g = {s['g_report']}", log=within(log)))
    return doc
