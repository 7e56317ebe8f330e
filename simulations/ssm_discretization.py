"""ZOH vs bilinear vs Mamba discretization of a diagonal state-space model (S4D-Real, Gu et al. 2022):
dx/dt = diag(lam) x + B u with lam_k = -(k + 1), B = 1. (Real modes: torchdiffeq's adaptive solvers, which give
the continuous reference, do not take complex states.) Under a piecewise-constant input ZOH is exact, bilinear
(Tustin) is second order and Mamba's rule (exact for A, Euler for B) is first order."""

from __future__ import annotations

from typing import Any, Callable

import torch

import ctrnn
from ctrnn.setup import place
from ctrnn.plot import PALETTE, STYLE
from ctrnn import Report

SCHEMES = ("zoh", "bilinear", "mamba")


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    import matplotlib.pyplot as plt

    s = cfg["settings"]
    lam = -(torch.arange(s["n"], dtype=torch.float64) + 1.0)
    model = place(ctrnn.DiagonalSSM(lam, torch.ones(s["n"], 1)), torch.device(cfg["device"]), torch.get_default_dtype())
    doc = Report(cfg["experiment"]["title"], subtitle=cfg["experiment"]["description"])
    t_end = s["t_end"]
    # switches on every grid (multiples of the largest step), so that holding the input is exact
    drive = ctrnn.inputs.steps(s["switch_times"], torch.tensor([[v] for v in s["levels"]]), t_span=(0.0, t_end))
    x0 = torch.zeros(1, s["n"])
    log("errors against the continuous solution")
    err = ctrnn.discretization_error(model, x0, t_end, schemes=list(SCHEMES), dts=s["dts"], inputs=drive)
    doc.section("Error against the step",
                f"Largest state error of each discrete update against the continuous solution over t in [0, {t_end:g}], "
                f"S4D-Real with n = {s['n']} modes, driven by a piecewise-constant input that switches on every grid.")
    doc.add_figure(err.plot(), "Error against step size; ZOH sits at the reference's accuracy (exact).")
    doc.add_table([(name, "exact (at the reference floor)" if err.orders[name] is None else f"{err.orders[name]:.2f}",
                    f"{float(err.max_errors[i, -1]):.2e}") for i, name in enumerate(SCHEMES)],
                  ("scheme", "fitted order", f"error at dt = {s['dts'][-1]:g}"))
    for name in SCHEMES:
        order = err.orders[name]
        doc.summarize(f"{name} order", "exact" if order is None else f"{order:.2f}")

    log("rollouts at a coarse step")
    dt = s["rollout_dt"]
    steps = round(t_end / dt)
    tk = torch.arange(steps + 1, dtype=torch.float64) * dt
    u = torch.stack([drive(t) for t in tk[:-1]])[:, None, :]  # held over each step: u(t_(k-1))
    fine = torch.linspace(0.0, t_end, 1001, dtype=torch.float64)
    exact = ctrnn.simulate(model, x0, fine, inputs=drive, rtol=1e-10, atol=1e-10).x.detach()[:, 0, s["mode"]].cpu()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 3.8))
        ax.plot(fine, exact, color="0.2", lw=1.4, label="continuous")
        for j, name in enumerate(SCHEMES):
            xs = ctrnn.discretize(model, dt, scheme=name).rollout(x0, u).detach()[:, 0, s["mode"]].cpu()
            ax.plot(tk, torch.cat([x0[0, s["mode"]].cpu()[None], xs]), "osd"[j], ms=4, mfc="none",
                    color=PALETTE[j], label=f"{name}, dt = {dt:g}")
        ax.set_xlabel("time t"), ax.set_ylabel(f"x_{s['mode']}")
        ax.set_title(f"mode {s['mode']} (lam = {float(lam[s['mode']]):g})")
        ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
    doc.section("Rollouts", f"One mode, continuous and by each update at dt = {dt:g}.")
    doc.add_figure(fig, "Continuous solution (line) against the discrete rollouts (markers).")
    doc.section("Model")
    doc.add_text(model.describe())
    return doc
