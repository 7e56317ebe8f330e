"""Batched fixed-point search against a loop of scipy.optimize.root, in one run.

Problem (issue defaults): a random rate network dx/dt = -x + W tanh(x), N = 128, g = 1.5, float64,
1024 starts sampled from trajectories with noise. ctrnn runs all starts at once (Levenberg-Marquardt,
then Newton polish); the loop calls scipy.optimize.root (hybr, with the analytic Jacobian) per start,
what a user without ctrnn writes. Both count a start as converged at q = |f|^2 / 2 < 1e-20, and both
de-duplicate the same way. Prints time, converged starts, distinct points, and the ratio.

Usage: ``python benchmarks/fixed_points.py [--n 128] [--g 1.5] [--starts 1024] [--scipy-starts 256] [--threads 2]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.optimize
import torch

import ctrnn
from ctrnn.analysis import sample_starts
from ctrnn.analysis.stability._fixed_points import _unique


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--g", type=float, default=1.5)
    p.add_argument("--starts", type=int, default=1024)
    p.add_argument("--scipy-starts", type=int, default=256, help="starts timed for the scipy loop (scaled)")
    p.add_argument("--noise", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)

    net = ctrnn.RateRNN(args.n, g=args.g, seed=0)
    traj = ctrnn.simulate(net, torch.randn(16, args.n, generator=torch.Generator().manual_seed(1)),
                          torch.linspace(0, 50, 201))
    starts = sample_starts(traj.x, args.starts, noise=args.noise, seed=2)
    print(f"rate network N={args.n}, g={args.g}, float64, {args.starts} starts, {args.threads} thread(s), torch {torch.__version__}")

    t0 = time.perf_counter()
    fp = ctrnn.find_fixed_points(net, starts, tol=1e-13)
    t_ctrnn = time.perf_counter() - t0
    n_conv_ctrnn = fp.n_converged  # |f| <= 1e-13 (1 + |x|), well inside q < 1e-20

    W = net.W.detach().numpy()

    def f(x):
        return -x + W @ np.tanh(x)

    def jac(x):
        return -np.eye(args.n) + W * (1 - np.tanh(x) ** 2)[None, :]

    k = min(args.scipy_starts, args.starts)
    found = []
    t0 = time.perf_counter()
    for x in starts[:k].numpy():
        sol = scipy.optimize.root(f, x, jac=jac, method="hybr", options={"xtol": 1e-14})
        if 0.5 * np.sum(f(sol.x) ** 2) < 1e-20:
            found.append(sol.x)
    t_scipy = (time.perf_counter() - t0) * args.starts / k
    pts = torch.tensor(np.array(found)) if found else torch.zeros(0, args.n)
    speeds = torch.tensor([np.linalg.norm(f(x)) for x in found]) if found else torch.zeros(0)
    distinct_scipy = _unique(pts, speeds, 1e-6)[0].shape[0]

    print(f"{'method':34s} {'time (s)':>9s} {'converged':>10s} {'distinct':>9s}")
    print(f"{'ctrnn find_fixed_points (batched)':34s} {t_ctrnn:9.2f} {n_conv_ctrnn:>10d} {len(fp):>9d}")
    print(f"{'scipy.optimize.root loop (x' + format(args.starts / k, 'g') + ')':34s} {t_scipy:9.2f} "
          f"{round(len(found) * args.starts / k):>10d} {distinct_scipy:>9d}   (distinct among {k} starts)")
    print(f"ratio scipy / ctrnn: {t_scipy / t_ctrnn:.1f}x")


if __name__ == "__main__":
    main()
