"""``ctrnn cycles``: the limit cycle reached from a random start."""

from __future__ import annotations

from cli._defaults import ANALYSIS_DEFAULTS
from cli._options import ModelFileOpt, ModelOpt, Shared, shared_options


@shared_options(ModelOpt, defaults=ANALYSIS_DEFAULTS)
def cycles(opts: Shared, model_file: ModelFileOpt = None) -> None:
    """Find the limit cycle reached from a random start: its period, orbit and Floquet multipliers."""
    import ctrnn
    from ctrnn.setup import build_model_and_states, constant_input

    folder = opts.folder("cycles")
    cfg = opts.resolve(ANALYSIS_DEFAULTS, model_file=model_file)  # records the file, not the defaults
    spec = cfg["search"]
    obj, x0 = build_model_and_states(cfg, 1, spec["x0_scale"])
    if not isinstance(obj, ctrnn.System):
        raise ValueError(f"cycles takes a continuous-time model (a System); {cfg['model']['file']} holds a discrete map, whose "
                         "periodic orbits are fixed points of its iterates (see fixed-points)")
    u = constant_input(spec["input"], obj)
    folder.create(cfg)
    lc = ctrnn.find_limit_cycle(obj, x0[0], inputs=u, t_transient=spec["t_transient"], t_search=spec["t_search"])
    folder.save(lc, "cycle")
    folder.figure(lc.plot(), "cycle")
    mult = ", ".join(f"{complex(m).real:.6g}{complex(m).imag:+.3g}i" for m in lc.floquet_multipliers.tolist())
    folder.finish(f"{'stable' if lc.stable else 'unstable'} limit cycle: period {lc.period:.10g}, "
                  f"Floquet multipliers [{mult}], |x(T) - x(0)| = {lc.residual:.1e}")
