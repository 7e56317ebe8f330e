"""``ctrnn``: simulate and analyse recurrent networks as dynamical systems from the command line.

Each verb parses its options, calls the public ``ctrnn`` API and writes files; errors are one line on
stderr and exit code 2.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(help="ctrnn: recurrent networks as dynamical systems dx/dt = f(x, u(t), W).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

F = TypeVar("F", bound=Callable[..., Any])
EXIT_USAGE = 2


def fail(message: str) -> None:
    """One readable line on stderr, exit code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def friendly_errors(fn: F) -> F:
    """Turn the library's errors into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import ctrnn

        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except (ctrnn.ConfigError, ctrnn.SolverError, ValueError, TypeError, OSError, NotImplementedError,
                RuntimeError) as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            fail(lines[0] if lines else type(exc).__name__)

    return wrapper  # type: ignore[return-value]


# -- shared options -------------------------------------------------------------------------------
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (weights and initial states).")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="torch device: cpu, cuda, cuda:1, ...")]
DtypeOpt = Annotated[str | None, typer.Option("--dtype", help="float32 or float64.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Output folder (refused if it exists, unless --force).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing output folder.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors; no progress bar.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML file; flags override it.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model name (see `ctrnn models`).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override any config key: section.key=value (TOML value).")]


def prepare_out(out: Path, force: bool) -> Path:
    if out.exists() and not out.is_dir():
        fail(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            fail(f"output folder {out} exists and is not empty; pass --force to overwrite it or choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def resolve_torch(device: str, dtype: str) -> tuple[Any, Any]:
    import torch

    dtypes = {"float32": torch.float32, "float64": torch.float64}
    if dtype not in dtypes:
        fail(f"unknown dtype {dtype!r}; choose one of: float32, float64")
    try:
        dev = torch.device(device)
    except RuntimeError:
        fail(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    if dev.type == "cuda" and not torch.cuda.is_available():
        fail(f"--device {device} asked for, but CUDA is not available on this machine; use --device cpu")
    # tensors the analyses make without a dtype follow --dtype (the process runs one verb)
    torch.set_default_dtype(dtypes[dtype])
    return dev, dtypes[dtype]


@app.callback()
def main_callback() -> None:
    """Simulate, discretize and analyse continuous-time recurrent networks."""


@app.command("models")
def models_cmd() -> None:
    """List the built-in models with their parameters, the solver methods and the activations."""
    import ctrnn
    from ctrnn.systems import model_parameters

    for name in ctrnn.MODELS:
        params = ", ".join(f"{k}={v!r}" for k, v in model_parameters(name).items())
        typer.echo(f"{name:10s} {params}")
    typer.echo(f"methods:     {', '.join(ctrnn.METHODS.names())}")
    typer.echo(f"activations: {', '.join(ctrnn.ACTIVATIONS.names())}")


@app.command("version")
def version_cmd() -> None:
    """Print the versions of ctrnn and its engine."""
    import torch
    import torchdiffeq

    import ctrnn

    typer.echo(f"ctrnn {ctrnn.__version__} (torch {torch.__version__}, torchdiffeq {torchdiffeq.__version__})")


# -- simulate -------------------------------------------------------------------------------------
SIMULATE_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "dtype": "float64",
    "model": {"kind": "rate"},  # other keys: the model's parameters (see `ctrnn models`)
    "simulation": {"t_end": 100.0, "dt_out": 0.1, "batch": 8, "x0_scale": 1.0, "method": "dopri5",
                   "rtol": 1e-7, "atol": 1e-9, "step_size": None},
    "input": {"kind": "none", "amplitude": 1.0, "start": 10.0, "stop": 20.0},
    "output": {"plot_traces": 8},
}
INPUT_KINDS = ("none", "constant", "step", "pulse")


def resolve_config(defaults: dict[str, Any], config: Path | None, flags: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    """Defaults < ``--config`` file < ``--set`` assignments < explicit flags, with the model's and the
    input's names checked and the model's parameters filled in, so the file alone reproduces the run."""
    from cli._config import assign, merge, parse_assignment, read_toml

    import ctrnn
    from ctrnn.systems import model_parameters

    layers: list[dict[str, Any]] = []
    if config is not None:
        layers.append(read_toml(config))
    overrides: dict[str, Any] = {}
    for text in sets:
        path, value = parse_assignment(text)
        assign(overrides, path, value)
    for dotted, value in flags.items():
        if value is not None:
            assign(overrides, dotted.split("."), value)
    layers.append(overrides)
    cfg = merge(defaults, *layers, free_sections={"model": True})
    if "input" in cfg and cfg["input"]["kind"] not in INPUT_KINDS:
        raise ctrnn.ConfigError(f"unknown input kind {cfg['input']['kind']!r}; choose one of: {', '.join(INPUT_KINDS)}")
    kind = cfg["model"]["kind"]
    # the resolved config lists every model parameter, so the file alone reproduces the run
    cfg["model"] = {"kind": kind, **model_parameters(kind), **cfg["model"]}
    return cfg


def build_input(cfg: dict[str, Any], system: Any, t_end: float) -> Any:
    import ctrnn

    spec = cfg["input"]
    if spec["kind"] == "none":
        return None
    if system.input_dim == 0:
        fail(f"input.kind = {spec['kind']!r} but the model has no inputs (for a rate model set model.n_inputs)")
    amplitude = [float(spec["amplitude"])] * system.input_dim
    if spec["kind"] == "constant":
        return ctrnn.inputs.Constant(amplitude)
    if spec["kind"] == "step":
        return ctrnn.inputs.step(spec["start"], amplitude, t_span=(0.0, t_end))
    return ctrnn.inputs.pulse(spec["start"], spec["stop"], amplitude, t_span=(0.0, t_end))


@app.command("simulate")
@friendly_errors
def simulate_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    n: Annotated[int | None, typer.Option("--n", help="Number of units (rate model).")] = None,
    g: Annotated[float | None, typer.Option("--g", help="Gain of the random weights (rate model).")] = None,
    t_end: Annotated[float | None, typer.Option("--t-end", help="Simulate t in [0, t_end] (time constants).")] = None,
    dt_out: Annotated[float | None, typer.Option("--dt-out", help="Spacing of the saved time points.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Number of initial states.")] = None,
    method: Annotated[str | None, typer.Option("--method", help="Solver (dopri5, rk4, ...).")] = None,
    rtol: Annotated[float | None, typer.Option("--rtol", help="Relative tolerance (adaptive methods).")] = None,
    atol: Annotated[float | None, typer.Option("--atol", help="Absolute tolerance (adaptive methods).")] = None,
    step_size: Annotated[float | None, typer.Option("--step-size", help="Step of fixed-step methods.")] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run in --out from its config.toml.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Simulate a model from random initial states; write the trajectory, the model, plots and the resolved config.

    The trajectory is written as the run goes; an interrupted run continues with --resume --out DIR.
    """
    import torch

    import ctrnn

    flags = {"model.kind": model, "model.n": n, "model.g": g, "simulation.t_end": t_end,
             "simulation.dt_out": dt_out, "simulation.batch": batch, "simulation.method": method,
             "simulation.rtol": rtol, "simulation.atol": atol, "simulation.step_size": step_size,
             "seed": seed, "device": device, "dtype": dtype}
    out_dir = out if out is not None else Path("results") / "simulate"
    if resume:
        if config is not None or set_ or any(v is not None for v in flags.values()) or force:
            fail("--resume takes every setting from the run's own config.toml; give only --out (and --quiet)")
        if not (out_dir / "config.toml").is_file():
            fail(f"nothing to resume in {out_dir}: it has no config.toml from an earlier ctrnn simulate")
        config = out_dir / "config.toml"
    cfg = resolve_config(SIMULATE_DEFAULTS, config, flags, set_ or [])
    sim = cfg["simulation"]
    ctrnn.METHODS[sim["method"]]  # unknown names fail here, before any file is written
    if sim["batch"] < 1 or not isinstance(sim["batch"], int):
        fail(f"simulation.batch must be a positive int, got {sim['batch']!r}")
    for key in ("t_end", "dt_out"):
        if not sim[key] > 0:
            fail(f"simulation.{key} must be > 0, got {sim[key]}")
    system, x0 = build_model_and_states(cfg, sim["batch"], sim["x0_scale"])
    if not resume:
        prepare_out(out_dir, force)
    steps = max(1, round(sim["t_end"] / sim["dt_out"]))
    t = torch.linspace(0.0, sim["t_end"], steps + 1, dtype=torch.float64)
    command = "ctrnn " + " ".join(sys.argv[1:])
    if not resume:  # written first: it is what --resume reads back
        write_config(out_dir / "config.toml", cfg, command)
    written = [out_dir / "config.toml", out_dir / "trajectory.safetensors"]
    try:
        with torch.no_grad():
            traj = ctrnn.simulate_to_file(
                system, x0, t, written[1], inputs=build_input(cfg, system, sim["t_end"]), method=sim["method"],
                rtol=sim["rtol"], atol=sim["atol"], step_size=sim["step_size"], resume=resume, progress=not quiet,
                metadata={"seed": cfg["seed"], "command": command, "config": cfg})
    except KeyboardInterrupt:
        fail(f"interrupted; the trajectory so far is in {written[1]}; continue with: ctrnn simulate --resume --out {out_dir}")
    try:
        system.save(str(out_dir / "model.safetensors"))
        written.append(out_dir / "model.safetensors")
    except NotImplementedError:
        pass
    save_figure(traj.plot(max_traces=cfg["output"]["plot_traces"]), out_dir, "trajectory", written)

    if not quiet:
        s = traj.stats
        steps_txt = "" if s.n_accepted is None else f", {s.n_accepted} accepted / {s.n_rejected} rejected steps"
        typer.echo(f"{system.describe()}")
        typer.echo(f"simulated {sim['batch']} trajectories over t in [0, {sim['t_end']:g}] with {traj.method}: "
                   f"{s.nfe} evaluations{steps_txt}, {s.wall_time:.2f} s")
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


def save_figure(fig: Any, out_dir: Path, stem: str, written: list[Path]) -> None:
    """Write ``stem.png`` and ``stem.svg`` and close the figure (a long process must not pile them up)."""
    import matplotlib.pyplot as plt

    for ext in ("png", "svg"):
        fig.savefig(out_dir / f"{stem}.{ext}")
        written.append(out_dir / f"{stem}.{ext}")
    plt.close(fig)


def write_config(path: Path, cfg: dict[str, Any], command: str) -> None:
    import tomli_w

    toml_cfg = json.loads(json.dumps(cfg), object_hook=lambda d: {k: v for k, v in d.items() if v is not None})
    path.write_text(f"# resolved by: {command}\n" + tomli_w.dumps(toml_cfg), encoding="utf-8")


def build_model_and_states(cfg: dict[str, Any], batch: int, scale: float) -> tuple[Any, Any]:
    """The configured model on its device and dtype, and ``batch`` random initial states from the seed."""

    import ctrnn

    dev, dt = resolve_torch(cfg["device"], cfg["dtype"])
    params = {k: v for k, v in cfg["model"].items() if k != "kind"}
    system = place(ctrnn.build_system(cfg["model"]["kind"], params, seed=cfg["seed"]), dev, dt)
    return system, random_states(system, cfg["seed"], batch, scale, dev, dt)


def place(obj: Any, dev: Any, dt: Any) -> Any:
    """Move a model or map to ``--device`` and ``--dtype``; a complex model keeps its complex dtype."""
    tensors = [*obj.parameters(), *obj.buffers()]
    return obj.to(device=dev) if any(t.is_complex() for t in tensors) else obj.to(device=dev, dtype=dt)


def random_states(obj: Any, seed: int, batch: int, scale: float, dev: Any, dt: Any) -> Any:
    """``batch`` initial states ``N(0, scale^2)`` from ``seed``, in the model's dtype (``dt`` if it has none)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    x0 = scale * torch.randn(batch, obj.state_dim, generator=gen, dtype=torch.float64)
    return x0.to(device=dev, dtype=obj.dtype or dt)


# -- discretize -----------------------------------------------------------------------------------
DISCRETIZE_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "dtype": "float64",
    "model": {"kind": "rate"},
    "discretize": {"scheme": "euler", "dt": 0.1, "t_end": 10.0, "batch": 4, "x0_scale": 1.0,
                   "schemes": [], "dts": [0.2, 0.1, 0.05, 0.025], "rtol": 1e-10, "atol": 1e-10},
    "input": {"kind": "none", "amplitude": 1.0, "start": 2.0, "stop": 5.0},
}
#: compared by default: every applicable scheme whose state is the continuous state x(t_k)
#: (foh's and impulse's states are shifted realisations; gbt needs alpha)
STUDY_EXCLUDED = {"foh", "impulse", "gbt"}


@app.command("discretize")
@friendly_errors
def discretize_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Scheme of the map to write (euler, zoh, ...).")] = None,
    dt: Annotated[float | None, typer.Option("--dt", help="Step of the map (time constants).")] = None,
    t_end: Annotated[float | None, typer.Option("--t-end", help="Span of the error study.")] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Discretize a model: write the map's parameters, the error of every scheme against the continuous
    solution (with fitted orders) and plots of both."""
    import torch

    import ctrnn
    from ctrnn.discretize import applicable_schemes
    from ctrnn.plot import plot_rollouts

    flags = {"model.kind": model, "discretize.scheme": scheme, "discretize.dt": dt, "discretize.t_end": t_end,
             "seed": seed, "device": device, "dtype": dtype}
    cfg = resolve_config(DISCRETIZE_DEFAULTS, config, flags, set_ or [])
    spec = cfg["discretize"]
    for key in ("dt", "t_end"):
        if not spec[key] > 0:
            fail(f"discretize.{key} must be > 0, got {spec[key]}")
    system, x0 = build_model_and_states(cfg, spec["batch"], spec["x0_scale"])
    valid = applicable_schemes(system)
    schemes = spec["schemes"] or [s for s in valid if s not in STUDY_EXCLUDED]
    dmap = ctrnn.discretize(system, spec["dt"], scheme=spec["scheme"])  # bad names fail before files are written
    out_dir = prepare_out(out if out is not None else Path("results") / "discretize", force)
    command = "ctrnn " + " ".join(sys.argv[1:])
    write_config(out_dir / "config.toml", cfg, command)

    dmap.save(str(out_dir / "map.safetensors"))
    summary = {"scheme": dmap.scheme if hasattr(dmap, "scheme") else spec["scheme"], "dt": spec["dt"],
               "model": system.describe(), "map": type(dmap).__name__, "applicable_schemes": valid,
               "parameters": {k: list(v.shape) for k, v in dmap.state_dict().items()}}
    inputs = build_input(cfg, system, spec["t_end"])
    study = ctrnn.discretization_error(system, x0, spec["t_end"], schemes=schemes, dts=spec["dts"], inputs=inputs,
                                       rtol=spec["rtol"], atol=spec["atol"])
    summary["orders"] = study.orders
    (out_dir / "map.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    study.save(str(out_dir / "errors.safetensors"))
    written = [out_dir / n for n in ("config.toml", "map.safetensors", "map.json", "errors.safetensors")]
    save_figure(study.plot(), out_dir, "error_vs_dt", written)

    # the continuous solution against each scheme's rollout at the chosen dt
    steps = round(spec["t_end"] / spec["dt"])
    grid = torch.linspace(0.0, steps * spec["dt"], steps + 1, dtype=torch.float64)
    fine = torch.linspace(0.0, float(grid[-1]), 20 * steps + 1, dtype=torch.float64)
    with torch.no_grad():
        cont = ctrnn.simulate(system, x0, fine, inputs=inputs, rtol=spec["rtol"], atol=spec["atol"])
        u_steps = None if inputs is None else inputs.sample(grid[:-1].to(cont.t.dtype))
        rollouts = {}
        for name in schemes:
            xk = ctrnn.discretize(system, spec["dt"], scheme=name).rollout(cont.x[0], u_steps,
                                                                             steps=steps if u_steps is None else None)
            rollouts[name] = (grid[1:], xk)
    save_figure(plot_rollouts(cont.t, cont.x, rollouts, title=f"{system.describe()}\nrollouts at dt = {spec['dt']:g}"),
                out_dir, "rollouts", written)

    if not quiet:
        j = min(range(len(spec["dts"])), key=lambda k: abs(spec["dts"][k] - spec["dt"]))
        typer.echo(system.describe())
        typer.echo(f"{'scheme':16s} {'order':>8s} {'max error at dt=' + format(spec['dts'][j], 'g'):>22s}")
        for i, name in enumerate(study.schemes):
            order = study.orders[name]
            typer.echo(f"{name:16s} {'exact' if order is None else format(order, '.2f'):>8s} "
                       f"{float(study.max_errors[i, j]):22.3e}")
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


# -- fixed points and cycles -----------------------------------------------------------------------
ModelFileOpt = Annotated[Path | None, typer.Option("--model-file", help="A saved model or map (.safetensors) instead of --model.")]

ANALYSIS_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "dtype": "float64",
    "model": {"kind": "rate"},
    "search": {"starts": 256, "t_end": 50.0, "batch": 8, "x0_scale": 1.0, "noise": 0.5, "input": [],
               "slow_tol": 1e-3, "t_transient": 50.0, "t_search": 100.0},
    # basins: a resolution x resolution grid on the trajectories' top-2 PCA plane (the state plane for n = 2)
    "basins": {"resolution": 40, "t_end": 50.0},
    # sweep of the first input: [start, stop, count] (empty: no sweep)
    "sweep": {"input": []},
    "input": {"kind": "none", "amplitude": 1.0, "start": 0.0, "stop": 1.0},
}


def constant_input(values: list[float]) -> Any:
    """The config's constant input ``[u0, u1, ...]`` as a float64 tensor (``None`` when empty: zero input)."""
    import torch

    return torch.tensor(values, dtype=torch.float64) if values else None


def load_dynamics(cfg: dict[str, Any], model_file: Path | None, batch: int, scale: float) -> tuple[Any, Any]:
    """The model (or map) to analyse: from ``--model-file`` or the config; and random states."""

    import ctrnn

    if model_file is None:
        return build_model_and_states(cfg, batch, scale)
    obj = ctrnn.load(model_file)
    if not isinstance(obj, (ctrnn.System, ctrnn.DiscreteMap)):
        fail(f"{model_file} holds a {type(obj).__name__}, not a model or a map")
    dev, dt = resolve_torch(cfg["device"], cfg["dtype"])
    obj = place(obj, dev, dt)
    return obj, random_states(obj, cfg["seed"], batch, scale, dev, dt)


@app.command("fixed-points")
@friendly_errors
def fixed_points_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_file: ModelFileOpt = None,
    starts: Annotated[int | None, typer.Option("--starts", help="Number of starts, sampled from trajectories.")] = None,
    with_basins: Annotated[bool, typer.Option("--basins", help="Also map the stable points' basins on the PCA plane.")] = False,
    sweep_input: Annotated[str | None, typer.Option("--sweep-input", help="START:STOP:COUNT: follow the fixed points "
                                                     "as the first input is held at each value.")] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Find fixed and slow points from starts sampled on trajectories; write them with their spectra and plots
    (and, on request, their basins and their branches as an input is swept)."""
    import torch

    import ctrnn
    from ctrnn.analysis import sample_starts

    flags = {"model.kind": model, "search.starts": starts, "seed": seed, "device": device, "dtype": dtype,
             "sweep.input": None if sweep_input is None else parse_sweep(sweep_input)}
    cfg = resolve_config(ANALYSIS_DEFAULTS, config, flags, set_ or [])
    spec = cfg["search"]
    if spec["starts"] < 1 or spec["batch"] < 1:
        fail("search.starts and search.batch must be >= 1")
    if cfg["sweep"]["input"] and len(cfg["sweep"]["input"]) != 3:
        fail(f"sweep.input must be [start, stop, count], got {cfg['sweep']['input']}")
    obj, x0 = load_dynamics(cfg, model_file, spec["batch"], spec["x0_scale"])
    if with_basins and (not isinstance(obj, ctrnn.System) or obj.state_dim < 2):
        fail("--basins needs a flow (a model, not a map) with at least two state variables")
    if cfg["sweep"]["input"] and obj.input_dim == 0:
        fail("--sweep-input needs a model with inputs")
    u = constant_input(spec["input"])
    out_dir = prepare_out(out if out is not None else Path("results") / "fixed-points", force)
    write_config(out_dir / "config.toml", cfg, "ctrnn " + " ".join(sys.argv[1:]))
    with torch.no_grad():
        if isinstance(obj, ctrnn.System):
            t = torch.linspace(0.0, spec["t_end"], 501, dtype=torch.float64)
            traj = ctrnn.simulate(obj, x0, t, inputs=None if u is None else ctrnn.inputs.Constant(u))
            visited = traj.x
        else:
            traj = None
            visited = obj.rollout(x0, None if u is None else u.expand(500, *x0.shape[:-1], -1), steps=500)
    x_init = sample_starts(visited, spec["starts"], noise=spec["noise"], seed=cfg["seed"])
    fp = ctrnn.find_fixed_points(obj, x_init, inputs=u, slow_tol=spec["slow_tol"])
    fp.save(str(out_dir / "fixed_points.safetensors"))
    written = [out_dir / "config.toml", out_dir / "fixed_points.safetensors"]
    save_figure(fp.plot(trajectory=traj), out_dir, "fixed_points", written)
    if isinstance(obj, ctrnn.RateRNN):  # the connectivity against the circular law
        from ctrnn.analysis import connectivity_spectrum

        save_figure(connectivity_spectrum(obj).plot(), out_dir, "connectivity_spectrum", written)
    if traj is not None:
        from ctrnn.analysis import spectra_along

        spectra = spectra_along(obj, traj.x[::10], inputs=u, t=traj.t[::10])
        save_figure(spectra.plot(title=f"{obj.describe()}: Jacobian spectra along the trajectories"), out_dir,
                    "spectra_along", written)
    notes = []
    if with_basins:
        from ctrnn.analysis import basins

        stable = {f"#{i} {kind}": fp.points[i] for i, kind in enumerate(fp.kinds) if bool(fp.stable[i])}
        if not stable:
            notes.append("basins: no stable fixed point to map")
        else:
            res = basins(obj, stable, **plane_for(obj, visited), resolution=(cfg["basins"]["resolution"],) * 2,
                         t_end=cfg["basins"]["t_end"], inputs=u)
            res.save(str(out_dir / "basins.safetensors"))
            written.append(out_dir / "basins.safetensors")
            save_figure(res.plot(), out_dir, "basins", written)
            notes.append("basins: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in res.fractions().items()))
    if cfg["sweep"]["input"]:
        from ctrnn.analysis import fixed_point_branches

        start, stop, count = cfg["sweep"]["input"]
        values = torch.zeros(int(count), obj.input_dim, dtype=torch.float64)
        values[:, 0] = torch.linspace(float(start), float(stop), int(count), dtype=torch.float64)
        if u is not None:  # the other inputs stay where search.input put them
            values[:, 1:] = u[1:]
        branches = fixed_point_branches(obj, values, x_init, slow_tol=spec["slow_tol"])
        branches.save(str(out_dir / "branches.safetensors"))
        written.append(out_dir / "branches.safetensors")
        save_figure(branches.plot(), out_dir, "branches", written)
        rng = branches.multistable_range()
        notes.append("input sweep: " + ("no multistability" if rng is None else
                                        f"two or more stable points for u0 in [{rng[0]:.4g}, {rng[1]:.4g}]"))
    if not quiet:
        typer.echo(fp.summary())
        for line in notes:
            typer.echo(line)
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


def parse_sweep(text: str, flag: str = "--sweep-input") -> list[float]:
    """``START:STOP:COUNT`` -> ``[start, stop, count]``."""
    parts = text.split(":")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3 or count < 2:
            raise ValueError
    except (ValueError, IndexError):
        fail(f"{flag} takes START:STOP:COUNT with COUNT >= 2, got {text!r}")
    return [start, stop, count]


def plane_for(obj: Any, visited: Any) -> dict[str, Any]:
    """The basins' plane: the state plane around the visited states for n = 2, else their top-2 PCA plane."""
    from ctrnn.analysis import pca_plane, state_plane

    return state_plane(visited) if obj.state_dim == 2 else pca_plane(visited)


@app.command("cycles")
@friendly_errors
def cycles_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_file: ModelFileOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Find the limit cycle reached from a random start: its period, orbit and Floquet multipliers."""

    import ctrnn

    flags = {"model.kind": model, "seed": seed, "device": device, "dtype": dtype}
    cfg = resolve_config(ANALYSIS_DEFAULTS, config, flags, set_ or [])
    spec = cfg["search"]
    obj, x0 = load_dynamics(cfg, model_file, 1, spec["x0_scale"])
    u = constant_input(spec["input"])
    out_dir = prepare_out(out if out is not None else Path("results") / "cycles", force)
    write_config(out_dir / "config.toml", cfg, "ctrnn " + " ".join(sys.argv[1:]))
    lc = ctrnn.find_limit_cycle(obj, x0[0], inputs=u, t_transient=spec["t_transient"], t_search=spec["t_search"])
    lc.save(str(out_dir / "cycle.safetensors"))
    written = [out_dir / "config.toml", out_dir / "cycle.safetensors"]
    save_figure(lc.plot(), out_dir, "cycle", written)
    if not quiet:
        mult = ", ".join(f"{complex(m).real:.6g}{complex(m).imag:+.3g}i" for m in lc.floquet_multipliers.tolist())
        typer.echo(f"{'stable' if lc.stable else 'unstable'} limit cycle: period {lc.period:.10g}, "
                   f"Floquet multipliers [{mult}], |x(T) - x(0)| = {lc.residual:.1e}")
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


# -- Lyapunov spectra, gradient propagation, sweeps ---------------------------------------------------
LYAPUNOV_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "dtype": "float64",
    "model": {"kind": "rate"},
    # k = 0: the full spectrum; t_transient_vectors = 0: 10% of t_total. Times in time units (flows) or
    # iterations (maps from --model-file).
    "lyapunov": {"k": 0, "t_transient": 100.0, "t_total": 500.0, "qr_interval": 1.0, "dt": 0.05, "method": "rk4",
                 "t_transient_vectors": 0.0, "batch": 4, "x0_scale": 1.0, "input": []},
    # scheme "auto": each model's standard update (rate/GRU/LSTM: Euler = nn.RNN/GRU/LSTM; SSMs: ZOH), the others
    # through the flow's RK4; "flow": every model through RK4; or any scheme name
    "gradients": {"horizon": 50.0, "t_transient": 20.0, "part": "all", "scheme": "auto", "step": 1.0, "compare": []},
    # networks_per_solve: networks of one architecture advanced together in one batched solve
    "sweep": {"parameter": "model.g", "values": [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0], "seeds": [0, 1, 2],
              "networks_per_solve": 8},
}


#: the standard discrete update of each built-in model (for gradients --scheme auto)
NATURAL_SCHEMES = {"rate": "euler", "beer": "euler", "gru": "euler", "lstm": "euler", "linear": "zoh", "s4d": "zoh",
                   "lru": "zoh", "selective": "zoh"}


def lyapunov_options(spec: dict[str, Any], is_map: bool) -> dict[str, Any]:
    """``lyapunov_spectrum`` keyword arguments from the config's ``lyapunov`` section (checked, so that bad
    values fail before any folder is made)."""
    for key in ("t_transient", "t_total", "qr_interval", "dt"):
        if not spec[key] > 0:
            fail(f"lyapunov.{key}: {key} must be positive, got {spec[key]}")
    opts = {"k": spec["k"] or None, "t_transient": spec["t_transient"], "t_total": spec["t_total"],
            "qr_interval": spec["qr_interval"], "t_transient_vectors": spec["t_transient_vectors"] or None}
    if not is_map:
        opts |= {"dt": spec["dt"], "method": spec["method"]}
    return opts


@app.command("lyapunov")
@friendly_errors
def lyapunov_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_file: ModelFileOpt = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of exponents (default: all n).")] = None,
    t_total: Annotated[float | None, typer.Option("--t-total", help="Averaging time (iterations for a map).")] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Lyapunov spectrum of a model or map: exponents with standard errors, Kaplan-Yorke dimension, entropy."""

    import ctrnn

    flags = {"model.kind": model, "lyapunov.k": k, "lyapunov.t_total": t_total, "seed": seed, "device": device,
             "dtype": dtype}
    cfg = resolve_config(LYAPUNOV_DEFAULTS, config, flags, set_ or [])
    spec = cfg["lyapunov"]
    obj, x0 = load_dynamics(cfg, model_file, spec["batch"], spec["x0_scale"])
    u = constant_input(spec["input"])
    is_map = isinstance(obj, ctrnn.DiscreteMap)
    options = lyapunov_options(spec, is_map)  # bad values fail before the folder is made
    out_dir = prepare_out(out if out is not None else Path("results") / "lyapunov", force)
    write_config(out_dir / "config.toml", cfg, "ctrnn " + " ".join(sys.argv[1:]))
    les = ctrnn.lyapunov_spectrum(obj, x0, inputs=u, seed=cfg["seed"], progress=not quiet, **options)
    les.save(str(out_dir / "spectrum.safetensors"))
    written = [out_dir / "config.toml", out_dir / "spectrum.safetensors"]
    save_figure(les.plot(), out_dir, "spectrum", written)
    if not quiet:
        typer.echo(les.summary())
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


@app.command("gradients")
@friendly_errors
def gradients_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_file: ModelFileOpt = None,
    horizon: Annotated[float | None, typer.Option("--horizon", help="Largest lag (time units; iterations for a map).")] = None,
    compare: Annotated[str | None, typer.Option("--compare", help="Comma-separated model names to put on one plot, "
                                                 "e.g. rate,gru,lstm,lru.")] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="auto (each model's standard update), flow (through "
                                                "RK4), or a scheme name; the step is gradients.step.")] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Gradient propagation: norms and singular values of d x_T / d x_(T-k) against the lag, with the fitted rate."""

    import ctrnn

    flags = {"model.kind": model, "gradients.horizon": horizon, "gradients.scheme": scheme, "seed": seed,
             "device": device, "dtype": dtype,
             "gradients.compare": None if compare is None else [c.strip() for c in compare.split(",") if c.strip()]}
    cfg = resolve_config(LYAPUNOV_DEFAULTS, config, flags, set_ or [])
    spec, lspec = cfg["gradients"], cfg["lyapunov"]
    names = spec["compare"] or [cfg["model"]["kind"] if model_file is None else model_file.stem]
    targets = {}
    for name in names:  # every model is built before any file is written
        if model_file is not None and len(names) == 1:
            obj, x0 = load_dynamics(cfg, model_file, lspec["batch"], lspec["x0_scale"])
        else:
            params = {k: v for k, v in cfg["model"].items() if k != "kind"} if name == cfg["model"]["kind"] else {}
            obj, x0 = build_model_and_states({**cfg, "model": {"kind": name, **params}}, lspec["batch"], lspec["x0_scale"])
        scheme = NATURAL_SCHEMES.get(name) if spec["scheme"] == "auto" else spec["scheme"]
        if scheme and scheme != "flow" and isinstance(obj, ctrnn.System):
            obj = ctrnn.discretize(obj, spec["step"], scheme=scheme)
        targets[name] = (obj, x0)
    out_dir = prepare_out(out if out is not None else Path("results") / "gradients", force)
    write_config(out_dir / "config.toml", cfg, "ctrnn " + " ".join(sys.argv[1:]))
    written = [out_dir / "config.toml"]
    results = gradient_results(targets, spec["horizon"], spec["t_transient"], lspec["dt"], spec["part"],
                               progress=not quiet)
    for label, res in results.items():
        stem = "gradients_" + "".join(ch if ch.isalnum() else "_" for ch in label).strip("_")
        res.save(str(out_dir / f"{stem}.safetensors"))
        written.append(out_dir / f"{stem}.safetensors")
    save_figure(ctrnn.compare_gradient_propagation(results), out_dir, "gradients", written)
    if not quiet:
        for label, res in results.items():
            typer.echo(f"{label:24s} {res.summary()}")
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


def gradient_results(targets: dict[str, tuple[Any, Any]], horizon: float, t_transient: float, dt: float,
                     part: str = "all", progress: bool = False) -> dict[str, Any]:
    """``gradient_propagation`` of each ``name: (model or map, x0)`` at zero input, times in time units
    (a map counts iterations of its ``dt``; ``dt`` is a flow's step, not passed to maps); an LSTM also
    through its cell path. Returns ``label: result``."""
    import torch

    import ctrnn
    from ctrnn.analysis import map_time_step, state_parts

    results = {}
    for name, (obj, x0) in targets.items():
        # the config's times are time units; a map counts iterations of its dt
        per_step = (map_time_step(obj) or 1.0) if isinstance(obj, ctrnn.DiscreteMap) else 1.0
        u = torch.zeros(obj.input_dim, dtype=torch.float64) if obj.input_dim else None  # held zero: autonomous
        named = state_parts(obj)
        chosen = part if part in named else "all"
        parts = [chosen] + (["c"] if chosen == "all" and "c" in named else [])  # an LSTM also through its cell path
        for p in parts:
            label = name if p == "all" else f"{name} ({'cell path c' if p == 'c' and chosen == 'all' else p})"
            step = {} if isinstance(obj, ctrnn.DiscreteMap) else {"dt": dt}  # a map steps once per iteration
            results[label] = ctrnn.gradient_propagation(obj, x0, horizon=horizon / per_step,
                                                        t_transient=t_transient / per_step, part=p, inputs=u,
                                                        progress=progress, **step)
    return results


@app.command("sweep")
@friendly_errors
def sweep_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    parameter: Annotated[str | None, typer.Option("--parameter", help="Model parameter to sweep, e.g. model.g.")] = None,
    values: Annotated[str | None, typer.Option("--values", help="START:STOP:COUNT, or a comma-separated list.")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", help="Number of networks (seeds 0..S-1) per value.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a sweep in --out, skipping finished runs.")] = False,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Sweep a model parameter (default: the gain g of a random rate network) and measure the largest exponent,
    entropy and Kaplan-Yorke dimension at each value, over several networks. Writes each run as it finishes."""
    import ctrnn

    flags = {"model.kind": model, "sweep.parameter": parameter, "seed": seed, "device": device, "dtype": dtype,
             "sweep.values": None if values is None else parse_values(values),
             "sweep.seeds": None if seeds is None else list(range(seeds))}
    cfg = resolve_config(LYAPUNOV_DEFAULTS, config, flags, set_ or [])
    spec, lspec = cfg["sweep"], cfg["lyapunov"]
    key = spec["parameter"]
    if not key.startswith("model.") or key == "model.kind":
        fail(f"sweep.parameter must name a model parameter (model.NAME), got {key!r}")
    name = key[len("model."):]
    from ctrnn.systems import model_parameters

    valid = model_parameters(cfg["model"]["kind"])
    if name not in valid:
        fail(f"model {cfg['model']['kind']!r} has no parameter {name!r}; choose one of: {', '.join(valid)}")
    if not spec["values"] or not spec["seeds"]:
        fail("sweep.values and sweep.seeds must not be empty")
    if not isinstance(spec["networks_per_solve"], int) or spec["networks_per_solve"] < 1:
        fail(f"sweep.networks_per_solve must be an integer >= 1, got {spec['networks_per_solve']!r}")
    options = lyapunov_options(lspec, is_map=False)
    out = out if out is not None else Path("results") / "sweep"
    if resume:
        if not (out / "config.toml").exists():
            fail(f"--resume: {out} holds no sweep to continue")
    else:
        out = prepare_out(out, force)
        write_config(out / "config.toml", cfg, "ctrnn " + " ".join(sys.argv[1:]))
    runs = out / "runs"
    runs.mkdir(exist_ok=True)
    completed = {}
    for path in runs.glob("v*_s*.safetensors"):  # finished runs of an interrupted sweep
        i, j = (int(part[1:]) for part in path.stem.split("_"))
        completed[(i, j)] = ctrnn.load(path)
    dev, dt = resolve_torch(cfg["device"], cfg["dtype"])
    params = {k: v for k, v in cfg["model"].items() if k != "kind"}

    def build(value: float, net_seed: int) -> Any:
        return place(ctrnn.build_system(cfg["model"]["kind"], {**params, name: value}, seed=net_seed), dev, dt)

    def x0(obj: Any, net_seed: int) -> Any:
        return random_states(obj, net_seed, lspec["batch"], lspec["x0_scale"], dev, dt)

    def keep(i: int, j: int, res: Any) -> None:
        res.save(str(runs / f"v{i}_s{j}.safetensors"))

    result = ctrnn.sweep(build, spec["values"], parameter=name, seeds=spec["seeds"], x0=x0, on_result=keep,
                         completed=completed, networks_per_solve=spec["networks_per_solve"], progress=not quiet,
                         **options)
    result.save(str(out / "sweep.safetensors"))
    written = [out / "config.toml", out / "sweep.safetensors", runs]
    save_figure(result.plot(), out, "sweep", written)
    if not quiet:
        if completed:
            typer.echo(f"resumed: {len(completed)} finished run(s) reused")
        typer.echo(result.summary())
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


def parse_values(text: str) -> list[float]:
    """``START:STOP:COUNT`` or ``a,b,c`` -> a list of floats."""
    if ":" in text:
        start, stop, count = parse_sweep(text, "--values")
        return [start + (stop - start) * i / (count - 1) for i in range(int(count))]
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        fail(f"--values takes START:STOP:COUNT or a comma-separated list of numbers, got {text!r}")
    return []


# -- reports and the gallery -----------------------------------------------------------------------
REPORT_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "dtype": "float64",
    "model": {"kind": "beer"},
    # t_end 0: 100 time units (30 with --quick); input: a constant input (empty: none)
    "report": {"batch": 8, "x0_scale": 1.0, "t_end": 0.0, "input": []},
}


QuickOpt = Annotated[bool, typer.Option("--quick", help="Reduced size: shorter runs, fewer starts, coarser grids.")]
PdfOpt = Annotated[bool, typer.Option("--pdf", help="Also print report.pdf (needs Chromium or Chrome).")]


def log_line(quiet: bool) -> Any:
    """A progress printer for long reports: one line per analysis, with the time since the start."""
    import time

    start = time.perf_counter()
    return (lambda line: None) if quiet else (lambda line: typer.echo(f"[{time.perf_counter() - start:6.1f} s] {line}"))


@app.command("report")
@friendly_errors
def report_cmd(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_file: ModelFileOpt = None,
    quick: QuickOpt = False,
    pdf: PdfOpt = False,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Analyse a model end to end and write one self-contained HTML report (trajectories, phase portrait or
    principal components, fixed points, cycles, basins, eigenvalues, Lyapunov spectrum, gradients, discretization)."""

    import ctrnn

    flags = {"model.kind": model, "seed": seed, "device": device, "dtype": dtype}
    cfg = resolve_config(REPORT_DEFAULTS, config, flags, set_ or [])
    spec = cfg["report"]
    if model_file is not None:
        system, x0 = load_dynamics(cfg, model_file, spec["batch"], spec["x0_scale"])
    else:
        system, x0 = build_model_and_states(cfg, spec["batch"], spec["x0_scale"])
    if not isinstance(system, ctrnn.System):
        fail("report takes a continuous-time model (a System); this file holds a discrete map")
    u = constant_input(spec["input"])
    out_dir = prepare_out(out if out is not None else Path("results") / "report", force)
    command = "ctrnn " + " ".join(sys.argv[1:])
    write_config(out_dir / "config.toml", cfg, command)
    from ctrnn import report

    report(system, out_dir / "report.html", x0=x0, inputs=u, seed=cfg["seed"],
           quick=quick, t_end=spec["t_end"] or None, command=command, config=cfg, pdf=pdf, log=log_line(quiet))
    if not quiet:
        typer.echo(f"report: {out_dir / 'report.html'}" + (f" and {out_dir / 'report.pdf'}" if pdf else ""))


@app.command("run")
@friendly_errors
def run_cmd(
    name: Annotated[str | None, typer.Argument(help="A gallery experiment (see --list) or a path to its TOML config.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the gallery's experiments and exit.")] = False,
    quick: QuickOpt = False,
    pdf: PdfOpt = False,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run a ready-made experiment from the simulations/ gallery end to end and write its report."""
    import simulations

    gallery = simulations.available()
    if list_:
        width = max(map(len, gallery))
        for key, title in gallery.items():
            typer.echo(f"{key:{width}s}  {title}")
        return
    if name is None:
        fail(f"name an experiment: {', '.join(gallery)} (or a path to a .toml file); --list describes them")
    flags = {"seed": seed, "device": device, "dtype": dtype}
    experiment, cfg = simulations.resolve(name, quick=quick, sets=set_ or [], flags=flags)  # errors before any folder
    resolve_torch(cfg["device"], cfg["dtype"])
    out_dir = prepare_out(out if out is not None else Path("results") / experiment, force)
    written = simulations.run(name, out_dir, quick=quick, sets=set_ or [], flags=flags, pdf=pdf,
                              command="ctrnn " + " ".join(sys.argv[1:]), log=log_line(quiet))
    if not quiet:
        typer.echo(f"report: {out_dir / 'report.html'}")
        typer.echo("wrote: " + ", ".join(str(p) for p in written))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
