"""Showcases hold what they claim: every config, gallery entry and README example whose text says "chaotic"
has a positive largest Lyapunov exponent, measured; the Lorenz experiment compares with the published spectrum
only at the published parameters."""

import re
from pathlib import Path

import pytest
import torch

import ctrnn
from ctrnn.config import read_toml
from ctrnn.setup import build_model, model_config

ROOT = Path(__file__).resolve().parents[1]
SIMULATIONS = ROOT / "simulations"


def readme_chaotic_networks():
    """The ``ctrnn.RateRNN(...)`` constructions of the README's Python blocks that a "chaotic" comment follows."""
    code = "\n".join(re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S))
    return re.findall(r"(ctrnn\.RateRNN\([^)]*\))[^\n]*\n?[^\n]*#[^\n]*\bchaotic\b", code)


def gallery_model(name, quick):
    """The model of a gallery experiment that its text calls chaotic (a new claim must be added here)."""
    import simulations

    _, cfg = simulations.resolve(name, quick=quick)
    s = cfg["settings"]
    if name == "lorenz":
        return ctrnn.systems.Lorenz(sigma=s["sigma"], rho=s["rho"], beta=s["beta"]), torch.tensor([1.0, 1.0, 20.0])
    if name == "chaos_transition":  # the network of its "full report ... in the chaotic regime"
        return ctrnn.RateRNN(s["n"], g=s["g_report"], seed=cfg["seed"]), None
    raise AssertionError(f"simulations/{name} says chaotic: add how to build its model to gallery_model")


def says_chaotic(path):
    return "chaotic" in path.read_text(encoding="utf-8").lower()


CLAIMS = ([pytest.param("config", p.stem, id=f"configs/{p.name}") for p in sorted((SIMULATIONS / "configs").glob("*.toml"))
           if says_chaotic(p)]
          + [pytest.param("gallery", (p.stem, quick), id=f"{p.stem}{' --quick' if quick else ''}")
             for p in sorted(SIMULATIONS.glob("*.toml")) if says_chaotic(p) or says_chaotic(p.with_suffix(".py"))
             for quick in (False, True)]
          + [pytest.param("readme", expr, id=f"README {expr}") for expr in readme_chaotic_networks()])


def test_every_chaotic_claim_is_collected():
    kinds = {p.values[0] for p in CLAIMS}
    assert kinds == {"config", "gallery", "readme"}, kinds  # the README example and the config are found


@pytest.mark.parametrize("kind,what", CLAIMS)
def test_chaotic_showcases_have_a_positive_largest_exponent(kind, what):
    """lambda_1 > 3 standard errors above zero, at the size the showcase uses. The run is shorter than the ones
    the parameters were chosen by (t_transient 50, t_total 100, dt 0.1, 4 states: a few seconds at N = 200):
    the chosen networks measured 9-11 s.e. above zero at exactly these settings, so 3 s.e. leaves room for
    rounding across platforms while a network that settles (lambda_1 <= 0) fails."""
    if kind == "config":
        cfg = read_toml(SIMULATIONS / "configs" / f"{what}.toml")
        cfg = {"device": "cpu", **cfg, "dtype": "float64", "model": model_config(cfg["model"])}
        model, x0 = build_model(cfg), None
        seed = cfg["seed"]
    elif kind == "gallery":
        model, x0 = gallery_model(*what)
        seed = 0
    else:
        model, x0 = eval(what, {"ctrnn": ctrnn}), None  # noqa: S307 - a constructor from our own README
        seed = int(re.search(r"seed=(\d+)", what)[1])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # N = 200 matvecs: threads only contend on a shared machine (10x slower there)
    model = model.double()
    gen = torch.Generator().manual_seed(seed)
    x0 = (torch.randn(4, model.state_dim, generator=gen, dtype=torch.float64) + (0 if x0 is None else x0))
    # rate networks: RK4 at dt 0.1 (one tenth of tau); Lorenz (lambda_1 = 0.9, 10 s.e. within 10 units): dt 0.01
    times = dict(t_transient=50.0, t_total=100.0, dt=0.1) if isinstance(model, ctrnn.RateRNN) else \
        dict(t_transient=5.0, t_total=10.0, dt=0.01)
    try:
        les = ctrnn.lyapunov_spectrum(model, x0, k=1, **times)
    finally:
        torch.set_num_threads(threads)
    lam, se = float(les.exponents[0]), float(les.stderr[0])
    assert lam > 3 * se and lam > 0, f"{what}: lambda_1 = {lam:+.4f} ± {se:.4f} is not positive beyond 3 s.e."


def test_lorenz_compares_with_the_published_spectrum_only_at_its_parameters():
    """At (10, 28, 8/3) the table has the published values and a "difference" column; at rho = 30 it has
    neither, and its note says why (a short spectrum suffices: only the table's shape is checked)."""
    import simulations
    from simulations.lorenz import spectrum_table

    for rho, published in ((28.0, True), (30.0, False)):
        _, cfg = simulations.resolve("lorenz", quick=True, sets=[f"settings.rho={rho}"])
        s = cfg["settings"]
        model = ctrnn.systems.Lorenz(sigma=s["sigma"], rho=s["rho"], beta=s["beta"])
        les = ctrnn.lyapunov_spectrum(model, torch.tensor([1.0, 1.0, 20.0]), t_transient=1.0, t_total=2.0, dt=0.01)
        rows, header, note = spectrum_table(les, s)
        assert ("published" in header and "difference" in header) is published
        assert ("+0.9059" in str(rows)) is published
        assert ("No published spectrum" in note) is not published and all(len(r) == len(header) for r in rows)


def test_chaos_transition_logs_progress_per_network(monkeypatch, tmp_path):
    """A quick chaos_transition sweep logs a line per network as it finishes, not one line for the whole sweep.
    The sweep runs for real at a tiny size (N = 8, short times); the closing full report (ctrnn.report, which
    logs a line per analysis itself) is replaced by an empty one to keep this test to a few seconds."""
    import simulations
    import simulations.chaos_transition as experiment

    monkeypatch.setattr(experiment, "report", lambda *a, **k: ctrnn.Report("stub"))
    lines = []
    sets = ["settings.n=8", "settings.g_count=4", "settings.seeds=2", "settings.t_transient=2.0",
            "settings.t_total=4.0", "settings.dt=0.2", "settings.networks_per_solve=2"]
    simulations.run("chaos_transition", tmp_path, quick=True, sets=sets, log=lines.append)
    per_network = [line for line in lines if "lambda_1 =" in line]
    assert len(per_network) == 8 and len(lines) > 5, lines  # 4 values x 2 networks, each logged
    assert per_network[-1].endswith("(8/8 networks)")
