"""The 3-bit flip-flop of Sussillo & Barak (2013): train a network to hold the sign of the last pulse on each of
three channels, then open the black box: 8 stable fixed points, one per memory (the corners of the output cube),
and between each two memories one bit apart a saddle whose unstable manifold leads to both. Then the same for
several architectures and seeds (universality, Maheswaranathan et al. 2019)."""

from __future__ import annotations

from typing import Any, Callable

from ctrnn import Report

from ._trained import build_task, report_trained, train, universality


def run(cfg: dict[str, Any], log: Callable[[str], None]) -> Report:
    s = cfg["settings"]
    task = build_task(cfg)
    first = train(cfg, task, s["architectures"][0], s["seeds"][0], log)
    doc = report_trained(cfg, first, task, log, cfg["experiment"]["title"])
    universality(cfg, task, doc, log, first=first)
    return doc
