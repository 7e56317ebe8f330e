"""Training speed of ``ctrnn.train`` against a hand-written ``torch.nn.RNN`` loop on the same data, in one run.

Problem (issue defaults): the 3-bit flip-flop (Sussillo & Barak 2013), 200 steps per trial, batch 64, Adam
(lr 1e-3, gradient norm clipped at 1), masked MSE, float32. ctrnn trains a rate network in r-form with tanh,
``dt = tau``, through its discrete map (the default path): the same update as ``torch.nn.RNN``
(``r_{k+1} = tanh(W_ih u_k + W_hh r_k + b)``), whose loop is what a user without ctrnn writes. Both draw the
same trials from the task (the same generator, so sampling costs both the same), and neither validates while it
is timed. Prints steps per second at each size and their ratio; then, at N = 128, the time ctrnn takes to reach
99% of bits correct on 1000 held-out trials, and what the dynamics tracking (finite-time Lyapunov exponent and
gradient-propagation rate every 50 steps) adds.

Usage: ``python benchmarks/train.py [--sizes 16,64,128,256,512] [--steps 30] [--threads 2] [--skip-accuracy]``
"""

from __future__ import annotations

import argparse
import time

import torch

import ctrnn
from ctrnn.tasks import FlipFlop
from ctrnn.training import masked_mse


def hand_loop(n: int, task: FlipFlop, steps: int, batch: int, seed: int) -> float:
    """Steps per second of the plain loop: nn.RNN + nn.Linear, masked MSE, Adam, clipping."""
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(task.input_dim, n, nonlinearity="tanh")
    readout = torch.nn.Linear(n, task.output_dim)
    params = [*rnn.parameters(), *readout.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        trials = task.sample(batch, generator).to(torch.float32)
        states, _ = rnn(trials.inputs)
        loss = masked_mse(readout(states), trials.targets, trials.mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return steps / (time.perf_counter() - start)


def network(n: int, task: FlipFlop, seed: int) -> ctrnn.RateRNN:
    return ctrnn.RateRNN(n, n_inputs=task.input_dim, form="r", activation="tanh", tau=task.dt, g=1.0, seed=seed)


def ctrnn_loop(n: int, task: FlipFlop, steps: int, batch: int, seed: int) -> float:
    """Steps per second of ctrnn.train, everything included: its set-up (the readout, the settings' digest) and
    the one validation at the end, on a single trial."""
    net = network(n, task, seed)
    start = time.perf_counter()
    run = ctrnn.train(net, task, steps=steps, batch_size=batch, lr=1e-3, clip_grad_norm=1.0, validate_every=steps,
                      validation_trials=1, seed=seed, dtype=torch.float32)
    elapsed = time.perf_counter() - start
    return len(run.loss) / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="16,64,128,256,512")
    p.add_argument("--steps", type=int, default=30, help="optimizer steps timed per size and loop")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--skip-accuracy", action="store_true", help="skip the time-to-99% and tracking runs")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    task = FlipFlop(n_bits=3, duration=200.0, dt=1.0)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"3-bit flip-flop, 200 steps per trial, batch {args.batch}, float32, {args.threads} thread(s), "
          f"torch {torch.__version__}")
    print(f"{'N':>5s} {'nn.RNN loop (steps/s)':>22s} {'ctrnn.train (steps/s)':>22s} {'ratio':>6s}")
    for n in sizes:
        hand_loop(n, task, 2, args.batch, 0), ctrnn_loop(n, task, 2, args.batch, 0)  # warm-up
        # interleaved, best of two, so that a slow moment of the machine does not land on one side only
        hand = max(hand_loop(n, task, args.steps, args.batch, 0) for _ in range(2))
        ours = max(ctrnn_loop(n, task, args.steps, args.batch, 0) for _ in range(2))
        print(f"{n:5d} {hand:22.1f} {ours:22.1f} {ours / hand:6.2f}")
    if args.skip_accuracy:
        return

    n = 128
    start = time.perf_counter()
    run = ctrnn.train(network(n, task, 0), task, steps=4000, batch_size=args.batch, lr=1e-3, validate_every=50,
                      validation_trials=1000, target_score=0.99, seed=0, dtype=torch.float32)
    reached = time.perf_counter() - start
    print(f"N = {n}: {run.stopped} after {int(run.steps[-1])} steps, {reached:.1f} s; held-out bits correct "
          f"{run.final_score:.4f} on 1000 trials")
    plain = ctrnn.train(network(n, task, 0), task, steps=200, batch_size=args.batch, validate_every=200,
                        validation_trials=1, seed=0, dtype=torch.float32)
    tracked = ctrnn.train(network(n, task, 0), task, steps=200, batch_size=args.batch, validate_every=200,
                          validation_trials=1, track_every=50, seed=0, dtype=torch.float32)
    print(f"dynamics tracking every 50 steps (16 trials): {tracked.wall_time:.1f} s against {plain.wall_time:.1f} s "
          f"for 200 steps, {100 * (tracked.wall_time / plain.wall_time - 1):+.0f}%")


if __name__ == "__main__":
    main()
