"""Chunked and associative scans against the sequential rollout for a diagonal (LRU-style) SSM, in one run.

Problem (issue defaults): complex diagonal SSM, n = 64 states, batch 32, one input channel, ZOH with
dt = 1, sequence lengths T = 1k ... 16k. Rows per T: the sequential ``rollout`` (T small kernels), the
default ``scan`` (the chunked scan: two passes of about sqrt(T) steps over all chunks at once, the
associative scan between chunks), the associative scan alone (``scan(chunk=1)``: ceil(log2 T) rounds over
the whole sequence), the rollout's time over each, and the scan against the memory-bound floor: one fused
multiply-add over the whole ``(T, batch, n)`` state, the least work any evaluation does. The crossover is
the shortest T from which the scan wins.

Usage: ``python benchmarks/scan.py [--n 64] [--batch 32] [--lengths 1024 2048 ...] [--threads 2]
[--dtype complex64] [--device cpu]``
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import ctrnn


def best_time(fn, sync, repeats: int, min_time: float = 2.0) -> float:
    best, began, rounds = math.inf, time.perf_counter(), 0
    while rounds < repeats or time.perf_counter() - began < min_time:
        rounds += 1
        sync()
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lengths", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--dtype", default="complex64", choices=["complex64", "complex128"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    cdtype = getattr(torch, args.dtype)
    rdtype = cdtype.to_real()

    ssm = ctrnn.DiagonalSSM.lru(args.n, 1, seed=0).to(dev)
    dmap = ctrnn.discretize(ssm, 1.0, scheme="zoh")
    dmap.Abar, dmap.Bbar = dmap.Abar.to(cdtype), dmap.Bbar.to(cdtype)
    print(f"diagonal SSM n={args.n}, batch={args.batch}, {args.dtype}, {args.threads} thread(s), {dev}, "
          f"torch {torch.__version__}")
    print(f"{'T':>6s} {'rollout (ms)':>13s} {'scan (ms)':>10s} {'assoc. (ms)':>12s} {'rollout/scan':>13s} "
          f"{'rollout/assoc.':>15s} {'floor (ms)':>11s} {'scan/floor':>11s} {'max |diff|':>11s}")
    ratios: list[tuple[int, float]] = []
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for T in args.lengths:
            u = torch.randn(T, args.batch, 1, generator=gen).to(dev, rdtype)
            x0 = torch.zeros(args.batch, args.n, dtype=cdtype, device=dev)
            state = torch.randn(T, args.batch, args.n, generator=gen).to(dev, cdtype)
            A = dmap.Abar.expand(T, args.batch, args.n)
            t_seq = best_time(lambda: dmap.rollout(x0, u), sync, args.repeats)
            t_par = best_time(lambda: dmap.scan(x0, u), sync, args.repeats)
            t_assoc = best_time(lambda: dmap.scan(x0, u, chunk=1), sync, args.repeats)
            t_floor = best_time(lambda: torch.addcmul(state, A, state), sync, args.repeats)
            reference = dmap.rollout(x0, u)
            diff = max(float((reference - dmap.scan(x0, u, chunk=chunk)).abs().max()) for chunk in (None, 1))
            ratio = t_seq / t_par
            ratios.append((T, ratio))
            print(f"{T:6d} {1e3 * t_seq:13.1f} {1e3 * t_par:10.1f} {1e3 * t_assoc:12.1f} {ratio:12.2f}x "
                  f"{t_seq / t_assoc:14.2f}x {1e3 * t_floor:11.2f} "
                  f"{t_par / t_floor:10.1f}x {diff:11.2e}")
    # the crossover: the shortest length from which the scan wins at every longer length measured
    losing = [T for T, r in ratios if r <= 1.0]
    winning_from = [T for T, _ in ratios if not losing or T > max(losing)]
    if not winning_from:
        print(f"crossover: none; the sequential rollout is as fast or faster up to T = {ratios[-1][0]} here")
    else:
        print(f"crossover: the scan wins from T = {winning_from[0]} on (of the lengths measured)")

if __name__ == "__main__":
    main()
