"""Long simulations that write their results as they go and can be resumed."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from .._progress import ProgressBar
from .._simulate import SolverStats, Trajectory, is_fixed_step, prepare_problem, provenance, simulate
from ..systems._base import System
from .._format import read, write_file
from .._identity import content_digest
from ._results import decode_result


def _chunk_bounds(n_points: int, chunks: int) -> list[int]:
    """Output-grid indices where chunks start and end; they depend only on the grid, so a resumed
    run cuts the solve exactly where the first run did."""
    last = n_points - 1
    return sorted({round(i * last / chunks) for i in range(chunks + 1)})


def _checkpoint_record(complete: bool, points_done: int, points_total: int, identity: dict[str, str],
                       resumed_from: int) -> dict[str, Any]:
    """``metadata["checkpoint"]``; ``resumed_from`` (the points saved when this session began) only when resumed."""
    record = {"complete": complete, "points_done": points_done, "points_total": points_total, "identity": identity}
    return record | ({"resumed_from": resumed_from} if resumed_from else {})


def _save_checkpoint(path: Path, t: torch.Tensor, x_done: torch.Tensor, u_done: torch.Tensor | None, stats: SolverStats,
                     settings: dict[str, Any], metadata: dict[str, Any], complete: bool,
                     identity: dict[str, str], resumed_from: int = 0) -> None:
    tensors = {"t": t[: len(x_done)], "x": x_done}
    if u_done is not None:
        tensors["u"] = u_done
    if not complete:
        tensors["t_full"] = t
    write_file(path, tensors, "Trajectory", {
        "stats": asdict(stats), **settings,
        "metadata": {**metadata, "checkpoint": _checkpoint_record(complete, len(x_done), len(t), identity,
                                                                  resumed_from)}})


def simulate_to_file(system: System, x0: Any, t: Any, path: str | os.PathLike, *, inputs: Any = None,
                     method: str = "dopri5", rtol: float = 1e-7, atol: float = 1e-9, step_size: float | None = None,
                     chunks: int = 100, checkpoint_seconds: float = 30.0, resume: bool = False,
                     max_steps: int | None = None, progress: bool = False,
                     metadata: dict[str, Any] | None = None) -> Trajectory:
    """:func:`~ctrnn.simulate` in chunks of the output grid, saving the trajectory so far to ``path``.

    The solve restarts at each chunk boundary from the last state (an adaptive method picks its step
    size afresh there, so results agree with one uninterrupted :func:`~ctrnn.simulate` to the solver
    tolerance, not bit for bit). The trajectory is written at most every ``checkpoint_seconds`` and at
    the end; an interrupted run loses at most that much work. The file loads with :func:`ctrnn.load`;
    an unfinished one has ``metadata["checkpoint"]["complete"] == False`` and only the points done; a session
    that resumed one records in ``metadata["checkpoint"]["resumed_from"]`` how many points were saved when it began.

    Arguments:
        system, x0, t, inputs, method, rtol, atol, step_size, max_steps, metadata: as for ``simulate``.
        path: ``.safetensors`` file to write.
        chunks: number of pieces the output grid is cut into (at most ``len(t) - 1``).
        checkpoint_seconds: least wall time between two writes (0: after every chunk; the CLI's config key
            ``simulation.checkpoint_seconds``).
        resume: continue from an unfinished ``path`` written by the same problem: the same grid and solver
            settings, and bit for bit the same model tensors, initial states and inputs on the grid (checked by
            their SHA-256 content hashes, which the file records); ``chunks`` may differ. A finished one is
            returned as it is.
        progress: show a progress bar over model time.

    Returns:
        The whole :class:`~ctrnn.Trajectory` (stats summed over the chunks and sessions).

    Raises:
        ValueError: as ``simulate``; a ``path`` that exists without ``resume``; a checkpoint that
            does not match this problem.
        DivergenceError: as ``simulate``; the points before the blow-up stay saved.
    """
    path = Path(path)
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"chunks must be a positive int, got {chunks!r}")
    x0, t, u = prepare_problem(system, x0, t, inputs)
    fixed = is_fixed_step(method)  # as simulate records it: a fixed-step method has no tolerances
    settings = {"method": method, "rtol": None if fixed else rtol, "atol": None if fixed else atol,
                "step_size": step_size}
    meta = provenance(system, metadata)
    # what makes this run this run: the model's tensors, the initial states and the input on the grid (its
    # config alone does not: two networks of one config differ in W); the chunks are bookkeeping only
    with torch.no_grad():
        identity = {"model": content_digest(system), "x0": content_digest(x0),
                    "inputs": content_digest(None if u is None else u.sample(t))}

    x_done, stats = x0[None], SolverStats(nfe=0, n_accepted=None, n_rejected=None, n_steps=None, wall_time=0.0)
    if path.exists():
        if not resume:
            raise ValueError(f"{path} exists; pass resume=True to continue it, or choose another path")
        x_done, stats, finished = _load_checkpoint(path, x0, t, settings, meta, identity)
        if finished is not None:
            return finished
    resumed_from = len(x_done) if len(x_done) > 1 else 0  # an unfinished file holds x0 and at least one point

    bounds = _chunk_bounds(len(t), min(chunks, len(t) - 1))
    last_write = time.perf_counter()
    sol_kwargs = {"method": method, "rtol": rtol, "atol": atol, "step_size": step_size, "max_steps": max_steps}
    try:
        with ProgressBar("simulating", float(t[-1]), start=float(t[0]), enabled=progress) as bar:
            for a, b in zip(bounds[:-1], bounds[1:]):
                if b < len(x_done):
                    continue  # done in an earlier session
                # from the last point done: an earlier session may have cut the grid elsewhere (other chunks)
                a = len(x_done) - 1
                part = simulate(system, x_done[-1].detach(), t[a: b + 1], inputs=u, **sol_kwargs)
                x_done = torch.cat([x_done, part.x[1:].detach()])
                stats = _add(stats, part.stats)
                bar.update(float(t[b]))
                if time.perf_counter() - last_write >= checkpoint_seconds and b < len(t) - 1:
                    _save_checkpoint(path, t, x_done, None, stats, settings, meta, complete=False, identity=identity,
                                     resumed_from=resumed_from)
                    last_write = time.perf_counter()
    except BaseException:
        if len(x_done) > 1:  # keep what was done: a Ctrl-C or a blow-up loses nothing before it
            _save_checkpoint(path, t, x_done, None, stats, settings, meta, complete=False, identity=identity,
                             resumed_from=resumed_from)
        raise
    with torch.no_grad():
        u_grid = None if u is None else u.sample(t)
    _save_checkpoint(path, t, x_done, u_grid, stats, settings, meta, complete=True, identity=identity,
                     resumed_from=resumed_from)
    full_meta = {**meta, "checkpoint": _checkpoint_record(True, len(t), len(t), identity, resumed_from)}
    return Trajectory(t=t, x=x_done, u=u_grid, stats=stats, metadata=full_meta, **settings)


def _add(a: SolverStats, b: SolverStats) -> SolverStats:
    def plus(p: int | None, q: int | None) -> int | None:
        return q if p is None else (p if q is None else p + q)

    return SolverStats(nfe=a.nfe + b.nfe, n_accepted=plus(a.n_accepted, b.n_accepted),
                       n_rejected=plus(a.n_rejected, b.n_rejected), n_steps=plus(a.n_steps, b.n_steps),
                       wall_time=a.wall_time + b.wall_time)


def _load_checkpoint(path: Path, x0: torch.Tensor, t: torch.Tensor, settings: dict[str, Any], meta: dict[str, Any],
                     identity: dict[str, str]) -> tuple[torch.Tensor, SolverStats, Trajectory | None]:
    kind, tensors, saved = read(path)
    not_checkpoint = ValueError(f"{path} is not a checkpoint written by simulate_to_file; choose another path")
    if kind != "Trajectory":
        raise not_checkpoint
    try:  # every field checked, as ctrnn.load checks a trajectory
        decode_result(kind, tensors, saved)
    except ValueError as exc:
        raise ValueError(f"cannot resume from {path}: {exc}") from None
    checkpoint = saved["metadata"].get("checkpoint")
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("complete"), bool):
        raise not_checkpoint
    complete = checkpoint["complete"]
    if not complete and "t_full" not in tensors:
        raise ValueError(f"cannot resume from {path}: an unfinished checkpoint without its full time grid t_full")
    t_saved = tensors["t"] if complete else tensors["t_full"]
    x_saved = tensors["x"].to(dtype=x0.dtype, device=x0.device)
    problems = []
    if t_saved.shape != t.shape or not torch.equal(t_saved.to(t.dtype), t.cpu().to(t.dtype)):
        problems.append("time grid")
    if x_saved.shape[1:] != x0.shape or not torch.equal(x_saved[0], x0):
        problems.append("initial states")
    if saved["metadata"].get("system") != meta["system"]:
        problems.append("model")
    stored = checkpoint.get("identity")
    if not isinstance(stored, dict):
        raise ValueError(f"the checkpoint {path} was written by an earlier ctrnn that recorded no content hashes, so "
                         "it cannot be shown to be this run; delete it or write to another path")
    what = {"model": "model tensors (W, biases, ...)", "x0": "initial states", "inputs": "inputs"}
    problems += [what[key] for key in identity if stored.get(key) != identity[key] and what[key] not in problems]
    if any(saved.get(k) != v for k, v in settings.items()):
        problems.append("solver settings")
    if problems:
        raise ValueError(f"the checkpoint {path} was written for a different problem (it differs in: "
                         f"{', '.join(problems)}); delete it or write to another path")
    stats = SolverStats(**saved["stats"])
    if complete:
        return x_saved, stats, replace(decode_result("Trajectory", tensors, saved), t=t, x=x_saved)
    return x_saved, stats, None
