"""A line attractor built by hand: dx/dt = -x + v v^T tanh(x) + v u(t) with a unit vector v. Along the line
x = a v the drift is -a + v^T tanh(a v) = -(sum_i v_i^4 / 3) a^3 + O(a^5): a slow manifold on which the
network holds what its input has added, an integrator."""

from __future__ import annotations

from typing import Any, Callable

import torch

import ctrnn
from ctrnn.setup import place
from ctrnn.plot import PALETTE, STYLE
from ctrnn import Report, report

from . import within


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    import matplotlib.pyplot as plt

    s = cfg["settings"]
    n = s["n"]
    gen = torch.Generator().manual_seed(cfg["seed"])
    v = torch.randn(n, generator=gen, dtype=torch.float64)
    v = v / v.norm()
    net = place(ctrnn.RateRNN(n, n_inputs=1, W=torch.outer(v, v), W_in=v[:, None], seed=cfg["seed"]),
                torch.device(cfg["device"]), torch.get_default_dtype())
    v = v.to(net.W.detach())
    doc = Report(cfg["experiment"]["title"], subtitle=cfg["experiment"]["description"])

    log("integrating input pulses")
    times = [edge for on, off, _ in s["pulses"] for edge in (on, off)]
    levels = [[0.0]] + [[level] for _, _, amplitude in s["pulses"] for level in (amplitude, 0.0)]
    drive = ctrnn.inputs.steps(times, torch.tensor(levels), t_span=(0.0, s["t_end"]))
    t = torch.linspace(0.0, s["t_end"], 801, dtype=torch.float64)
    traj = ctrnn.simulate(net, torch.zeros(1, n), t, inputs=drive, rtol=1e-8, atol=1e-10)
    x = traj.x.detach()[:, 0]
    along = (x @ v).cpu()
    off = (x - along[:, None].to(x) * v).norm(dim=-1).cpu()
    u = torch.stack([drive(tt)[0] for tt in t]).cpu()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 3.8))
        ax.plot(t, along, color=PALETTE[0], lw=1.6, label="position along the line, v^T x")
        ax.plot(t, off, color=PALETTE[2], lw=1.0, label="distance from the line")
        ax.plot(t, torch.cumsum(u, 0) * float(t[1] - t[0]), color="0.4", ls=":", label="integral of the input")
        ax2 = ax.twinx()
        ax2.spines["right"].set_visible(True)
        ax2.plot(t, u, color=PALETTE[1], lw=0.9, drawstyle="steps-post")
        ax2.set_ylabel("input u(t)", color=PALETTE[1])
        ax.set_xlabel("time t (time constants)"), ax.set_ylabel("state (units of x)")
        ax.set_title("the line attractor integrates its input and holds it")
        ax.legend(frameon=False, fontsize=7, loc="upper left")
        fig.tight_layout()
    doc.section("An integrator", "Input pulses along v push the state along the line; between pulses it holds its "
                                 "position (up to the slow cubic drift), so the position is the running integral "
                                 "of the input, as a neural integrator's.")
    doc.add_figure(fig, "Position along the line and distance from it, under the pulses (orange, right axis).")
    held = float(along[-1])
    integral = sum((stop - start) * amplitude for start, stop, amplitude in s["pulses"])
    coefficient = float((v**4).sum()) / 3
    doc.summarize("held after the pulses", f"v^T x = {held:+.4f} at t = {s['t_end']:g}: the integral of the input, "
                  f"{integral:+.4f}, less what the line's drift -({coefficient:.4f} a^3 + ...) leaked away")

    log("the slow manifold")
    a = torch.linspace(-s["line_extent"], s["line_extent"], 41, dtype=torch.float64)
    with torch.no_grad():
        speed = net(torch.zeros(()), a[:, None].to(v) * v).norm(dim=-1).cpu()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        ax.semilogy(a, speed.clamp_min(1e-16), "o", ms=3, color=PALETTE[0], label="|dx/dt| on the line x = a v")
        ax.semilogy(a, (coefficient * a.abs() ** 3).clamp_min(1e-16), color=PALETTE[3], lw=1,
                    label="(sum v_i^4 / 3) |a|^3, the leading term")
        ax.set_xlabel("a (position along v)"), ax.set_ylabel("speed (per time constant)")
        ax.set_title("speed along the slow manifold")
        ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
    doc.section("The slow manifold", "On the line the speed vanishes like |a|^3: not a continuum of exact fixed "
                                     "points but a slow manifold. Near the origin the speed falls below the fixed-point "
                                     "search's tolerance, so the search below reports a string of marginal points "
                                     "along v (and slow points further out).")
    doc.add_figure(fig, "Speed on the line against its leading-order form.")
    starts = a[::4, None].to(v) * v + 0.05 * torch.randn(len(a[::4]), n, generator=gen, dtype=torch.float64).to(v)
    doc.extend(report(net, x0=starts, inputs=torch.zeros(1), seed=cfg["seed"], quick=cfg["quick"], t_end=s["t_report"],
                      title="the network without input", log=within(log)))
    return doc
