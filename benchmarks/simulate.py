"""How fast is ``ctrnn.simulate``? One run, side by side, on the same machine.

Problem (defaults from REFERENCES.md): a random rate network ``dx/dt = -x + W tanh(x)``, N = 256,
batch 128, t in [0, 20], float32, one thread. Rows:

- matmul ceiling: ``(B x N) @ (N x N)`` products per second, the cost floor of one right-hand side;
- ctrnn rk4 (dt = 0.01; its fused fixed-grid loop), the same call with ``fused=False`` (torchdiffeq's loop) and raw
  torchdiffeq rk4 on the same grid;
- ctrnn dopri5 (rtol = atol = 1e-6) and raw torchdiffeq dopri5;
- ctrnn rk4 called plainly (grad mode on, the parameters requiring grad: no graph is recorded unless asked), and
  with ``grad=True`` (the graph that backpropagation through the solver needs);
- torchode dopri5 (per-trajectory step sizes), when installed;
- scipy ``solve_ivp`` (RK45 and DOP853) looped over trajectories (what a user without ctrnn writes),
  timed on a subset and scaled to the full batch.

Columns: wall time (best of at least ``--repeats`` interleaved rounds and 6 s), right-hand-side evaluations, max error at t_end against a
float64 DOP853 reference (rtol = atol = 1e-10) on the first ``--ref`` trajectories, and efficiency =
evaluations x (one product's time) / wall time, as % of the ceiling. The last column is each torch
row's time relative to raw torchdiffeq with the same method: ctrnn's overhead.

Usage: ``python benchmarks/simulate.py [--n 256] [--batch 128] [--t-end 20] [--threads 1] [--device cpu]``
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
import torchdiffeq
from scipy.integrate import solve_ivp

import ctrnn


class RawRHS(torch.nn.Module):
    """What a torchdiffeq user writes by hand for the same network."""

    def __init__(self, W: torch.Tensor, b: torch.Tensor):
        super().__init__()
        self.W, self.b = W, b

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(torch.tanh(x), self.W, self.b) - x


def best_of(fn, repeats: int, sync) -> tuple[float, object]:
    return best_of_interleaved([fn], repeats, sync)[0]


MIN_TIME = 6.0  # seconds each comparison runs at least, so short solves get enough rounds


def best_of_interleaved(fns, repeats: int, sync) -> list[tuple[float, object]]:
    """Best wall time of each function over at least ``repeats`` rounds and ``MIN_TIME`` seconds,
    running them in turn each round so that a slow spell of a shared machine hits all of them alike."""
    best = [math.inf] * len(fns)
    outs: list[object] = [None] * len(fns)
    began, rounds = time.perf_counter(), 0
    while rounds < repeats or time.perf_counter() - began < MIN_TIME:
        rounds += 1
        for i, fn in enumerate(fns):
            sync()
            start = time.perf_counter()
            outs[i] = fn()
            sync()
            best[i] = min(best[i], time.perf_counter() - start)
    return list(zip(best, outs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--t-end", type=float, default=20.0)
    p.add_argument("--g", type=float, default=1.5)
    p.add_argument("--dt", type=float, default=0.01, help="rk4 step")
    p.add_argument("--tol", type=float, default=1e-6, help="dopri5 rtol = atol")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--ref", type=int, default=4, help="trajectories checked against the DOP853 reference")
    p.add_argument("--scipy-batch", type=int, default=8, help="trajectories timed for the scipy loop (scaled)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)

    net = ctrnn.RateRNN(args.n, g=args.g, seed=0).to(dev, torch.float32)
    W, b = net.W.detach(), net.bias.detach()
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(args.batch, args.n, generator=gen).to(dev)
    t = torch.tensor([0.0, args.t_end], device=dev)
    print(f"problem: N={args.n}, batch={args.batch}, t in [0, {args.t_end:g}], float32, {args.threads} thread(s), "
          f"{dev}, torch {torch.__version__}, torchdiffeq {torchdiffeq.__version__}")

    # matmul ceiling: one right-hand side is dominated by one (B x N) @ (N x N) product
    a = torch.randn(args.batch, args.n, device=dev)
    reps = 2000
    t_mm, _ = best_of(lambda: [a @ W.T for _ in range(reps)], args.repeats, sync)
    product = t_mm / reps
    print(f"matmul ceiling: {1 / product:,.0f} products/s ({product * 1e6:.1f} us each)\n")

    # float64 reference at t_end for the first trajectories
    W64, b64 = W.double().cpu().numpy(), b.double().cpu().numpy()
    ref = np.stack([solve_ivp(lambda s, x: W64 @ np.tanh(x) + b64 - x, (0, args.t_end), x0[i].double().cpu().numpy(),
                              method="DOP853", rtol=1e-10, atol=1e-10).y[:, -1] for i in range(args.ref)])

    def err(x_end: torch.Tensor) -> float:
        return float(np.abs(x_end[: args.ref].double().cpu().numpy() - ref).max())

    rows: list[tuple] = []
    raw = RawRHS(W, b)
    counter = {"nfe": 0}

    def counted(tt, x):
        counter["nfe"] += 1
        return raw(tt, x)

    with torch.no_grad():
        for method, kw in (("rk4", {"options": {"step_size": args.dt}}), ("dopri5", {"rtol": args.tol, "atol": args.tol})):
            counter["nfe"] = 0
            ckw = {"step_size": args.dt} if method == "rk4" else {"rtol": args.tol, "atol": args.tol}
            runs = [lambda: torchdiffeq.odeint(counted, x0, t, method=method, **kw),
                    lambda: ctrnn.simulate(net, x0, t, method=method, **ckw)]
            if method == "rk4":  # the same call in torchdiffeq's fixed-grid loop instead of the fused one
                runs.append(lambda: ctrnn.simulate(net, x0, t, method=method, fused=False, **ckw))
            (t_raw, x_raw), (t_ct, traj), *unfused = best_of_interleaved(runs, args.repeats, sync)
            counter["nfe"] = 0
            torchdiffeq.odeint(counted, x0, t, method=method, **kw)
            nfe_raw = counter["nfe"]
            label = f"dt={args.dt:g}" if method == "rk4" else f"tol={args.tol:g}"
            rows.append((f"torchdiffeq {method} ({label})", t_raw, nfe_raw, err(x_raw[-1]), t_raw))
            rows.append((f"ctrnn {method} ({label})", t_ct, traj.stats.nfe, err(traj.x[-1]), t_raw))
            for t_unfused, traj_unfused in unfused:
                rows.append((f"ctrnn {method} ({label}), fused=False", t_unfused, traj_unfused.stats.nfe,
                             err(traj_unfused.x[-1]), t_raw))

        try:
            import torchode as to
        except ImportError:
            print("(torchode not installed: pip install torchode to add its row)")
        else:
            term = to.ODETerm(lambda tt, x: raw(tt, x))
            solver = to.AutoDiffAdjoint(to.Dopri5(term=term), to.IntegralController(atol=args.tol, rtol=args.tol, term=term))
            t_eval = t.expand(args.batch, 2)
            problem = to.InitialValueProblem(y0=x0, t_eval=t_eval)
            t_to, sol = best_of(lambda: solver.solve(problem), args.repeats, sync)
            nfe_to = int(sol.stats["n_f_evals"].max())
            rows.append((f"torchode dopri5 (tol={args.tol:g})", t_to, nfe_to, err(sol.ys[:, -1]), rows[3][1]))

    # what a user's plain call costs: grad mode on (torch's default) and the parameters requiring grad (every model's
    # default); simulate records no graph unless asked (grad=True), so this is the no_grad row above's time
    t_plain, traj = best_of(lambda: ctrnn.simulate(net, x0, t, method="rk4", step_size=args.dt), args.repeats, sync)
    rows.append((f"ctrnn rk4 (dt={args.dt:g}), grad mode on", t_plain, traj.stats.nfe, err(traj.x[-1].detach()),
                 rows[0][1]))
    t_graph, traj = best_of(lambda: ctrnn.simulate(net, x0, t, method="rk4", step_size=args.dt, grad=True),
                            args.repeats, sync)
    rows.append((f"ctrnn rk4 (dt={args.dt:g}), grad=True", t_graph, traj.stats.nfe, err(traj.x[-1].detach()),
                 rows[0][1]))

    # scipy loop (what a user without ctrnn writes), one trajectory at a time, scaled to the batch
    W32 = W.cpu().numpy().astype(np.float64)
    for method in ("RK45", "DOP853"):
        k = min(args.scipy_batch, args.batch)
        nfe, ends = 0, []
        start = time.perf_counter()
        for i in range(k):
            sol = solve_ivp(lambda s, x: W32 @ np.tanh(x) + b64 - x, (0, args.t_end), x0[i].double().cpu().numpy(),
                            method=method, rtol=args.tol, atol=args.tol)
            nfe += sol.nfev
            ends.append(sol.y[:, -1])
        elapsed = (time.perf_counter() - start) * args.batch / k
        e = float(np.abs(np.stack(ends)[: args.ref] - ref[:k]).max())
        # scipy does matrix-vector products: count its work as nfe/batch products of the batched size
        rows.append((f"scipy {method} loop (tol={args.tol:g}, x{args.batch / k:g})", elapsed,
                     round(nfe * args.batch / k / args.batch), e, None))

    print(f"{'solver':38s} {'time (s)':>9s} {'RHS evals':>10s} {'max error':>10s} {'% of ceiling':>13s} {'vs raw':>7s}")
    for name, wall, nfe, e, base in rows:
        eff = 100 * nfe * product / wall
        ratio = f"{wall / base:6.3f}x" if base else "      -"
        print(f"{name:38s} {wall:9.3f} {nfe:10d} {e:10.2e} {eff:12.1f}% {ratio}")


if __name__ == "__main__":
    main()
