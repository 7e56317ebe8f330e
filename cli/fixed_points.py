"""``ctrnn fixed-points``: fixed and slow points with their spectra; on request their basins, and their
branches as an input is swept."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli._defaults import ANALYSIS_DEFAULTS
from cli._options import FLAG, ModelFileOpt, ModelOpt, Shared, flag, shared_options
from cli._parse import parse_sweep
from cli._run_folder import RunFolder


Starts = flag("search.starts", int, "Number of starts: on the trajectories and a space-filling design around them.")
SweepInput = flag("sweep.input", str, "START:STOP:COUNT: follow the fixed points as the first input is held at each "
                  "value.", "--sweep-input", convert=parse_sweep)
Basins = Annotated[bool, typer.Option("--basins", metavar=FLAG,
                                         help="Also map the stable points' basins on the PCA plane.")]


@shared_options(ModelOpt, Starts, SweepInput, defaults=ANALYSIS_DEFAULTS)
def fixed_points(opts: Shared, model_file: ModelFileOpt = None, with_basins: Basins = False) -> None:
    """Find fixed and slow points from starts on and around trajectories; write them with their spectra and plots
    (and, on request, their basins and their branches as an input is swept)."""
    import torch

    import ctrnn
    from ctrnn.analysis import check_search_size, connectivity_spectrum, fixed_point_starts, spectra_along
    from ctrnn.setup import build_model_and_states, check_size, constant_input

    folder = opts.folder("fixed-points")
    cfg = opts.resolve(ANALYSIS_DEFAULTS, model_file=model_file)  # records the file, not the defaults
    spec, sweep = cfg["search"], cfg["sweep"]["input"]  # ranges: BOUNDS
    if sweep and (len(sweep) != 3 or isinstance(sweep[2], bool) or not isinstance(sweep[2], int) or sweep[2] < 2):
        raise ValueError(f"sweep.input must be [start, stop, count] with an int count >= 2, got {sweep}")
    obj, x0 = build_model_and_states(cfg, spec["batch"], spec["x0_scale"])
    n = obj.state_dim
    if with_basins and (not isinstance(obj, ctrnn.System) or n < 2):
        raise ValueError("--basins needs a flow (a model, not a map) with at least two state variables")
    if sweep and obj.input_dim == 0:
        raise ValueError("--sweep-input needs a model with inputs")
    # sizes before any folder: the search holds a Jacobian per start, and each refinement round's are bounded by
    # the starts alone (the input sweep's searches refine once: fixed_point_branches)
    check_search_size(spec["starts"], n, max(spec["refine"], 1 if sweep else 0), starts="search.starts",
                      rounds="search.refine")
    if with_basins:
        check_size(cfg["basins"]["resolution"] ** 2 * n, f"the basins' grid (basins.resolution^2 x n, n = {n})",
                   "lower basins.resolution")
    if sweep:
        check_size(sweep[2] * obj.input_dim, "the input sweep (the count of sweep.input x inputs)",
                   "lower the count of sweep.input")
    u = constant_input(spec["input"], obj)
    folder.create(cfg)
    with torch.no_grad():
        if isinstance(obj, ctrnn.System):
            t = torch.linspace(0.0, spec["t_end"], 501, dtype=torch.float64)
            traj = ctrnn.simulate(obj, x0, t, inputs=None if u is None else ctrnn.inputs.Constant(u))
            visited = traj.x
        else:
            traj = None
            visited = obj.rollout(x0, None if u is None else u.expand(500, *x0.shape[:-1], -1), steps=500)
    # not from the trajectories alone: they settle on attractors and miss the saddles between them
    x_init = fixed_point_starts(obj, visited, spec["starts"], noise=spec["noise"], seed=cfg["seed"],
                                design_share=spec["design_share"])
    fp = ctrnn.find_fixed_points(obj, x_init, inputs=u, slow_tol=spec["slow_tol"], refine=spec["refine"])
    folder.save(fp, "fixed_points")
    folder.figure(fp.plot(trajectory=traj), "fixed_points")
    if isinstance(obj, ctrnn.RateRNN):  # the connectivity against the circular law
        folder.figure(connectivity_spectrum(obj).plot(), "connectivity_spectrum")
    if traj is not None:
        spectra = spectra_along(obj, traj.x[::10], inputs=u, t=traj.t[::10])
        folder.figure(spectra.plot(title=f"{obj.describe()}: Jacobian spectra along the trajectories"), "spectra_along")
    notes = []
    if with_basins:
        notes.append(map_basins(folder, obj, fp, visited, u, cfg["basins"]))
    if sweep:
        notes.append(follow_branches(folder, obj, sweep, x_init, u, spec["slow_tol"]))
    folder.finish(fp.summary(), *notes)


def map_basins(folder: RunFolder, obj: Any, fp: Any, visited: Any, u: Any, spec: dict[str, Any]) -> str:
    """The stable points' basins on the plane of the visited states (the state plane for n = 2, else the top-2
    PCA plane), spanning them and every fixed point; returns the line to print (the undecided share included)."""
    from ctrnn.analysis import basins, pca_plane, state_plane

    stable = {f"#{i} {kind}": fp.points[i] for i, kind in enumerate(fp.kinds) if bool(fp.stable[i])}
    if not stable:
        return "basins: no stable fixed point to map"
    # the grid covers every fixed point found, not only where the trajectories went
    plane = state_plane(visited, include=fp.points) if obj.state_dim == 2 else pca_plane(visited, include=fp.points)
    res = basins(obj, stable, **plane, resolution=(spec["resolution"],) * 2, t_end=spec["t_end"], inputs=u)
    folder.save(res, "basins")
    folder.figure(res.plot(), "basins")
    return "basins: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in res.fractions().items())


def follow_branches(folder: RunFolder, obj: Any, sweep: list[float], x_init: Any, u: Any, slow_tol: float) -> str:
    """The fixed points as the first input is held at each of ``sweep = [start, stop, count]`` values (the
    other inputs where ``search.input`` put them); returns the line to print."""
    import torch

    from ctrnn.analysis import fixed_point_branches

    start, stop, count = sweep
    values = torch.zeros(int(count), obj.input_dim, dtype=torch.float64)
    values[:, 0] = torch.linspace(float(start), float(stop), int(count), dtype=torch.float64)
    if u is not None:
        values[:, 1:] = u[1:]
    branches = fixed_point_branches(obj, values, x_init, slow_tol=slow_tol)
    folder.save(branches, "branches")
    folder.figure(branches.plot(), "branches")
    rng = branches.multistable_range()
    return "input sweep: " + ("no multistability" if rng is None else
                              f"two or more stable points for u0 in [{rng[0]:.4g}, {rng[1]:.4g}]")
