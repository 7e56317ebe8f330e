"""Universality (Maheswaranathan, Williams, Golub, Ganguli & Sussillo 2019): rate networks, GRUs and LSTMs trained on
the 3-bit flip-flop (32 units, 3 seeds each; ``tests/trained/universality_*.safetensors``, made by
``tests/trained/train.py``) differ in their weights and readout accuracy but share the task's fixed-point topology.
A file of its own so that it runs beside the other trained-network tests."""

from __future__ import annotations

import sys
from pathlib import Path

import ctrnn
from ctrnn.mechanisms import compare_topologies, task_fixed_points

TRAINED = Path(__file__).resolve().parent / "trained"
sys.path.insert(0, str(TRAINED))
import train as recipes  # noqa: E402  (the task and the architectures and seeds trained)


def test_the_flip_flop_topology_is_the_same_across_architectures_and_seeds():
    task = recipes.flipflop()
    # 32 trials and 128 starts: a size that runs in minutes, as the issue asks (measured here: about a minute for all
    # nine; the counts below are those found at 64 trials and 256 starts too)
    found = {f"{a} seed {s}": task_fixed_points(ctrnn.load(TRAINED / f"universality_{a}_{s}.safetensors"), task,
                                                trials=32, starts=128, seed=s)
             for a in recipes.ARCHITECTURES for s in recipes.SEEDS}
    table = compare_topologies(found)
    assert table.names == list(found)
    assert sorted(set(table.groups)) == sorted(recipes.ARCHITECTURES)
    for i, name in enumerate(table.names):
        said = (name, table.table())
        # one stable point per memory: 8 of them, on the 8 corners of the output cube
        assert int(table.n_stable[i]) == 8 and int(table.n_patterns[i]) == 8, said
        # their readouts on the right side of each corner with margin; the 32-unit GRUs and LSTMs read out less
        # exactly than the 64-unit networks of test_trained_mechanisms.py (measured: rate 0.10-0.12, GRU 0.18-0.20,
        # LSTM 0.20-0.31), so the bound is the largest measured plus a margin, not that file's 0.15
        assert float(table.pattern_error[i]) < 0.4, said
        # every saddle whose two branches end on two memories joins memories one output apart, and the saddles
        # cover the cube's 12 edges (measured: 12 joining in all but GRU seed 0, which has 16 one-unstable-direction
        # saddles of which 11 join two memories: one edge's saddle not found from these starts)
        assert int(table.n_one_flip[i]) == int(table.n_joining[i]) >= 11, said
        assert int(table.n_saddles[i]) >= int(table.n_joining[i]), said
    assert sum(int(n) >= 12 for n in table.n_joining) >= 8, table.table()
