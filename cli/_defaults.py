"""The defaults (and so the schema) of the verbs' configs that several verbs share, and the translation of
their ``lyapunov`` section into keyword arguments."""

from __future__ import annotations

from typing import Any

#: every config starts with these; ``model`` holds ``kind`` and the model's parameters (see `ctrnn models`)
BASE: dict[str, Any] = {"seed": 0, "device": "cpu", "dtype": "float64", "model": {"kind": "rate"}}

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


def lyapunov_options(spec: dict[str, Any], is_map: bool) -> dict[str, Any]:
    """``lyapunov_spectrum`` keyword arguments from the config's ``lyapunov`` section, checked so that bad values
    fail before any folder is made (``ValueError``)."""
    for key in ("t_transient", "t_total", "qr_interval", "dt"):
        if not spec[key] > 0:
            raise ValueError(f"lyapunov.{key}: {key} must be positive, got {spec[key]}")
    opts = {"k": spec["k"] or None, "t_transient": spec["t_transient"], "t_total": spec["t_total"],
            "qr_interval": spec["qr_interval"], "t_transient_vectors": spec["t_transient_vectors"] or None}
    if not is_map:
        opts |= {"dt": spec["dt"], "method": spec["method"]}
    return opts
