"""Batched fixed-point search against Adam on q (FixedPointFinder, CtD) and a loop of scipy.optimize.root, in one run.

Two problems, both float64, held input zero:

- ``random``: dx/dt = -x + W tanh(x), N = 128, g = 1.5 (chaotic), 1024 starts sampled from trajectories with
  noise 0.5.
- ``trained``: a 3-bit flip-flop rate network (Sussillo & Barak 2013), N = 128, trained here with
  ``ctrnn.train`` through its Euler map at dt = 0.2 tau (``FlipFlop(3, duration=40, dt=0.2,
  pulse_probability=0.02)``; 1500 Adam steps, batch 32, lr 5e-3 cosine: the ``flipflop_rate`` recipe of
  ``tests/trained/train.py`` at twice its size, with 1500 steps for its 1000 and half its lr 1e-2, at which N = 128
  ended at held-out accuracies of only 0.913, 0.945 and 0.919 after 1000, 1500 and 2000 steps; at lr 5e-3, 0.9894,
  at 3e-3, 0.9844; ``--trained-n 64 --trained-lr 1e-2`` is the recipe's own size); 1024 starts from its task
  trajectories on 64 unseen trials (``sample_starts``, noise 0.5). Its stable points should read out near the
  corners (+-1, +-1, +-1).

Methods, all from the same starts:

- ``ctrnn.find_fixed_points``: all starts at once (Levenberg-Marquardt, then Newton polish), its defaults; also with
  ``refine=1`` (one more round from starts it makes itself along the unstable eigenvectors of the points found, on
  their unstable manifolds and midway between points: more starts, so more work, and points the task starts do not
  reach). Converged: its own test ``|f| <= 1e-12 (1 + |x|_inf)`` (``1e-13`` on the random network).
- Adam on ``q = |f|^2 / 2`` as FixedPointFinder (Golub & Sussillo 2018, JOSS 3(31) 1003) runs it, written here from
  the documentation of its defaults (``FixedPointFinderBase`` / ``FixedPointFinderTF`` docstrings and the
  ``AdaptiveLearningRate`` / ``AdaptiveGradNormClip`` defaults of recurrent-whisperer, github.com/mattgolub): all
  starts jointly, minimising the mean of their q; at most ``max_iters = 5000`` iterations; stop once every start
  has ``q < tol_q = 1e-12`` or ``|dq| < tol_dq * lr`` with ``tol_dq = 1e-20``; TF1 Adam with ``epsilon = 0.01``
  (FixedPointFinder's one override; beta1 0.9, beta2 0.999); learning rate from 1.0, times 0.95 when the mean q is
  worse than all of the 5 before it, divided by 0.95 after 5 steady decreases (at least 5 steps between changes);
  the gradient's global norm clipped at the 95th percentile of the last 128 norms (from 1e12). Distance outliers
  (farther than 10 times the starts' mean distance from their centroid) are dropped, as its
  ``do_exclude_distance_outliers`` default does. Converged: ``q < tol_q``. (Its PyTorch port, FixedPointFinderTorch,
  differs: torch's Adam from lr 1.0 under ReduceLROnPlateau, no clipping; the TF loop is the one the paper presents.)
- Adam as the Computation-through-Dynamics benchmark runs it (``ctd/comparison/fixedpoints.py`` of
  github.com/snel-repo/ComputationThruDynamicsBenchmark): ``torch.optim.Adam`` at a constant lr 1e-2 (that function's
  default; its analysis classes pass 1e-3), 10000 iterations, no clipping and no early stop. Converged: ``q < 1e-12``
  as above (CtD itself keeps every start and plots those with ``q < 1e-5``; the count is printed).
- a loop of ``scipy.optimize.root`` (hybr, analytic Jacobian) per start, what a user without ctrnn writes;
  converged at ``q < 1e-20``. On the random network it runs on a subset of the starts (``--scipy-starts``, the time
  scaled up), on the trained one on all of them (``--trained-scipy-starts``).

Every method's converged points are de-duplicated the same way (``_unique`` of find_fixed_points, at FixedPointFinder's
``tol_unique = 1e-3`` relative to ``1 + |x|_inf``: Adam's points are only as accurate as ``q < 1e-12`` allows), and
classified from the eigenvalues of the Jacobian there (``classify``). The table prints time, converged starts, distinct
points, stable ones, the largest distance (Euclidean) from a stable point's readout to its nearest corner (trained
network), how many of the method's points ctrnn (the default row) also found, how many it did not, how many of ctrnn's
the method missed, and the time ratio to ctrnn. Times include each method's de-duplication and eigenvalues.

Measured on an AMD EPYC (2 cores, shared with other work), torch 2.13 CPU, 1 thread (``--threads 1``, all defaults;
about 5.5 minutes in all; the trained network alone, with its training, about 5 minutes).

Random network (scipy on 256 of the 1024 starts, its time scaled by 4):

  method                                    time (s) converged distinct stable  corner shared   new missed  / ctrnn
  ctrnn find_fixed_points                      14.15       957        8      2       -      8     0      0     1.0x
  ctrnn, refine=1 (1572 starts)                20.42      1469        9      2       -      8     1      0     1.4x
  Adam on q, FixedPointFinder                  26.19       494        6      2       -      6     0      2     1.9x
  Adam on q, CtD (lr 0.01)                     49.32         0        0      0       -      0     0      8     3.5x
  scipy.optimize.root loop (256 st., x4)       10.63       872        8      2       -      8     0      -     0.8x

  ctrnn's 8 points: 2 stable, 6 saddles with several unstable directions. FixedPointFinder's Adam used all 5000
  iterations (median final q 5.9e-12, 10% of the starts above 9.5e-5) and missed 2 of the saddles; CtD's brought
  no start below q = 1e-12 in 10000 iterations (median 2.2e-5; 361 below 1e-5).

Trained flip-flop, N = 128 (held-out accuracy 0.9901 after 1500 steps, trained in 103 s; scipy on all 1024 starts):

  method                                    time (s) converged distinct stable  corner shared   new missed  / ctrnn
  ctrnn find_fixed_points                       6.82      1024       27      8   0.094     27     0      0     1.0x
  ctrnn, refine=1 (1915 starts)                13.41      1915       27      8   0.094     27     0      0     2.0x
  Adam on q, FixedPointFinder                   6.51      1018       27      8   0.094     27     0      0     1.0x
  Adam on q, CtD (lr 0.01)                     48.80         0        0      0       -      0     0     27     7.2x
  scipy.optimize.root loop                      3.89      1024       27      8   0.094     27     0      0     0.6x

  ctrnn's 27 points: 8 stable, one at each corner (readouts within 0.094), 12 saddles with one unstable direction
  and 7 with more. Every start converges, and from the same starts FixedPointFinder's Adam (stopped at its
  tolerances after 1145 iterations; 1018 starts below q = 1e-12) and the scipy loop find the same 27 points;
  refine=1's 891 starts of its own find no others. CtD's Adam brings no start below q = 1e-12 in 10000 iterations
  (median 1.4e-5; 465 below 1e-5). At N = 128 ctrnn's batched search is as fast as FixedPointFinder's Adam and
  slower than the scipy loop (0.6x; at N = 64 it was 1.4x faster than the loop and 5.7x faster than the Adam).
  Each of its Levenberg-Marquardt iterations forms and solves a dense 128 x 128 system per start, where hybr
  updates its Jacobian by rank-one Broyden steps; issue 16's 30x over the loop (item 1: the structured Jacobian,
  Newton-Krylov through the JVP) is not done yet.

Usage: ``python benchmarks/fixed_points.py [--problem random|trained|both] [--n 128] [--g 1.5] [--trained-n 128]
[--trained-lr 5e-3] [--train-steps 1500] [--starts 1024] [--noise 0.5] [--scipy-starts 256] [--trained-scipy-starts 1024]
[--adam-iters 5000] [--ctd-iters 10000] [--ctd-lr 1e-2] [--threads 1]`` (``--adam-iters 0`` / ``--ctd-iters 0`` skip
those methods)
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import torch

import ctrnn
from ctrnn.analysis import classify, sample_starts
from ctrnn.analysis.stability._fixed_points import _unique

#: FixedPointFinder's tol_unique (FixedPointFinderBase defaults): every method's points are merged at it
UNIQUE_TOL = 1e-3
CORNERS = torch.tensor([[a, b, c] for a in (-1.0, 1.0) for b in (-1.0, 1.0) for c in (-1.0, 1.0)], dtype=torch.float64)


# ---------------------------------------------------------------------------------------------------------------
# Adam on q, as FixedPointFinder (TF version, the one the JOSS paper describes) and the CtD benchmark run it.
# Written from their documented defaults; the sources are named at each constant.
# ---------------------------------------------------------------------------------------------------------------

class AdaptiveRate:
    """The learning-rate schedule of recurrent-whisperer's AdaptiveLearningRate, at its defaults (``initial_rate``
    1.0, no warm-up, ``decrease_factor`` 0.95, ``min_steps_per_decrease`` 5, ``increase_factor`` 1/0.95,
    ``min_steps_per_increase`` 5; its ``min_rate`` and ``max_n_steps`` only end training, which FixedPointFinder
    does not use). After each step's loss: if at least 5 steps passed since the last change, the rate falls when this
    loss is worse than every one of the 5 before it, else rises when the last 6 losses fell strictly each step."""

    def __init__(self, initial: float = 1.0, factor: float = 0.95, window: int = 5):
        self.rate, self.factor, self.window = initial, factor, window
        self.losses: list[float] = []
        self.step, self.last_change = 0, 0

    def update(self, loss: float) -> None:
        self.losses.append(loss)
        n = self.window
        if self.step > 0 and self.step >= self.last_change + n:  # step 0 only sets the initial rate
            recent = self.losses[-(n + 1):]
            if all(recent[-1] > earlier for earlier in recent[:-1]):
                self.rate *= self.factor
                self.last_change = self.step
            elif all(later < earlier for earlier, later in zip(recent[:-1], recent[1:])):
                self.rate /= self.factor
                self.last_change = self.step
        self.step += 1


class AdaptiveClip:
    """recurrent-whisperer's AdaptiveGradNormClip at its defaults: the clip value is the 95th percentile of the last
    128 gradient norms (before clipping), at most 1e12, and 1e12 before any norm is seen."""

    def __init__(self, window: int = 128, percentile: float = 95.0, initial: float = 1e12, ceiling: float = 1e12):
        self.window, self.percentile, self.ceiling = window, percentile, ceiling
        self.value, self.norms = initial, np.zeros(0)

    def update(self, norm: float) -> None:
        self.norms = np.append(self.norms, norm)[-self.window:]
        self.value = min(float(np.percentile(self.norms, self.percentile)), self.ceiling)


@dataclass
class AdamResult:
    x: torch.Tensor  # (K, n) final iterates
    q: torch.Tensor  # (K,) q there
    iterations: int
    stopped: str


def adam_on_q(flow, x0: torch.Tensor, u: torch.Tensor | None, *, variant: str = "fpf", max_iters: int = 5000,
              tol_q: float = 1e-12, tol_dq: float = 1e-20, lr: float = 1e-2) -> AdamResult:
    """Minimise ``mean_k q(x_k)``, ``q = |f(x)|^2 / 2``, over all starts jointly by Adam (autograd gradient).

    ``variant="fpf"``: FixedPointFinder's loop (defaults of FixedPointFinderBase: max_iters 5000, tol_q 1e-12,
    tol_dq 1e-20; FixedPointFinderTF: TF1 AdamOptimizer with epsilon 0.01, adaptive learning rate and adaptive
    global-norm clipping, see the classes above). Each iteration evaluates q at the current states, then steps; it
    stops after an iteration (not the first) at which every start has ``q < tol_q`` or ``|q - q_prev| < tol_dq * lr``
    (dq scaled by the rate, as FixedPointFinder documents), or after ``max_iters`` iterations.
    ``variant="ctd"``: the CtD benchmark's loop: torch.optim.Adam (its defaults) at a constant ``lr``, ``max_iters``
    iterations, no clipping, no early stop.
    """
    x = x0.detach().clone().requires_grad_(True)
    t = torch.zeros((), dtype=x.dtype)
    K = x.shape[0]
    if variant == "ctd":
        opt = torch.optim.Adam([x], lr=lr)
        for _ in range(max_iters):
            f = flow(t, x, u)
            loss = 0.5 * (f * f).sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            q = 0.5 * flow(t, x, u).pow(2).sum(-1)
        return AdamResult(x.detach(), q, max_iters, "max_iters")
    if variant != "fpf":
        raise ValueError(f"unknown variant {variant!r}")
    # TF1 AdamOptimizer (its documented update, "epsilon hat" form): lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
    # x -= lr_t m / (sqrt(v) + eps); FixedPointFinder sets eps = 0.01 (its adam_hps default), the rest TF's defaults
    beta1, beta2, eps = 0.9, 0.999, 0.01
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    rate, clip = AdaptiveRate(), AdaptiveClip()
    q_prev = torch.full((K,), math.nan, dtype=x.dtype)
    stopped = "max_iters"
    iteration = 1
    while True:
        f = flow(t, x, u)
        q = 0.5 * (f * f).sum(-1)
        q_mean = q.mean()
        (grad,) = torch.autograd.grad(q_mean, x)
        lr_now = rate.rate
        with torch.no_grad():
            norm = float(grad.norm())  # tf.clip_by_global_norm: one norm over the whole (K, n) gradient
            if norm > clip.value:
                grad = grad * (clip.value / norm)
            m.mul_(beta1).add_(grad, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            lr_t = lr_now * math.sqrt(1 - beta2 ** iteration) / (1 - beta1 ** iteration)
            x.sub_(lr_t * m / (v.sqrt() + eps))
            q = q.detach()
            dq = (q - q_prev).abs()
            if iteration > 1 and bool(((dq < tol_dq * lr_now) | (q < tol_q)).all()):
                stopped = "tolerance"
                break
            if iteration + 1 > max_iters:
                break
            q_prev = q
        rate.update(float(q_mean.detach()))
        clip.update(norm)
        iteration += 1
    with torch.no_grad():
        q = 0.5 * flow(t, x, u).pow(2).sum(-1)  # at the states returned
    return AdamResult(x.detach(), q, iteration, stopped)


def drop_distance_outliers(x: torch.Tensor, starts: torch.Tensor, scale: float = 10.0) -> torch.Tensor:
    """FixedPointFinder's do_exclude_distance_outliers (default True, outlier_distance_scale 10): keep the states whose
    distance from the starts' centroid is at most ``scale`` times the starts' mean distance from it."""
    centre = starts.mean(0)
    typical = (starts - centre).norm(dim=-1).mean()
    return (x - centre).norm(dim=-1) <= scale * typical


# ---------------------------------------------------------------------------------------------------------------
# the common accounting
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    time: float
    converged: int | float
    points: torch.Tensor  # distinct, (P, n)
    stable: torch.Tensor  # (P,) bool
    n_unstable: torch.Tensor  # (P,) unstable directions
    subset: bool = False  # ran on a subset of the starts


def finish(points: torch.Tensor, speeds: torch.Tensor, flow, u) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Merge duplicates (the common tolerance) and classify the distinct points by their Jacobians' eigenvalues:
    (points, stable, unstable directions)."""
    pts, _ = _unique(points, speeds, UNIQUE_TOL)
    if pts.shape[0] == 0:
        return pts, torch.zeros(0, dtype=torch.bool), torch.zeros(0, dtype=torch.long)
    with torch.no_grad():
        evals = torch.linalg.eigvals(flow.jacobian(pts, u))
    stable, n_unstable, _ = classify(evals, False, tol=1e-6)  # find_fixed_points' kind tolerance at tol = 1e-12
    return pts, stable, n_unstable


def close_pairs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(A, B) bool: a's point i and b's point j are one point at the common tolerance."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return torch.zeros(a.shape[0], b.shape[0], dtype=torch.bool)
    scale = 1 + torch.maximum(a.abs().amax(-1)[:, None], b.abs().amax(-1)[None, :])
    return (a[:, None] - b[None]).abs().amax(-1) <= UNIQUE_TOL * scale


def matched(a: torch.Tensor, b: torch.Tensor) -> tuple[int, int]:
    """(how many of a's points have one of b's within the common tolerance, and how many of b's have one of a's)."""
    close = close_pairs(a, b)
    return int(close.any(1).sum()), int(close.any(0).sum())


def by_index(n_unstable: torch.Tensor) -> str:
    """'s stable, a 1-saddles, b with more unstable directions'."""
    n = n_unstable.tolist()
    return f"{sum(k == 0 for k in n)} stable, {sum(k == 1 for k in n)} 1-saddles, {sum(k > 1 for k in n)} more unstable"


def print_table(rows: list[Row], readout=None) -> None:
    ref = rows[0]
    head = (f"{'method':40s} {'time (s)':>9s} {'converged':>9s} {'distinct':>8s} {'stable':>6s} "
            f"{'corner':>7s} {'shared':>6s} {'new':>5s} {'missed':>6s} {'/ ctrnn':>8s}")
    print(head)
    for r in rows:
        corner = "-"
        if readout is not None and bool(r.stable.any()):
            with torch.no_grad():
                y = readout(r.points[r.stable])
            corner = f"{float((y[:, None] - CORNERS[None]).norm(dim=-1).amin(-1).max()):.3f}"
        shared, ref_found = matched(r.points, ref.points)
        missed = "-" if r.subset else str(ref.points.shape[0] - ref_found)
        conv = f"{r.converged:.0f}" if isinstance(r.converged, float) else str(r.converged)
        print(f"{r.name:40s} {r.time:9.2f} {conv:>9s} {r.points.shape[0]:>8d} {int(r.stable.sum()):>6d} "
              f"{corner:>7s} {shared:>6d} {r.points.shape[0] - shared:>5d} {missed:>6s} {r.time / ref.time:>7.1f}x")
    print("converged: starts (scaled for a subset); corner: largest distance from a stable point's readout to its "
          "nearest corner;\nshared / new: the method's distinct points that the first row also found / did not; "
          "missed: the first row's points the method did not find")


def run_methods(flow, u, starts: torch.Tensor, *, f_np, jac_np, ctrnn_tol: float | None, args,
                readout=None, scipy_starts: int | None = None) -> list[Row]:
    """Every method from ``starts``; returns the table's rows (first: ctrnn's defaults)."""
    # warm-up: each method once on a few starts (the first call of torch.optim.Adam alone costs about a second)
    few = starts[:8]
    ctrnn.find_fixed_points(flow, few, inputs=u, tol=ctrnn_tol, max_iter=5)
    adam_on_q(flow, few, u, variant="fpf", max_iters=5)
    adam_on_q(flow, few, u, variant="ctd", max_iters=5)
    scipy.optimize.root(f_np, few[0].numpy(), jac=jac_np, method="hybr", options={"xtol": 1e-14})
    rows = []
    for refine in (0, 1):
        t0 = time.perf_counter()
        fp = ctrnn.find_fixed_points(flow, starts, inputs=u, tol=ctrnn_tol, refine=refine)
        elapsed = time.perf_counter() - t0
        pts, _ = _unique(fp.points, fp.residuals, UNIQUE_TOL)  # its own merge is at 1e-6: re-merged like the others
        keep = torch.tensor([bool((fp.points[i] == pts).all(-1).any()) for i in range(len(fp))], dtype=torch.bool)
        name = f"ctrnn, refine={refine} ({fp.n_starts} starts)" if refine else "ctrnn find_fixed_points"
        rows.append(Row(name, elapsed, fp.n_converged, fp.points[keep], fp.stable[keep], fp.n_unstable[keep]))
        if refine == 0 and len(fp) != pts.shape[0]:
            print(f"(ctrnn's {len(fp)} points at its 1e-6 merge are {pts.shape[0]} at {UNIQUE_TOL:g})")

    for variant, iters, label in (("fpf", args.adam_iters, "Adam on q, FixedPointFinder"),
                                  ("ctd", args.ctd_iters, f"Adam on q, CtD (lr {args.ctd_lr:g})")):
        if iters <= 0:
            continue
        t0 = time.perf_counter()
        res = adam_on_q(flow, starts, u, variant=variant, max_iters=iters, lr=args.ctd_lr)
        ok = torch.isfinite(res.q) & (res.q < 1e-12) & drop_distance_outliers(res.x, starts)
        pts, stable, n_unst = finish(res.x[ok], res.q[ok].sqrt(), flow, u)
        elapsed = time.perf_counter() - t0
        rows.append(Row(label, elapsed, int(ok.sum()), pts, stable, n_unst))
        qs = res.q[torch.isfinite(res.q)]
        print(f"{label}: {res.iterations} iterations ({res.stopped}); q quantiles 10/50/90%: "
              + ", ".join(f"{float(qs.quantile(p)):.1e}" for p in (0.1, 0.5, 0.9))
              + f"; q < 1e-5 (CtD's plotting threshold): {int((qs < 1e-5).sum())}")

    k = min(args.scipy_starts if scipy_starts is None else scipy_starts, starts.shape[0])
    found = []
    t0 = time.perf_counter()
    for x in starts[:k].numpy():
        sol = scipy.optimize.root(f_np, x, jac=jac_np, method="hybr", options={"xtol": 1e-14})
        if 0.5 * np.sum(f_np(sol.x) ** 2) < 1e-20:
            found.append(sol.x)
    scale = starts.shape[0] / k
    elapsed = (time.perf_counter() - t0) * scale
    t0 = time.perf_counter()
    pts = torch.tensor(np.array(found)) if found else torch.zeros(0, starts.shape[1])
    speeds = torch.tensor([np.linalg.norm(f_np(x)) for x in found]) if found else torch.zeros(0)
    pts, stable, n_unst = finish(pts, speeds, flow, u)
    elapsed += time.perf_counter() - t0
    name = "scipy.optimize.root loop" + (f" ({k} st., x{scale:g})" if k < starts.shape[0] else "")
    rows.append(Row(name, elapsed, len(found) * scale if k < starts.shape[0] else len(found), pts, stable,
                    n_unst, subset=k < starts.shape[0]))
    print()
    print_table(rows, readout)
    details(rows, flow, u)
    return rows


def details(rows: list[Row], flow, u) -> None:
    """For each method: the kinds of the points it found that ctrnn's defaults did not (and whether Newton from them
    confirms them, and whether ctrnn's refinement round has them), and of ctrnn's points it missed."""
    ref, ref1 = rows[0], rows[1]
    print(f"ctrnn's defaults: {by_index(ref.n_unstable)}")
    for r in rows[1:]:
        close = close_pairs(r.points, ref.points)
        new = ~close.any(1)
        line = f"{r.name}: "
        if bool(new.any()):
            pts = r.points[new]
            with torch.no_grad():  # Newton from the new points: a true fixed point comes back where it was
                polished = ctrnn.find_fixed_points(flow, pts, inputs=u).points
            line += (f"new {int(new.sum())} ({by_index(r.n_unstable[new])}; Newton from them confirms "
                     f"{matched(pts, polished)[0]}")
            if r is not ref1:
                line += f", {matched(pts, ref1.points)[0]} among refine=1's"
            line += ")"
        else:
            line += "new 0"
        if not r.subset:
            missed = ~close.any(0)
            line += f"; missed {int(missed.sum())}"
            if bool(missed.any()):
                line += f" ({by_index(ref.n_unstable[missed])})"
        print(line)


def numpy_rate_flow(net: ctrnn.RateRNN, u: torch.Tensor | None):
    """f and its Jacobian in numpy for the x-form tanh rate network ``tau dx/dt = -x + W tanh(x) + W_in u + b``."""
    assert net.form == "x" and net.dale is None and net.phi.name == "tanh"
    W = net.W.detach().numpy()
    drive = net.bias.detach().numpy().copy()
    if u is not None:
        drive = drive + net.W_in.detach().numpy() @ u.numpy()
    tau = net.tau.detach().numpy()
    n = W.shape[0]

    def f(x):
        return (-x + W @ np.tanh(x) + drive) / tau

    def jac(x):
        return (-np.eye(n) + W * (1 - np.tanh(x) ** 2)[None, :]) / (tau if tau.ndim == 0 else tau[:, None])

    return f, jac


def check_numpy_flow(flow, u, f_np, starts: torch.Tensor) -> None:
    x = starts[:4]
    with torch.no_grad():
        ref = flow(torch.zeros(()), x, u).numpy()
    got = np.stack([f_np(row) for row in x.numpy()])
    assert np.abs(got - ref).max() <= 1e-12 * (1 + np.abs(ref).max()), "numpy flow disagrees with the model"


def random_problem(args) -> None:
    net = ctrnn.RateRNN(args.n, g=args.g, seed=0)
    traj = ctrnn.simulate(net, torch.randn(16, args.n, generator=torch.Generator().manual_seed(1)),
                          torch.linspace(0, 50, 201))
    starts = sample_starts(traj.x, args.starts, noise=args.noise, seed=2)
    for p in net.parameters():
        p.requires_grad_(False)
    print(f"\n== random rate network N={args.n}, g={args.g}, float64, {args.starts} starts (noise {args.noise})")
    f_np, jac_np = numpy_rate_flow(net, None)
    check_numpy_flow(net, None, f_np, starts)
    run_methods(net, None, starts, f_np=f_np, jac_np=jac_np, ctrnn_tol=1e-13, args=args)


def trained_problem(args) -> None:
    from ctrnn.training._train import trial_generator

    # the flipflop_rate recipe of tests/trained/train.py (N = 64 and lr 1e-2 there; 1500 steps by default, 1000
    # there): dt = 0.2 tau,
    # so that the trained flow (analysed here) holds the bits in fixed points (at dt = tau the trained Euler map may
    # hold them on period-2 orbits of the map)
    task = ctrnn.tasks.FlipFlop(3, duration=40, dt=0.2, pulse_probability=0.02)
    t0 = time.perf_counter()
    run = ctrnn.train(ctrnn.RateRNN(args.trained_n, n_inputs=3, seed=0).double(), task, steps=args.train_steps,
                      batch_size=32, lr=args.trained_lr, schedule="cosine", seed=0, validate_every=100)
    train_time = time.perf_counter() - t0
    batch = task.sample(64, trial_generator(0, "examples"))
    states, _ = run.respond(batch)
    starts = sample_starts(states, args.starts, noise=args.noise, seed=0)
    model = run.model
    for p in model.parameters():
        p.requires_grad_(False)
    u = torch.zeros(3, dtype=torch.float64)
    print(f"\n== trained 3-bit flip-flop rate network N={args.trained_n} ({args.train_steps} steps, "
          f"held-out accuracy {run.final_score:.4f}, trained in {train_time:.0f} s), float64, input 0, "
          f"{args.starts} starts from task trajectories (noise {args.noise})")
    f_np, jac_np = numpy_rate_flow(model.network, u)
    check_numpy_flow(model, u, f_np, starts)
    run_methods(model, u, starts, f_np=f_np, jac_np=jac_np, ctrnn_tol=None, args=args, readout=model.output,
                scipy_starts=args.trained_scipy_starts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--problem", choices=("random", "trained", "both"), default="both")
    p.add_argument("--n", type=int, default=128, help="random network size")
    p.add_argument("--g", type=float, default=1.5, help="random network gain")
    p.add_argument("--trained-n", type=int, default=128, help="flip-flop network size")
    p.add_argument("--trained-lr", type=float, default=5e-3, help="flip-flop learning rate (1e-2 at N = 64)")
    p.add_argument("--train-steps", type=int, default=1500)
    p.add_argument("--starts", type=int, default=1024)
    p.add_argument("--noise", type=float, default=0.5, help="start noise (FixedPointFinder's example uses 0.5)")
    p.add_argument("--scipy-starts", type=int, default=256, help="random network: starts for the scipy loop (scaled)")
    p.add_argument("--trained-scipy-starts", type=int, default=1024, help="trained network: the same")
    p.add_argument("--adam-iters", type=int, default=5000, help="FixedPointFinder's max_iters (0: skip)")
    p.add_argument("--ctd-iters", type=int, default=10000, help="the CtD benchmark's max_iters (0: skip)")
    p.add_argument("--ctd-lr", type=float, default=1e-2, help="the CtD benchmark's Adam learning rate")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    print(f"{args.threads} thread(s), torch {torch.__version__}")
    if args.problem in ("random", "both"):
        random_problem(args)
    if args.problem in ("trained", "both"):
        trained_problem(args)


if __name__ == "__main__":
    main()
