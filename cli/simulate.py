"""``ctrnn simulate``: trajectories of a model from random initial states."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli._defaults import BASE
from cli._options import FLAG, ModelOpt, Shared, flag, shared_options
from cli._run_folder import command_line

DEFAULTS: dict[str, Any] = {
    **BASE,
    "simulation": {"t_end": 100.0, "dt_out": 0.1, "batch": 8, "x0_scale": 1.0, "method": "dopri5",
                   "rtol": 1e-7, "atol": 1e-9, "step_size": None,
                   # the least wall time between two writes of the trajectory so far (0: after every chunk)
                   "checkpoint_seconds": 30.0},
    "input": {"kind": "none", "amplitude": 1.0, "start": 10.0, "stop": 20.0},
    "output": {"plot_traces": 8},
}


N = flag("model.n", int, "Number of units (rate model).")
G = flag("model.g", float, "Gain of the random weights (rate model).")
TEnd = flag("simulation.t_end", float, "Simulate t in [0, t_end] (time constants).")
DtOut = flag("simulation.dt_out", float, "Spacing of the saved time points.")
Batch = flag("simulation.batch", int, "Number of initial states.")
Method = flag("simulation.method", str, "Solver (dopri5, rk4, ...).")
Rtol = flag("simulation.rtol", float, "Relative tolerance (adaptive methods).")
Atol = flag("simulation.atol", float, "Absolute tolerance (adaptive methods).")
StepSize = flag("simulation.step_size", float, "Step of fixed-step methods.")
Resume = Annotated[bool, typer.Option("--resume", metavar=FLAG,
                                         help="Continue an interrupted run in --out from its config.toml.")]


@shared_options(ModelOpt, N, G, TEnd, DtOut, Batch, Method, Rtol, Atol, StepSize, defaults=DEFAULTS)
def simulate(opts: Shared, resume: Resume = False) -> None:
    """Simulate a model from random initial states; write the trajectory, the model, plots and the resolved config.

    The trajectory is written as the run goes; an interrupted run continues with --resume --out DIR.
    """
    import torch

    import ctrnn
    from ctrnn.setup import build_input, build_model_and_states, check_size, time_grid

    if resume and opts.given():
        raise ValueError("--resume takes every setting from the run's own config.toml; give only --out (and --quiet)")
    folder = opts.folder("simulate", resume=resume)
    cfg = opts.resolve(DEFAULTS, config=folder.config if resume else None)
    sim = cfg["simulation"]
    ctrnn.METHODS[sim["method"]]  # unknown names fail here, before any file is written (ranges: BOUNDS)
    system, x0 = build_model_and_states(cfg, sim["batch"], sim["x0_scale"])
    inputs = build_input(cfg["input"], system, sim["t_end"])
    t = time_grid(sim["t_end"], sim["dt_out"], x0.numel(), what="the trajectory (simulation.t_end / "
                  "simulation.dt_out time points x batch x n)", fix="raise simulation.dt_out or lower simulation.t_end")
    if sim["step_size"] is not None:
        check_size(sim["t_end"] / sim["step_size"], "the fixed-step grid (simulation.t_end / simulation.step_size)",
                   "raise simulation.step_size")
    folder.create(cfg)
    path = folder.file("trajectory.safetensors")
    try:
        with torch.no_grad():
            traj = ctrnn.simulate_to_file(
                system, x0, t, path, inputs=inputs, method=sim["method"], rtol=sim["rtol"], atol=sim["atol"],
                step_size=sim["step_size"], checkpoint_seconds=sim["checkpoint_seconds"], resume=resume,
                progress=not opts.quiet,
                metadata={"seed": cfg["seed"], "command": command_line(), "config": cfg})
    except KeyboardInterrupt:
        typer.echo(f"interrupted; the trajectory so far is in {path}; continue with: "
                   f"ctrnn simulate --resume --out {folder.path}", err=True)
        raise typer.Exit(130) from None
    try:
        system.save(str(folder.file("model.safetensors")))
    except NotImplementedError:  # a model that cannot be saved (a VectorField's function)
        folder.forget("model.safetensors")
    folder.figure(traj.plot(max_traces=cfg["output"]["plot_traces"]), "trajectory")
    s = traj.stats
    steps_txt = "" if s.n_accepted is None else f", {s.n_accepted} accepted / {s.n_rejected} rejected steps"
    resumed = traj.metadata["checkpoint"].get("resumed_from", 0)
    done = [f"resumed at t = {float(t[resumed - 1]):g}, from the {resumed} of {len(t)} time points saved"]
    folder.finish(*(done if resumed else []), system.describe(),
                  f"simulated {sim['batch']} trajectories over t in [0, {sim['t_end']:g}] with {traj.method}: "
                  f"{s.nfe} evaluations{steps_txt}, {s.wall_time:.2f} s")
