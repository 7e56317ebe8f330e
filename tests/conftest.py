import os

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

# under pytest-xdist each worker gets its share of the cores (torch would otherwise start a thread per core in each)
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))

#: the files that take longest (seconds on 2 cores, measured with --durations=0), run first: pytest-xdist hands each
#: file to one worker in collection order, and a long file handed out last keeps one worker busy after the other
#: has finished (longest first keeps the two workers' shares even)
LONGEST_FIRST = ("test_readme.py", "test_trained_mechanisms.py", "test_universality.py", "test_report.py",
                 "test_output_folders.py", "test_training.py", "test_cli.py", "test_lyapunov.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


# Reference solves: scipy's DOP853 (order 8) at rtol = atol = 1e-12, tighter than anything asked of ctrnn.
REF_TOL = 1e-12


def dop853(rhs, x0: np.ndarray, t: np.ndarray, breaks=()) -> np.ndarray:
    """Solve ``x' = rhs(t, x)`` with scipy on the grid ``t``, restarting at each input breakpoint so the
    reference never steps across a discontinuity. Returns ``(T, n)``."""
    knots = [t[0], *[b for b in breaks if t[0] < b < t[-1]], t[-1]]
    x = np.asarray(x0)
    x = x.astype(complex if np.iscomplexobj(x) else float)  # scipy's DOP853 integrates complex systems too
    out = np.empty((len(t), len(x0)), dtype=x.dtype)
    for a, b in zip(knots[:-1], knots[1:]):
        inside = (t >= a) & (t <= b)
        sol = solve_ivp(rhs, (a, b), x, method="DOP853", rtol=REF_TOL, atol=REF_TOL, t_eval=t[inside],
                        dense_output=False)
        assert sol.success, sol.message
        out[inside] = sol.y.T
        x = solve_ivp(rhs, (a, b), x, method="DOP853", rtol=REF_TOL, atol=REF_TOL).y[:, -1]
    return out


@pytest.fixture(autouse=True)
def _float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    """Runs the test under this default dtype (torch's own default is float32): models, states and torch.nn
    modules built inside the test take it, as a user's would."""
    torch.set_default_dtype(request.param)  # _float64_default restores the previous default afterwards
    return request.param


def eps_of(dtype: torch.dtype) -> float:
    """Machine epsilon, the unit every dtype-aware tolerance is written in."""
    return torch.finfo(dtype).eps


def solver_bound(traj, growth: float = 10.0) -> float:
    """Global-error bound of a tolerance-controlled solve: the controller keeps each step's local error
    below ``atol + rtol * |x|``; ``n_steps`` of them accumulate, amplified by at most ``growth`` over
    the short, non-explosive runs used in the tests."""
    scale = traj.atol + traj.rtol * float(traj.x.detach().abs().max())
    return growth * traj.stats.n_steps * scale


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# Property-based tests (tests/test_properties.py): a fixed example budget in CI; `--hypothesis-profile=long`
# (or CTRNN_HYPOTHESIS=long) for a longer search. No deadline: a first call pays for torch's warm-up.
try:
    import os

    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("long", max_examples=2000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("CTRNN_HYPOTHESIS", "ci"))
except ImportError:  # the test extra installs hypothesis; without it, test_properties.py is skipped
    pass
