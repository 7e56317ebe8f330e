"""The Lorenz system as a sanity check: its Lyapunov spectrum against the published values."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

import ctrnn
from ctrnn.setup import place
from ctrnn import Report, report

from . import within

#: Lyapunov exponents of the Lorenz system at (10, 28, 8/3) (REFERENCES.md; e.g. Sprott, "Chaos and
#: Time-Series Analysis", 2003)
PUBLISHED = (0.9059, 0.0, -14.5723)
PUBLISHED_PARAMETERS = {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}
PUBLISHED_DIMENSION = 2.0621


def at_published_parameters(s: dict[str, Any]) -> bool:
    """Whether sigma, rho and beta are the published ones (to rounding): only there do the published values apply."""
    return all(math.isclose(s[k], v, rel_tol=1e-9) for k, v in PUBLISHED_PARAMETERS.items())


def spectrum_table(les: ctrnn.LyapunovSpectrum, s: dict[str, Any]) -> tuple[list[tuple[str, ...]], tuple[str, ...],
                                                                           str]:
    """The rows and header of the spectrum table, and a note: against the published values at the published
    parameters; elsewhere the measured values and the exact sum only (a "difference" from another rho's spectrum
    would mean nothing)."""
    exact_sum = -(s["sigma"] + 1 + s["beta"])
    measured = [f"{float(les.exponents[i]):+.4f} ± {float(les.stderr[i]):.4f}" for i in range(len(les.exponents))]
    sum_row = ("sum", f"{float(les.exponents.sum()):+.5f}", f"{exact_sum:+.5f}",
               f"{float(les.exponents.sum()) - exact_sum:+.1e}")
    if at_published_parameters(s):
        rows = [(f"lambda_{i + 1}", measured[i], f"{p:+.4f}", f"{float(les.exponents[i]) - p:+.4f}")
                for i, p in enumerate(PUBLISHED)]
        rows += [sum_row, ("Kaplan-Yorke dimension", les.kaplan_yorke_text(4), f"{PUBLISHED_DIMENSION}", "")]
        return rows, ("", "measured ± s.e.", "published", "difference"), "The exponents sum to -(sigma + 1 + beta) exactly."
    rows = [(f"lambda_{i + 1}", m, "") for i, m in enumerate(measured)]
    rows += [sum_row[:3], ("Kaplan-Yorke dimension", les.kaplan_yorke_text(4), "")]
    note = (f"No published spectrum to compare with: the published values {PUBLISHED} are for sigma = 10, rho = 28, "
            f"beta = 8/3, and this run has sigma = {s['sigma']:g}, rho = {s['rho']:g}, beta = {s['beta']:g}. Only "
            "the sum, -(sigma + 1 + beta) exactly, is checked.")
    return rows, ("", "measured ± s.e.", "exact"), note


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    s = cfg["settings"]
    model = place(ctrnn.systems.Lorenz(sigma=s["sigma"], rho=s["rho"], beta=s["beta"]), torch.device(cfg["device"]),
                  torch.get_default_dtype())
    gen = torch.Generator().manual_seed(cfg["seed"])
    x0 = torch.tensor([1.0, 1.0, 20.0]) + torch.randn(s["batch"], 3, generator=gen)
    doc = Report(cfg["experiment"]["title"], subtitle=cfg["experiment"]["description"])
    published = at_published_parameters(s)
    title = "Lyapunov spectrum against the published values" if published else "Lyapunov spectrum"
    log(title)
    les = ctrnn.lyapunov_spectrum(model, x0, t_transient=s["t_transient"], t_total=s["t_total"], dt=s["dt"])
    rows, header, note = spectrum_table(les, s)
    doc.section(title, f"{s['batch']} initial states, RK4 with dt = {s['dt']:g}, {s['t_total']:g} time units after a "
                       f"transient of {s['t_transient']:g}. {note}")
    doc.add_table(rows, header)
    label = "Lyapunov exponents (published 0.9059, 0, -14.5723)" if published else \
        f"Lyapunov exponents (rho = {s['rho']:g}: no published values)"
    doc.summarize(label, ", ".join(f"{float(v):+.4f}" for v in les.exponents))
    doc.extend(report(model, x0=x0, seed=cfg["seed"], quick=cfg["quick"], t_end=s["t_end"], log=within(log),
                      title="the full analysis"))
    return doc
