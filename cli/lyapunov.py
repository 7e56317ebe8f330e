"""``ctrnn lyapunov``: the Lyapunov spectrum of a model or map."""

from __future__ import annotations

from cli._defaults import LYAPUNOV_DEFAULTS, lyapunov_options
from cli._options import ModelFileOpt, ModelOpt, Shared, flag, shared_options


K = flag("lyapunov.k", int, "Number of exponents (default: all n).")
TTotal = flag("lyapunov.t_total", float, "Averaging time (iterations for a map).")


@shared_options(ModelOpt, K, TTotal, defaults=LYAPUNOV_DEFAULTS)
def lyapunov(opts: Shared, model_file: ModelFileOpt = None) -> None:
    """Lyapunov spectrum of a model or map: exponents with standard errors, Kaplan-Yorke dimension, entropy."""
    import ctrnn
    from ctrnn.setup import build_model_and_states, constant_input

    folder = opts.folder("lyapunov")
    cfg = opts.resolve(LYAPUNOV_DEFAULTS, model_file=model_file)  # records the file, not the defaults
    spec = cfg["lyapunov"]
    obj, x0 = build_model_and_states(cfg, spec["batch"], spec["x0_scale"])
    options = lyapunov_options(spec, isinstance(obj, ctrnn.DiscreteMap))  # bad values fail before the folder
    folder.create(cfg)
    les = ctrnn.lyapunov_spectrum(obj, x0, inputs=constant_input(spec["input"], obj), seed=cfg["seed"],
                                  progress=not opts.quiet, **options)
    folder.save(les, "spectrum")
    folder.figure(les.plot(), "spectrum")
    folder.finish(les.summary())
