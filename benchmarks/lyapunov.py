"""Full Lyapunov spectrum of a rate network against the matmul ceiling and a straightforward implementation.

Problem (issue defaults): dx/dt = -x + W tanh(x), N = 256, g = 1.5 (chaotic), float64, zero diagonal, one
initial state, RK4 with dt = 0.05, 100 time constants measured after a short transient.

- ctrnn: ``lyapunov_spectrum`` (structured JVP ``W @ (phi'(x) * V)``, QR once per time constant).
- straightforward: what one writes first: form the Jacobian ``-I + W diag(phi'(x))`` at every RK4 stage,
  multiply it into the vectors, and re-orthonormalise after every step.
- ceiling: the same machine's throughput for the product that dominates, ``(N x N) @ (N x k)``; a step
  needs four of them (one per RK4 stage), so the ideal time is ``4 * steps / (products per second)``.

Both methods compute the same quantity; the table prints their time, efficiency against the ceiling, the
sum of exponents against its exact value -N, and the ratio.

A second table times a gain sweep (``--sweep-networks`` rate networks at gains 0.5 .. 3, ``--sweep-n`` units,
``--sweep-k`` exponents, 4 initial states each): the networks one after another against all of them stacked
in one batched solve (``lyapunov_spectra``: the rate network's native batched products, its default, and the
generic ``torch.vmap`` path), with the largest difference between the native and the one-at-a-time answers.

Usage: ``python benchmarks/lyapunov.py [--n 256] [--t-total 100] [--dt 0.05] [--threads 2] [--sweep-n 64]``
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import ctrnn


def matmul_rate(n: int, k: int, seconds: float = 2.0) -> float:
    """Products ``(n x n) @ (n x k)`` per second in float64, best of several rounds."""
    W, V = torch.randn(n, n, dtype=torch.float64), torch.randn(n, k, dtype=torch.float64)
    for _ in range(5):
        W @ V
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        for _ in range(20):
            W @ V
        best = max(best, 20 / (time.perf_counter() - t0))
    return best


def straightforward(W: torch.Tensor, x: torch.Tensor, dt: float, steps: int, transient: int) -> torch.Tensor:
    """Forms J at every stage and re-orthonormalises every step; returns the exponents (n,)."""
    n = W.shape[0]
    eye = torch.eye(n, dtype=W.dtype)

    def f(y):
        return -y + W @ torch.tanh(y)

    def jac(y):
        return -eye + W * (1 - torch.tanh(y) ** 2)[None, :]

    for _ in range(transient):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + f(x + dt * k3))
    V = torch.linalg.qr(torch.randn(n, n, dtype=W.dtype, generator=torch.Generator().manual_seed(0)))[0]
    total = torch.zeros(n, dtype=W.dtype)
    for _ in range(steps):
        k1 = f(x)
        x2 = x + 0.5 * dt * k1
        K1 = jac(x) @ V
        k2 = f(x2)
        x3 = x + 0.5 * dt * k2
        K2 = jac(x2) @ (V + 0.5 * dt * K1)
        k3 = f(x3)
        x4 = x + dt * k3
        K3 = jac(x3) @ (V + 0.5 * dt * K2)
        K4 = jac(x4) @ (V + dt * K3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + f(x4))
        V, R = torch.linalg.qr(V + dt / 6 * (K1 + 2 * K2 + 2 * K3 + K4))
        total += torch.diagonal(R).abs().log()
    return total / (steps * dt)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--g", type=float, default=1.5)
    p.add_argument("--t-total", type=float, default=100.0)
    p.add_argument("--t-transient", type=float, default=10.0)
    p.add_argument("--dt", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--sweep-n", type=int, nargs="*", default=[16, 64, 256], help="network sizes of the sweep table")
    p.add_argument("--sweep-k", type=int, default=4)
    p.add_argument("--sweep-networks", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    n, dt = args.n, args.dt
    net = ctrnn.RateRNN(n, g=args.g, zero_diagonal=True, seed=0)
    W = net.W.detach()
    x0 = torch.randn(n, generator=torch.Generator().manual_seed(1))
    steps, transient = round(args.t_total / dt), round(args.t_transient / dt)
    print(f"rate network N={n}, g={args.g}, zero diagonal, float64, RK4 dt={dt}, {args.t_total:g} time constants "
          f"measured ({steps} steps), {args.threads} thread(s), torch {torch.__version__}")

    rate = matmul_rate(n, n)
    ideal = 4 * steps / rate
    print(f"matmul ceiling: {rate:,.0f} products (N x N) @ (N x N) per second -> ideal {ideal:.2f} s for 4 per step")

    t0 = time.perf_counter()
    les = ctrnn.lyapunov_spectrum(net, x0, t_transient=args.t_transient, t_total=args.t_total, dt=dt,
                                  qr_interval=1.0, t_transient_vectors=dt)  # the shortest vector transient
    t_ctrnn = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = straightforward(W, x0, dt, steps, transient)
    t_naive = time.perf_counter() - t0

    print(f"{'method':40s} {'time (s)':>9s} {'% of ceiling':>13s} {'lambda_1':>9s} {'sum + N':>10s} {'vs ctrnn':>9s}")
    for name, t, lam in (("ctrnn lyapunov_spectrum (QR every 1.0)", t_ctrnn, les.exponents),
                         ("straightforward (J formed, QR every step)", t_naive, naive)):
        print(f"{name:40s} {t:9.2f} {100 * ideal / t:12.1f}% {float(lam[0]):+9.4f} {float(lam.sum()) + n:+10.2e} "
              f"{t / t_ctrnn:8.2f}x")
    diff = float((les.exponents - naive).abs().max())
    print(f"max |difference| between the two spectra: {diff:.2e} (finite-time estimates from the same start; "
          f"lambda_1 standard error {float(les.stderr[0]):.1e})")
    print(f"Kaplan-Yorke dimension {les.kaplan_yorke_dimension:.2f}, entropy {les.entropy:.4f}; "
          f"exact sum -N = {-n}: ctrnn off by {abs(float(les.exponents.sum()) + n) / n:.1e} relative")
    if not math.isfinite(diff):
        raise SystemExit("non-finite spectrum")
    for sweep_n in args.sweep_n:
        stacked_sweep(sweep_n, args.sweep_k, args.sweep_networks, args.t_total, dt)


def stacked_sweep(n: int, k: int, count: int, t_total: float, dt: float) -> None:
    """One after another against one stacked solve (the native batched products, the default, and torch.vmap),
    for ``count`` networks at gains 0.5 .. 3."""
    gains = torch.linspace(0.5, 3.0, count).tolist()
    nets = [ctrnn.RateRNN(n, g=g, seed=i) for i, g in enumerate(gains)]
    x0 = torch.randn(count, 4, n, generator=torch.Generator().manual_seed(2))
    opts = dict(k=k, t_transient=10.0, t_total=t_total, dt=dt)
    timings = {}
    for label, stack in (("one network at a time", False), ("stacked, native (the default)", None)):
        t0 = time.perf_counter()
        timings[label] = (ctrnn.lyapunov_spectra(nets, x0, stack=stack, seeds=list(range(count)), **opts),
                          time.perf_counter() - t0)
    # the vmap path on the same work: one solve of the stacked flow (its spectrum pools the networks' rows, so
    # only its time is compared)
    t0 = time.perf_counter()
    ctrnn.lyapunov_spectrum(ctrnn.stack_models(nets, native=False), x0.reshape(-1, n), **opts)
    timings["stacked, torch.vmap"] = (None, time.perf_counter() - t0)
    (alone, t_alone), (together, t_together) = list(timings.values())[:2]
    diff = max(float((a.exponents - b.exponents).abs().max()) for a, b in zip(alone, together))
    print(f"\ngain sweep: {count} networks N={n}, g = {gains[0]:g} .. {gains[-1]:g}, k={k}, 4 states each, "
          f"{t_total:g} time constants")
    print(f"{'method':40s} {'time (s)':>9s} {'vs one at a time':>17s}")
    for label, (_, t) in timings.items():
        print(f"{label:40s} {t:9.2f} {t_alone / t:16.2f}x")
    print(f"max |difference| native stacked vs one at a time: {diff:.1e}; lambda_1 from {together[0].largest:+.3f} "
          f"(g = {gains[0]:g}) to {together[-1].largest:+.3f} (g = {gains[-1]:g})")

if __name__ == "__main__":
    main()
