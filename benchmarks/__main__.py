"""Every benchmark at a size that runs in under a minute, as one table of ratios: ``python -m benchmarks``.

Each row is one comparison run side by side in this process (the same machine, the same moment): ctrnn's time
against the reference's, as the reference's time over ctrnn's (above 1: ctrnn is faster), with the check that
makes the ratio mean something (the two answers agree), the issue's target and whether this run met it. The
scripts beside this one run
the same comparisons at full size, with more rows and the details (``python benchmarks/simulate.py``, ...).

Rows: fixed-step RK4 (ctrnn's fused loop) and adaptive dopri5 against raw torchdiffeq on a random rate network;
the chunked scan against the sequential rollout of a diagonal SSM; the fixed-point search against a loop of
``scipy.optimize.root``; the full Lyapunov spectrum against the straightforward implementation; a gain sweep of
stacked networks against one network at a time; training against a hand-written ``torch.nn.RNN`` loop.

Usage: ``python -m benchmarks [--threads T] [--only NAME ...] [--details]`` (``--details`` also prints what each
comparison prints on its own; NAME: simulate, scan, fixed_points, lyapunov, sweep, train)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import platform
import time
from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torchdiffeq

import ctrnn

from . import fixed_points, lyapunov, scan, simulate, train


@dataclass
class Row:
    name: str  # what is compared, at which size
    ctrnn_s: float
    reference: str
    reference_s: float
    check: str  # how far the two answers are apart
    target: str  # the target for this ratio
    met: bool  # whether this run met it

    @property
    def ratio(self) -> float:
        return self.reference_s / self.ctrnn_s


def _best_of_two(*runs):
    """``(best time, result)`` of each run over two interleaved rounds (a slow moment of a shared machine then
    hits both sides alike)."""
    best, results = [math.inf] * len(runs), [None] * len(runs)
    for _ in range(2):
        for i, run in enumerate(runs):
            t0 = time.perf_counter()
            results[i] = run()
            best[i] = min(best[i], time.perf_counter() - t0)
    return list(zip(best, results))


def _simulation(threads: int) -> list[Row]:
    # the benchmark problem of benchmarks/simulate.py (one thread, as there), over 5 time units instead of 20
    simulate.MIN_TIME = 4.0  # seconds per comparison: enough rounds at this size to damp a shared machine
    torch.set_num_threads(1)
    try:
        return _simulation_rows()
    finally:
        torch.set_num_threads(threads)


def _simulation_rows() -> list[Row]:
    n, batch, t_end, dt = 256, 128, 5.0, 0.01
    net = ctrnn.RateRNN(n, g=1.5, seed=0)
    for p in net.parameters():
        p.requires_grad_(False)
    W, b = net.W.detach(), net.bias.detach() if net.bias is not None else torch.zeros(n)
    x0 = torch.randn(batch, n, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0.0, t_end])
    raw = simulate.RawRHS(W, b)
    a = torch.randn(batch, n)
    reps = 500
    t_mm, _ = simulate.best_of(lambda: [a @ W.T for _ in range(reps)], 3, lambda: None)
    product = t_mm / reps
    rows = []
    for method, kw, ckw, target in (
            ("rk4", {"options": {"step_size": dt}}, {"step_size": dt}, ">= 70% of the matmul ceiling"),
            ("dopri5", {"rtol": 1e-6, "atol": 1e-6}, {"rtol": 1e-6, "atol": 1e-6}, NEVER_SLOWER)):
        with torch.no_grad():
            (t_raw, x_raw), (t_ct, traj) = simulate.best_of_interleaved(
                [lambda: torchdiffeq.odeint(raw, x0, t, method=method, **kw),
                 lambda: ctrnn.simulate(net, x0, t, method=method, **ckw)], 3, lambda: None)
        diff = float((traj.x[-1] - x_raw[-1]).abs().max())
        ceiling = 100 * traj.stats.nfe * product / t_ct
        met = ceiling >= 70 if method == "rk4" else t_raw / t_ct >= 1 - NOISE
        rows.append(Row(f"simulate {method} (N={n}, batch {batch}, 1 thread; {ceiling:.0f}% of ceiling)",
                        t_ct, "raw torchdiffeq", t_raw, f"max |diff| {diff:.1e}", target, met))
    try:
        import torchode as to
    except ImportError:
        return rows  # (an optional row: pip install torchode)
    term = to.ODETerm(lambda tt, x: raw(tt, x))
    solver = to.AutoDiffAdjoint(to.Dopri5(term=term), to.IntegralController(atol=1e-6, rtol=1e-6, term=term))
    problem = to.InitialValueProblem(y0=x0, t_eval=t.expand(batch, 2))
    with torch.no_grad():
        (t_to, sol), (t_ct, traj) = simulate.best_of_interleaved(
            [lambda: solver.solve(problem), lambda: ctrnn.simulate(net, x0, t, rtol=1e-6, atol=1e-6)], 3,
            lambda: None)
    reference = ctrnn.simulate(net.double(), x0.double(), t.double(), rtol=1e-10, atol=1e-10).x[-1]
    net.float()
    errors = [float((x.double() - reference).abs().max()) for x in (traj.x[-1], sol.ys[:, -1])]
    rows.append(Row(f"simulate dopri5 (N={n}, batch {batch}, 1 thread)", t_ct, "torchode dopri5 (per-sample steps)",
                    t_to, f"error {errors[0]:.1e} / torchode {errors[1]:.1e}", ">= torchode at equal error",
                    t_to >= t_ct))
    return rows


def _scan(threads: int) -> list[Row]:
    T, n, batch = 4096, 64, 32
    dmap = ctrnn.discretize(ctrnn.DiagonalSSM.lru(n, 1, seed=0), 1.0, scheme="zoh")
    dmap.Abar, dmap.Bbar = dmap.Abar.to(torch.complex64), dmap.Bbar.to(torch.complex64)
    u = torch.randn(T, batch, 1, generator=torch.Generator().manual_seed(1))
    x0 = torch.zeros(batch, n, dtype=torch.complex64)
    with torch.no_grad():
        t_seq = scan.best_time(lambda: dmap.rollout(x0, u), lambda: None, 3, min_time=1.0)
        t_par = scan.best_time(lambda: dmap.scan(x0, u), lambda: None, 3, min_time=1.0)
        reference = dmap.rollout(x0, u)
        diff = float(((dmap.scan(x0, u) - reference).abs().max() / reference.abs().max()))
    return [Row(f"chunked scan, diagonal SSM (n={n}, batch {batch}, T={T}, complex64)", t_par, "sequential rollout",
                t_seq, f"max rel. diff {diff:.1e}", ">= 3x at T >= 4096", t_seq >= 3 * t_par)]


def _fixed_points(threads: int) -> list[Row]:
    torch.set_default_dtype(torch.float64)
    try:
        n, count, scipy_count = 128, 256, 64
        net = ctrnn.RateRNN(n, g=1.5, seed=0)
        traj = ctrnn.simulate(net, torch.randn(16, n, generator=torch.Generator().manual_seed(1)),
                              torch.linspace(0, 50, 201))
        starts = ctrnn.analysis.sample_starts(traj.x, count, noise=0.5, seed=2)
        for p in net.parameters():
            p.requires_grad_(False)
        f_np, jac_np = fixed_points.numpy_rate_flow(net, None)
        options = SimpleNamespace(adam_iters=0, ctd_iters=0, ctd_lr=1e-2, scipy_starts=scipy_count)
        rows = fixed_points.run_methods(net, None, starts, f_np=f_np, jac_np=jac_np, ctrnn_tol=1e-13, args=options)
    finally:
        torch.set_default_dtype(torch.float32)
    ours, loop = rows[0], rows[-1]
    shared, _ = fixed_points.matched(loop.points, ours.points)
    check = (f"{ours.points.shape[0]} points; of the loop's {loop.points.shape[0]}, "
             f"{loop.points.shape[0] - shared} not found by ctrnn")
    same = shared == loop.points.shape[0]
    return [Row(f"fixed points, random rate network (N={n}, g=1.5, {count} starts, float64)", ours.time,
                f"scipy root loop ({scipy_count} st. scaled)", loop.time, check, ">= 30x, the same points",
                same and loop.time >= 30 * ours.time)]


def _lyapunov(threads: int) -> list[Row]:
    torch.set_default_dtype(torch.float64)
    try:
        n, dt, t_total, t_transient = 256, 0.05, 20.0, 2.0
        net = ctrnn.RateRNN(n, g=1.5, zero_diagonal=True, seed=0)
        x0 = torch.randn(n, generator=torch.Generator().manual_seed(1))
        steps, transient = round(t_total / dt), round(t_transient / dt)
        ideal = 4 * steps / lyapunov.matmul_rate(n, n, seconds=1.0)
        (t_ctrnn, les), (t_naive, naive) = _best_of_two(
            lambda: ctrnn.lyapunov_spectrum(net, x0, t_transient=t_transient, t_total=t_total, dt=dt,
                                            qr_interval=1.0, t_transient_vectors=dt),
            lambda: lyapunov.straightforward(net.W.detach(), x0, dt, steps, transient))
    finally:
        torch.set_default_dtype(torch.float32)
    # finite-time estimates from one start with other QR intervals: they agree to about their standard error
    check = f"lambda_1 {float(les.exponents[0]):+.3f} / {float(naive[0]):+.3f} (s.e. {float(les.stderr[0]):.0e})"
    return [Row(f"Lyapunov spectrum, all {n} exponents ({steps} RK4 steps; {100 * ideal / t_ctrnn:.0f}% of ceiling)",
                t_ctrnn, "straightforward (J, QR each step)", t_naive, check, ">= 10x, >= 50% of the ceiling",
                t_naive >= 10 * t_ctrnn and ideal >= 0.5 * t_ctrnn)]


def _sweep(threads: int) -> list[Row]:
    torch.set_default_dtype(torch.float64)
    try:
        n, count = 16, 8
        gains = torch.linspace(0.5, 3.0, count).tolist()
        nets = [ctrnn.RateRNN(n, g=g, seed=i) for i, g in enumerate(gains)]
        x0 = torch.randn(count, 4, n, generator=torch.Generator().manual_seed(2))
        opts = dict(k=4, t_transient=10.0, t_total=50.0, dt=0.05, seeds=list(range(count)))
        (t_alone, alone), (t_together, together) = _best_of_two(
            lambda: ctrnn.lyapunov_spectra(nets, x0, stack=False, **opts),
            lambda: ctrnn.lyapunov_spectra(nets, x0, stack=None, **opts))
    finally:
        torch.set_default_dtype(torch.float32)
    diff = max(float((a.exponents - b.exponents).abs().max()) for a, b in zip(alone, together))
    rows = [Row(f"gain sweep, {count} stacked rate networks (N={n}, k=4)", t_together, "one network at a time",
                t_alone, f"max |diff| {diff:.1e}", ">= 5x at N=16", t_alone >= 5 * t_together)]
    # the README's own call (float32, its sizes), as a user runs it: the default against one network at a time
    nets = [ctrnn.RateRNN(32, g=g, seed=0) for g in (0.5, 1.0, 2.0)]
    x0 = torch.randn(3, 2, 32, generator=torch.Generator().manual_seed(0))
    (t_alone, alone), (t_default, default) = _best_of_two(
        lambda: ctrnn.lyapunov_spectra(nets, x0, k=1, t_transient=20, t_total=20, stack=False),
        lambda: ctrnn.lyapunov_spectra(nets, x0, k=1, t_transient=20, t_total=20))
    diff = max(float((a.exponents - b.exponents).abs().max()) for a, b in zip(alone, default))
    rows.append(Row("README example: lyapunov_spectra of 3 networks (N=32)", t_default, "one network at a time",
                    t_alone, f"max |diff| {diff:.1e}", NEVER_SLOWER, t_alone >= (1 - NOISE) * t_default))
    return rows


def _train(threads: int) -> list[Row]:
    n, steps, batch = 64, 15, 64
    task = train.FlipFlop(n_bits=3, duration=200.0, dt=1.0)
    train.hand_loop(n, task, 2, batch, 0), train.ctrnn_loop(n, task, 2, batch, 0)  # warm-up
    hand = max(train.hand_loop(n, task, steps, batch, 0) for _ in range(2))  # steps per second
    ours = max(train.ctrnn_loop(n, task, steps, batch, 0) for _ in range(2))
    return [Row(f"training, 3-bit flip-flop (N={n}, batch {batch}, 200 steps a trial)", 1.0 / ours,
                "hand-written nn.RNN loop", 1.0 / hand, "the same trials and loss", NEVER_SLOWER,
                ours >= (1 - NOISE) * hand)]


#: how far apart two timings of the same work land on this shared machine: "never slower" allows it
NOISE = 0.05
NEVER_SLOWER = f">= 1 (never slower; {NOISE:.0%} noise)"

SECTIONS = {"simulate": _simulation, "scan": _scan, "fixed_points": _fixed_points, "lyapunov": _lyapunov,
            "sweep": _sweep, "train": _train}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads(),
                   help="torch threads (the simulation rows run on one, as benchmarks/simulate.py does)")
    p.add_argument("--only", nargs="+", choices=sorted(SECTIONS), default=list(SECTIONS))
    p.add_argument("--details", action="store_true", help="also print each comparison's own output")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, {args.threads} thread(s), torch {torch.__version__}, "
          f"torchdiffeq {torchdiffeq.__version__}")
    rows: list[Row] = []
    began = time.perf_counter()
    for name in args.only:
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            rows.extend(SECTIONS[name](args.threads))
        if args.details and said.getvalue().strip():
            print(f"-- {name}\n{said.getvalue().rstrip()}")
    width = max(len(r.name) for r in rows)
    print(f"\n{'comparison':{width}s}  {'ctrnn (s)':>9s}  {'reference':34s} {'(s)':>7s}  {'ratio':>6s}  "
          f"{'check':40s} {'target':38s} met")
    for r in rows:
        ratio = f"{r.ratio:5.2f}x" if math.isfinite(r.ratio) else "    -"
        print(f"{r.name:{width}s}  {r.ctrnn_s:9.3f}  {r.reference:34s} {r.reference_s:7.3f}  {ratio:>6s}  "
              f"{r.check:40s} {r.target:38s} {'yes' if r.met else 'no'}")
    print(f"\nratio: the reference's time over ctrnn's (above 1: ctrnn is faster); {time.perf_counter() - began:.0f} s "
          "in all")


if __name__ == "__main__":
    main()
