"""Property-based tests (hypothesis) of the public API and the config parser: random shapes, dtypes, NaN and
Inf, empty and huge values. Every call either succeeds with finite results or raises one of the exceptions
ctrnn documents (``ValueError`` and its ``ConfigError``, ``TypeError``, ``SolverError`` and its
``DivergenceError``, ``NoCycleError``), never a bare ``RuntimeError`` / ``KeyError`` / ``IndexError`` /
``OverflowError`` from deep inside. The budget is ``conftest.py``'s "ci" profile (a fixed number of examples,
derandomized so CI is repeatable); ``--hypothesis-profile=long`` searches further."""

import math

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ctrnn  # noqa: E402
from ctrnn.config import merge, parse_assignment  # noqa: E402

#: what a public call may raise: ctrnn's documented errors (ConfigError is a ValueError, DivergenceError a
#: SolverError, which is ctrnn's own RuntimeError subclass, so torch's bare RuntimeErrors do not count)
DOCUMENTED = (ValueError, TypeError, ctrnn.SolverError, ctrnn.NoCycleError)

special = st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan])
floats = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), special)
dtypes = st.sampled_from([torch.float64, torch.float32, torch.float16, torch.int64, torch.bool, torch.complex128])
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


def tensors(shape=shapes, dtype=dtypes):
    """A tensor of a random shape and dtype whose entries mix ordinary numbers with 0, huge, Inf and NaN."""
    return st.tuples(shape, dtype, st.lists(floats, min_size=1, max_size=8)).map(_fill)


def _fill(args):
    shape, dtype, values = args
    numel = math.prod(shape)
    flat = torch.tensor([values[i % len(values)] for i in range(numel)], dtype=torch.float64)
    if dtype in (torch.int64, torch.bool):
        flat = torch.nan_to_num(flat, nan=0.0, posinf=1e6, neginf=-1e6).clamp(-1e6, 1e6)
    return flat.to(dtype).reshape(shape)


def finite(value) -> bool:
    """Every tensor and float inside a result is finite (results hold no silent NaN)."""
    if isinstance(value, torch.Tensor):
        return value.numel() == 0 or bool(torch.isfinite(value).all())
    if isinstance(value, float):
        return math.isfinite(value)
    return True


def outcome(call):
    """Run ``call``: its result, or the documented exception it raised (anything else fails the test)."""
    try:
        return call()
    except DOCUMENTED as error:
        assert str(error).strip(), f"{type(error).__name__} without a message"
        return error


MODELS = {"rate": lambda: ctrnn.RateRNN(3, g=1.5, seed=0), "beer": lambda: ctrnn.BeerCTRNN(torch.eye(3) * 4.0),
          "lorenz": lambda: ctrnn.systems.Lorenz(), "gru": lambda: ctrnn.GRUODE(3, 0, seed=0),
          "map": lambda: ctrnn.IteratedMap(lambda x, u: 0.5 * torch.tanh(x), 3)}
models = st.sampled_from(sorted(MODELS))


@given(models, tensors(), tensors(shape=st.lists(st.integers(0, 5), min_size=1, max_size=1).map(tuple),
                                  dtype=st.sampled_from([torch.float64, torch.float32])))
def test_simulate_succeeds_finitely_or_refuses(kind, x0, t):
    model = MODELS[kind]()
    if kind == "map":
        result = outcome(lambda: model.rollout(x0, steps=3))
        assert isinstance(result, Exception) or finite(result)
        return
    result = outcome(lambda: ctrnn.simulate(model, x0, t, method="rk4", step_size=0.05))
    assert isinstance(result, Exception) or (finite(result.x) and result.x.shape[0] == t.shape[0])


@given(models, tensors())
def test_fixed_points_and_jacobians_succeed_finitely_or_refuse(kind, starts):
    model = MODELS[kind]()
    found = outcome(lambda: ctrnn.find_fixed_points(model, starts, max_iter=20))
    assert isinstance(found, Exception) or (finite(found.points) and finite(found.eigenvalues))
    jac = outcome(lambda: ctrnn.jacobian(model, starts))
    assert isinstance(jac, Exception) or finite(jac)


@given(models, tensors(), st.integers(-1, 4), floats)
def test_lyapunov_spectrum_succeeds_finitely_or_refuses(kind, x0, k, t_total):
    model = MODELS[kind]()
    options = {} if kind == "map" else {"dt": 0.05}
    total = t_total if not (isinstance(t_total, float) and math.isfinite(t_total)) else min(abs(t_total), 2.0)
    result = outcome(lambda: ctrnn.lyapunov_spectrum(model, x0, k=k, t_transient=0.5, t_total=total, **options))
    assert isinstance(result, Exception) or (finite(result.exponents) and math.isfinite(result.kaplan_yorke_dimension))


@given(st.sampled_from(["rate", "beer", "gru", "lstm", "linear", "s4d", "lru", "lorenz", "rossler", "vanderpol"]),
       st.dictionaries(st.sampled_from(["n", "g", "tau", "n_inputs", "sigma", "rho", "mu", "taus", "biases", "zz"]),
                       st.one_of(floats, st.integers(-3, 6), st.text(max_size=3), st.booleans(), st.none(),
                                 st.lists(floats, max_size=3)), max_size=3))
def test_building_a_model_from_a_config_succeeds_or_refuses(kind, params):
    model = outcome(lambda: ctrnn.build_system(kind, params, seed=0))
    assert isinstance(model, (ctrnn.System, Exception))
    if isinstance(model, ctrnn.System):
        assert all(finite(p) for p in model.parameters())


@given(st.sampled_from(["euler", "exp_euler", "rk4", "zoh", "bilinear", "mamba", "nope"]), floats)
def test_discretize_succeeds_or_refuses(scheme, dt):
    for model in (ctrnn.RateRNN(3, seed=0), ctrnn.DiagonalSSM.lru(3, 1, seed=0)):
        outcome(lambda: ctrnn.discretize(model, dt, scheme=scheme))


@given(st.lists(floats, max_size=4), st.lists(floats, max_size=5))
def test_input_steps_succeed_or_refuse(times, levels):
    u = outcome(lambda: ctrnn.inputs.steps(times, torch.tensor(levels, dtype=torch.float64)[:, None]
                                           if levels else torch.zeros(0, 1), t_span=(0.0, 10.0)))
    if not isinstance(u, Exception):
        assert finite(u(torch.tensor(5.0)))


@given(st.text(max_size=30))
def test_set_assignments_parse_or_refuse(text):
    parsed = outcome(lambda: parse_assignment(text))
    assert isinstance(parsed, ctrnn.ConfigError) or (isinstance(parsed, tuple) and all(parsed[0]))


config_values = st.recursive(st.one_of(floats, st.integers(), st.text(max_size=4), st.booleans()),
                             lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                             max_leaves=8)


@given(st.dictionaries(st.sampled_from(["seed", "dtype", "simulation", "model", "extra"]), config_values, max_size=4))
def test_config_layers_merge_or_refuse(layer):
    defaults = {"seed": 0, "dtype": "float64", "simulation": {"t_end": 10.0, "batch": 4}, "model": {"kind": "rate"}}
    merged = outcome(lambda: merge(defaults, layer, free_sections=("model",)))
    assert isinstance(merged, ctrnn.ConfigError) or set(merged) == set(defaults)


@given(st.binary(max_size=300))
def test_loading_random_bytes_is_refused(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "x.safetensors"
    path.write_bytes(data)
    with pytest.raises(ValueError):
        ctrnn.load(path)


@given(models, tensors(), floats, st.sampled_from(["all", "h", "c", "zzz"]))
def test_gradient_propagation_succeeds_finitely_or_refuses(kind, x0, horizon, part):
    model = MODELS[kind]()
    options = {} if kind == "map" else {"dt": 0.1}
    span = horizon if not math.isfinite(horizon) else max(-1.0, min(horizon, 3.0))
    result = outcome(lambda: ctrnn.gradient_propagation(model, x0, horizon=span, t_transient=0.5, part=part,
                                                        **options))
    assert isinstance(result, Exception) or (finite(result.log_norms) and math.isfinite(result.rate))


@given(st.integers(-1, 5), floats, tensors(shape=st.just((2, 2)), dtype=st.just(torch.float64)))
def test_basins_succeed_or_refuse(resolution, t_end, attractor):
    model = ctrnn.BeerCTRNN(torch.eye(2) * 6.0, biases=-3.0)
    end = t_end if not math.isfinite(t_end) else min(abs(t_end), 5.0)
    result = outcome(lambda: ctrnn.analysis.basins(model, {"a": attractor[0], "b": attractor[1]}, t_end=end,
                                                   resolution=(resolution, resolution), extent=(-2.0, 8.0, -2.0, 8.0)))
    assert isinstance(result, Exception) or finite(result.labels)
