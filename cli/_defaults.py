"""The defaults (and so the schema) of the verbs' configs that several verbs share, and the translation of
their ``lyapunov`` section into keyword arguments."""

from __future__ import annotations

from typing import Any

#: ctrnn.MAX_ELEMENTS, the default size limit (kept here so that --help does not load torch;
#: tests/test_bad_values.py checks that they agree)
MAX_ELEMENTS = 2**28

#: every config starts with these; ``model`` holds ``kind`` and the model's parameters (see `ctrnn models`);
#: ``max_elements``: the most values one array of the run may hold (a typo such as dt_out = 1e-9 fails at once)
BASE: dict[str, Any] = {"seed": 0, "device": "cpu", "dtype": "float64", "max_elements": MAX_ELEMENTS,
                        "model": {"kind": "rate"}}

#: the default model's parameters that verbs take as flags (``simulate --n``, ``--g``), for their ``--help``: kept here
#: so that ``--help`` does not load torch (tests/test_cli.py checks them against ``ctrnn.systems.model_parameters``)
MODEL_FLAG_DEFAULTS: dict[str, dict[str, Any]] = {"rate": {"n": 128, "g": 1.5}}

#: fixed-points and cycles
ANALYSIS_DEFAULTS: dict[str, Any] = {
    **BASE,
    # fixed-point starts: a share design_share from a space-filling design over the visited box, the rest on the
    # trajectories; then up to `refine` rounds from the points found (see ctrnn.analysis.fixed_point_starts)
    "search": {"starts": 256, "t_end": 50.0, "batch": 8, "x0_scale": 1.0, "noise": 0.5, "input": [],
               "slow_tol": 1e-3, "t_transient": 0.0, "t_search": 5000.0, "design_share": 0.5, "refine": 2},
    # basins: a resolution x resolution grid on the trajectories' top-2 PCA plane (the state plane for n = 2)
    "basins": {"resolution": 40, "t_end": 50.0},
    # sweep of the first input: [start, stop, count] (empty: no sweep)
    "sweep": {"input": []},
    "input": {"kind": "none", "amplitude": 1.0, "start": 0.0, "stop": 1.0},
}

#: lyapunov, gradients and sweep
LYAPUNOV_DEFAULTS: dict[str, Any] = {
    **BASE,
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


#: the range of every number of the verbs' configs (``ctrnn.config.check_bounds``, applied when a config is resolved,
#: before any folder is made); keys a verb does not have are skipped. Counts are >= 1, times and tolerances > 0;
#: transients, scales and noise may be 0; every number is also finite (``ctrnn.config``).
BOUNDS: dict[str, str] = {
    "seed": "a seed", "max_elements": ">= 1",
    # simulate
    "simulation.t_end": "> 0", "simulation.dt_out": "> 0", "simulation.batch": ">= 1", "simulation.x0_scale": ">= 0",
    "simulation.rtol": "> 0", "simulation.atol": "> 0", "simulation.step_size": "> 0",
    "simulation.checkpoint_seconds": ">= 0", "output.plot_traces": ">= 0",
    # fixed-points and cycles
    "search.starts": ">= 1", "search.t_end": "> 0", "search.batch": ">= 1", "search.x0_scale": ">= 0",
    "search.noise": ">= 0", "search.slow_tol": "> 0", "search.t_transient": ">= 0", "search.t_search": "> 0",
    "search.design_share": "in [0, 1]", "search.refine": ">= 0", "basins.resolution": ">= 1", "basins.t_end": "> 0",
    # lyapunov, gradients, sweep (t_transient_vectors = 0: 10% of t_total; k = 0: all)
    "lyapunov.k": ">= 0", "lyapunov.t_transient": "> 0", "lyapunov.t_total": "> 0", "lyapunov.qr_interval": "> 0",
    "lyapunov.dt": "> 0", "lyapunov.t_transient_vectors": ">= 0", "lyapunov.batch": ">= 1", "lyapunov.x0_scale": ">= 0",
    "gradients.horizon": "> 0", "gradients.t_transient": ">= 0", "gradients.step": "> 0",
    "sweep.seeds": "a seed", "sweep.networks_per_solve": ">= 1",
    # discretize
    "discretize.dt": "> 0", "discretize.t_end": "> 0", "discretize.batch": ">= 1", "discretize.x0_scale": ">= 0",
    "discretize.dts": "> 0", "discretize.rtol": "> 0", "discretize.atol": "> 0",
    # train (clip_grad_norm = 0: no clipping; track_every = 0: no tracking; example_trials = 0: no figure)
    "training.steps": ">= 1", "training.batch_size": ">= 1", "training.lr": "> 0", "training.lr_final": "> 0",
    "training.weight_decay": ">= 0", "training.clip_grad_norm": ">= 0", "training.l2_rates": ">= 0",
    "training.l2_weights": ">= 0", "training.rtol": "> 0", "training.atol": "> 0", "training.validate_every": ">= 1",
    "training.validation_trials": ">= 1", "training.track_every": ">= 0", "training.tracking_trials": ">= 1",
    "training.checkpoint_every": ">= 1", "output.example_trials": ">= 0",
    # report (t_end = 0: the report's default)
    "report.batch": ">= 1", "report.x0_scale": ">= 0", "report.t_end": ">= 0",
}


def lyapunov_options(spec: dict[str, Any], is_map: bool) -> dict[str, Any]:
    """``lyapunov_spectrum`` keyword arguments from the config's ``lyapunov`` section (whose ranges
    :data:`BOUNDS` checked when the config was resolved)."""
    opts = {"k": spec["k"] or None, "t_transient": spec["t_transient"], "t_total": spec["t_total"],
            "qr_interval": spec["qr_interval"], "t_transient_vectors": spec["t_transient_vectors"] or None}
    if not is_map:
        opts |= {"dt": spec["dt"], "method": spec["method"]}
    return opts
