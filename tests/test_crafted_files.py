"""Crafted and malformed files: each is refused with a ValueError whose message names what is wrong, within a
second and a few MB, before anything the file asks for is allocated; reading a file never runs code from it."""

import dataclasses
import json
import re
import struct
import time
import tracemalloc
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import ctrnn
from cli import app
from ctrnn.analysis import SurveySettings
from ctrnn.io import write_file

SECONDS = 1.0  # a refusal reads a header and a few small tensors: milliseconds, with a wide margin for a busy machine
PYTHON_BYTES = 4 << 20  # Python objects made while refusing (tracemalloc's peak)
RSS_BYTES = 16 << 20  # growth of the process's peak resident memory (torch's tensors included), from its value before


def _vm_hwm() -> int | None:
    """The process's peak resident memory (Linux's VmHWM) in bytes after resetting it to the current value, or
    ``None`` where /proc cannot do that."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the high-water mark to the current resident size
        with open("/proc/self/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024
    except (OSError, AttributeError):
        return None


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024


def refused(path: Path, match: str) -> ValueError:
    """``ctrnn.load(path)`` raises a ValueError matching ``match``, fast and without allocating much."""
    before = _vm_hwm()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=match) as info:
            ctrnn.load(path)
    finally:
        elapsed = time.perf_counter() - start
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < SECONDS, f"refused after {elapsed:.2f} s"
    assert python_peak < PYTHON_BYTES, f"{python_peak / 2**20:.1f} MB of Python objects"
    if before is not None:
        grown = _peak_rss() - before
        assert grown < RSS_BYTES, f"peak memory grew by {grown / 2**20:.1f} MB"
    message = str(info.value)
    assert str(path) in message, message  # the message says which file
    assert len(message) < 600 and "\n" not in message, message  # one readable line, whatever the file holds
    return info.value


# -- files written byte by byte ---------------------------------------------------------------------------------
def raw(path: Path, tensors: dict | None = None, metadata: dict | None = None, *, header: bytes | None = None,
        length: int | None = None, data: bytes | None = None) -> Path:
    """A safetensors file: ``tensors`` maps a name to ``(dtype, shape, payload)`` where the payload is the data's
    bytes, or a byte count the header claims without the data; ``header`` replaces the JSON header, ``length``
    the header length the first 8 bytes state."""
    entries, body, offset = {}, b"", 0
    for name, (dtype, shape, payload) in (tensors or {}).items():
        size = payload if isinstance(payload, int) else len(payload)
        entries[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        body += b"" if isinstance(payload, int) else payload
        offset += size
    if metadata is not None:
        entries["__metadata__"] = metadata
    if header is None:
        header = json.dumps(entries).encode()
    path.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header
                     + (body if data is None else data))
    return path


def ctrnn_header(kind: str = "model", meta: object = None) -> dict:
    """The ``__metadata__`` ctrnn writes, with any JSON ``meta`` (or a raw string)."""
    return {"format": "ctrnn", "kind": kind, "meta": meta if isinstance(meta, str) else json.dumps(meta)}


def f64(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


NET = ctrnn.RateRNN(3, n_inputs=1, seed=0).double()  # float64, like the tensors the cases put in its place


def net_file(path: Path, *, config: object = "keep", cls: object = "RateRNN", **tensors: object) -> Path:
    """A rate network's file through ctrnn's own writer, with tensors replaced (``None`` drops one) and its
    class and config as given."""
    state = dict(NET.state_dict())
    for name, value in tensors.items():
        if value is None:
            state.pop(name)
        else:
            state[name] = value
    write_file(path, state, "model", {"class": cls, "config": NET.config() if config == "keep" else config})
    return path


def truncated(path: Path) -> Path:
    NET.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # the header intact, the last tensor's data cut
    return path


def pickle_file(path: Path) -> Path:
    """A torch pickle renamed: unpickled, it would create ``PWNED`` next to itself."""
    import pickle

    class Payload:
        def __reduce__(self):
            return (Path.touch, (path.with_name("PWNED"),))

    path.write_bytes(pickle.dumps(Payload(), protocol=4))
    return path


def deep_metadata(path: Path) -> Path:
    return raw(path, metadata=ctrnn_header("Trajectory", "[" * 100_000 + "]" * 100_000))


LONG = "A" * 100_000  # a class name longer than anything worth printing
BEER = ctrnn.BeerCTRNN(torch.eye(2, dtype=torch.float64), taus=torch.tensor([1.0, 2.0], dtype=torch.float64))

# name -> (make(path) -> path, what the message must say)
CASES = {
    # the container
    "shorter than its length field": (lambda p: (p.write_bytes(b"\x10\x00\x00"), p)[1], r"truncated.*3 bytes"),
    "truncated data": (truncated, r"truncated: tensor '\w+'.*ends at byte \d+.*holds \d+"),
    "header length beyond the file": (lambda p: raw(p, header=b"{}", length=10_000), r"truncated: .*10000 bytes"),
    "oversized header": (lambda p: raw(p, header=b"{}", length=2**40), r"1099511627776 bytes.*MAX_HEADER_BYTES"),
    "a pickle": (pickle_file, r"not a \.safetensors file \(its first 8 bytes.*MAX_HEADER_BYTES"),
    "header not JSON": (lambda p: raw(p, header=b"\xff\xfe{nope"), r"header is not JSON"),
    "header not an object": (lambda p: raw(p, header=b"[1, 2]"), r"header must be a JSON object, got list"),
    "header claims huge tensors": (
        lambda p: raw(p, {"W": ("F64", (100_000, 100_000), 8 * 10**10)}, ctrnn_header("model", {})),
        r"tensor 'W'.*\(100000, 100000\).*ends at byte 80000000000"),
    "offsets that do not fit the shape": (
        lambda p: raw(p, {"W": ("F64", (3,), f64(1.0))}, ctrnn_header("model", {})),
        r"tensor 'W'.*\(3,\) F64 needs 24 bytes.*8"),
    "unknown dtype": (lambda p: raw(p, {"W": ("Q7", (1,), b"\0")}, ctrnn_header("model", {})),
                      r"tensor 'W'.*unknown dtype 'Q7'"),
    "negative shape": (lambda p: raw(p, {"W": ("F64", (-1,), b"")}, ctrnn_header("model", {})),
                       r"tensor 'W'.*shape must be a list of integers >= 0"),
    "complex pair without its (re, im) axis": (
        lambda p: raw(p, {"lam::complex": ("F64", (3,), f64(0, 0, 0))}, ctrnn_header("model", {})),
        r"'lam::complex'.*last axis of size 2"),
    # the metadata
    "no kind": (lambda p: raw(p, metadata={"format": "ctrnn", "meta": "{}"}), r"no 'kind'"),
    "unknown kind": (lambda p: raw(p, metadata=ctrnn_header("Nonsense", {})),
                     r"unknown kind 'Nonsense'; choose one of: .*model.*Trajectory"),
    "metadata nested past Python's recursion limit": (deep_metadata, r"metadata is not JSON"),
    "model metadata not an object": (lambda p: raw(p, metadata=ctrnn_header("model", [1, 2])),
                                     r"metadata must be a JSON object, got list"),
    "result metadata not an object": (lambda p: raw(p, metadata=ctrnn_header("Trajectory", '"x"')),
                                      r"metadata must be a JSON object, got str"),
    # the model's class and config
    "class that runs code": (lambda p: net_file(p, cls=f"__import__('os').system('touch {p.with_name('PWNED')}')"),
                             r"unknown model class \"__import__\('os'\).*choose one of: .*RateRNN"),
    "class that is a path": (lambda p: net_file(p, cls="../x"), r"unknown model class '\.\./x'; choose one of"),
    "private base class": (lambda p: net_file(p, cls="_Gated"), r"unknown model class '_Gated'"),
    "class that cannot be saved": (lambda p: net_file(p, cls="VectorField"), r"unknown model class 'VectorField'"),
    "class name of a million letters": (lambda p: net_file(p, cls=LONG), r"unknown model class 'AAAA.*\.\.\."),
    "class not a string": (lambda p: net_file(p, cls=5), r"class must be a model class name \(a string\), got int"),
    "no config": (lambda p: net_file(p, config=None), r"config must be a JSON object.*got NoneType"),
    "config not an object": (lambda p: net_file(p, config=[1]), r"config must be a JSON object.*got list"),
    "config value of the wrong type": (lambda p: net_file(p, config={**NET.config(), "n": "3"}),
                                       r"config: n must be an int, got str"),
    "config with an unknown key": (lambda p: net_file(p, config={**NET.config(), "evil": 1}),
                                   r"config: .*unexpected keyword argument 'evil'"),
    "config missing a key": (lambda p: net_file(p, config={"n_inputs": 1}), r"config: .*missing .*'n'"),
    "LinearSSM(n=30000) config with tiny tensors": (
        lambda p: write_file(p, dict(ctrnn.LinearSSM(torch.zeros(1, 1), torch.zeros(1, 1)).state_dict()), "model",
                             {"class": "LinearSSM", "config": {"n": 30000, "m": 1, "p": 1}}) or p,
        r"tensor 'A' has shape \(1, 1\).*config.*\(30000, 30000\)"),
    # the model's tensors
    "wrong shape": (lambda p: net_file(p, W=torch.zeros(4, 4)), r"tensor 'W' has shape \(4, 4\).*implies \(3, 3\)"),
    "integer weights": (lambda p: net_file(p, W=torch.zeros(3, 3, dtype=torch.int64)),
                        r"tensor 'W' is I64.*floating"),
    "boolean weights": (lambda p: net_file(p, W=torch.zeros(3, 3, dtype=torch.bool)), r"tensor 'W' is BOOL"),
    "mixed precision": (lambda p: net_file(p, W=torch.zeros(3, 3, dtype=torch.float32)),
                        r"one precision.*'W' is float32.*float64"),
    "missing tensor": (lambda p: net_file(p, bias=None), r"no tensor 'bias'"),
    "extra tensor": (lambda p: net_file(p, evil=torch.zeros(1)), r"unexpected tensor 'evil'"),
    "negative tau": (lambda p: net_file(p, tau=torch.tensor(-1.0)), r"tau must be > 0"),
    "NaN weights": (lambda p: net_file(p, W=torch.full((3, 3), float("nan"))), r"W contains 9 non-finite"),
    "Inf input weights": (lambda p: net_file(p, W_in=torch.full((3, 1), float("inf"))), r"W_in contains 3 non-finite"),
    "Beer network with a negative time constant": (
        lambda p: write_file(p, {**BEER.state_dict(), "taus": torch.tensor([1.0, -2.0])}, "model",
                             {"class": "BeerCTRNN", "config": BEER.config()}) or p, r"taus must be > 0"),
    "Lorenz with NaN in its config": (
        lambda p: write_file(p, {}, "model", {"class": "Lorenz", "config": {"sigma": float("nan")}}) or p,
        r"sigma must be a finite number"),
    # maps
    "map of an unknown class": (lambda p: raw(p, metadata=ctrnn_header("map", {"class": "Evil"})),
                                r"unknown map class 'Evil'; choose one of: LinearMap, SelectiveMap, SystemMap"),
    "map with a negative step": (
        lambda p: write_file(p, {f"system.{k}": v for k, v in NET.state_dict().items()}, "map",
                             {"class": "SystemMap", "scheme": "euler", "dt": -0.1,
                              "system": {"class": "RateRNN", "config": NET.config()}}) or p, r"dt must be > 0"),
    "map with an unknown scheme": (
        lambda p: write_file(p, {f"system.{k}": v for k, v in NET.state_dict().items()}, "map",
                             {"class": "SystemMap", "scheme": "magic", "dt": 0.1,
                              "system": {"class": "RateRNN", "config": NET.config()}}) or p,
        r"unknown scheme 'magic'"),
    "map whose model has NaN weights": (
        lambda p: write_file(p, {f"system.{k}": v for k, v in NET.state_dict().items()} |
                             {"system.W": torch.full((3, 3), float("nan"))}, "map",
                             {"class": "SystemMap", "scheme": "euler", "dt": 0.1,
                              "system": {"class": "RateRNN", "config": NET.config()}}) or p,
        r"W contains 9 non-finite"),
    "linear map missing a matrix": (
        lambda p: write_file(p, {"Abar": torch.eye(2), "dt": torch.tensor(0.1)}, "map",
                             {"class": "LinearMap", "scheme": "zoh", "diagonal": False}) or p, r"no tensor 'Bbar'"),
    "linear map with mismatched shapes": (
        lambda p: write_file(p, {"Abar": torch.eye(3), "Bbar": torch.ones(2, 1), "C": torch.eye(2),
                                 "D": torch.zeros(2, 1), "dt": torch.tensor(0.1), "scipy_Ad": torch.eye(3),
                                 "scipy_Bd": torch.ones(2, 1), "scipy_Cd": torch.eye(2), "scipy_Dd": torch.zeros(2, 1)},
                             "map", {"class": "LinearMap", "scheme": "zoh", "diagonal": False}) or p,
        r"tensor 'Abar' has shape \(3, 3\).*\(2, 2\)"),
    "linear map with a NaN matrix": (
        lambda p: write_file(p, {"Abar": torch.full((2, 2), float("nan")), "Bbar": torch.ones(2, 1), "C": torch.eye(2),
                                 "D": torch.zeros(2, 1), "dt": torch.tensor(0.1), "scipy_Ad": torch.eye(2),
                                 "scipy_Bd": torch.ones(2, 1), "scipy_Cd": torch.eye(2), "scipy_Dd": torch.zeros(2, 1)},
                             "map", {"class": "LinearMap", "scheme": "zoh", "diagonal": False}) or p,
        r"Abar contains 4 non-finite"),
    # results
    "trajectory without stats": (lambda p: write_file(p, {"t": torch.zeros(2), "x": torch.zeros(2, 1)}, "Trajectory",
                                                      {"method": "rk4", "rtol": None, "atol": None, "step_size": 0.1,
                                                       "metadata": {}}) or p, r"Trajectory.*'stats' is missing"),
    "trajectory whose stats are a string": (
        lambda p: write_file(p, {"t": torch.zeros(2), "x": torch.zeros(2, 1)}, "Trajectory",
                             {"stats": "fast", "method": "rk4", "rtol": None, "atol": None, "step_size": 0.1,
                              "metadata": {}}) or p, r"field stats must be a JSON object, got str"),
    "trajectory with a string tolerance": (
        lambda p: write_file(p, {"t": torch.zeros(2), "x": torch.zeros(2, 1)}, "Trajectory",
                             {"stats": {"nfe": 1, "n_accepted": None, "n_rejected": None, "n_steps": None,
                                        "wall_time": 0.0}, "method": "dopri5", "rtol": "tight", "atol": 1e-9,
                              "step_size": None, "metadata": {}}) or p, r"field rtol must be float \| None, got str"),
    "trajectory with a string count": (
        lambda p: write_file(p, {"t": torch.zeros(2), "x": torch.zeros(2, 1)}, "Trajectory",
                             {"stats": {"nfe": "many", "n_accepted": None, "n_rejected": None, "n_steps": None,
                                        "wall_time": 0.0}, "method": "rk4", "rtol": None, "atol": None,
                              "step_size": 0.1, "metadata": {}}) or p, r"field stats.nfe must be int, got str"),
    "trajectory whose metadata is a list": (
        lambda p: write_file(p, {"t": torch.zeros(2), "x": torch.zeros(2, 1)}, "Trajectory",
                             {"stats": {"nfe": 1, "n_accepted": None, "n_rejected": None, "n_steps": None,
                                        "wall_time": 0.0}, "method": "rk4", "rtol": None, "atol": None,
                              "step_size": 0.1, "metadata": [1]}) or p, r"field metadata must be dict"),
    "fixed-point branches whose results are a number": (
        lambda p: write_file(p, {"inputs": torch.zeros(2, 1)}, "FixedPointBranches", {"results": 5, "metadata": {}})
        or p, r"field results must be a JSON list, got int"),
    "survey whose settings are a number": (
        lambda p: write_file(p, {}, "Survey", {"settings": 3}) or p, r"field settings must be a JSON object, got int"),
    "basins whose attractors are a number": (
        lambda p: write_file(p, {"labels": torch.zeros(2, 2)}, "Basins", {"attractors": 3, "names": [],
                                                                          "metadata": {}}) or p,
        r"field attractors must be a JSON list, got int"),
    "survey with a nested result of an unknown kind": (
        lambda p: write_file(p, {}, "Survey", {"settings": dataclasses.asdict(SurveySettings()),
                                              "trajectory": {"kind": "Evil", "meta": {}}}) or p,
        r"field trajectory.kind: unknown result kind 'Evil'"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_crafted_file_is_refused_fast_and_small(tmp_path, case):
    make, match = CASES[case]
    path = make(tmp_path / "crafted.safetensors")
    refused(path, match)
    assert not (tmp_path / "PWNED").exists()  # nothing in a file runs: no pickle, no class name evaluated


def test_every_ctrnn_file_still_loads(tmp_path):
    """The checks refuse only what is wrong: each model and map a user can save loads back exactly."""
    complex_ssm = ctrnn.LinearSSM(torch.tensor([[-1 + 1j, 0], [0, -2]]), torch.ones(2, 1, dtype=torch.complex128))
    models = [NET, BEER, complex_ssm,
              ctrnn.DiagonalSSM.lru(3, 2, seed=0), ctrnn.GRUODE(3, 2, seed=1), ctrnn.LSTMODE(2, 1, seed=1),
              ctrnn.SelectiveSSM(2, 3, seed=0), ctrnn.systems.Lorenz(), ctrnn.RateRNN(4, dale=0.5, seed=2).float()]
    for i, model in enumerate(models):
        model.save(tmp_path / f"{i}.safetensors")
        back = ctrnn.load(tmp_path / f"{i}.safetensors")
        assert type(back) is type(model)
        for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items(), strict=True):
            assert a.dtype == b.dtype and torch.equal(a, b), (type(model).__name__, k)  # complex kept complex
    dmap = ctrnn.discretize(ctrnn.LinearSSM(-torch.eye(2), torch.ones(2, 1)), torch.tensor([0.1, 0.2]), scheme="foh")
    dmap.save(tmp_path / "map.safetensors")
    assert torch.equal(ctrnn.load(tmp_path / "map.safetensors").Abar, dmap.Abar)


def test_what_was_loaded_does_not_follow_later_changes_to_its_file(tmp_path):
    """safetensors maps the file into memory: a tensor read from it changes when the file is overwritten."""
    traj = ctrnn.simulate(NET, torch.ones(2, 3), torch.linspace(0, 1, 5), method="rk4", step_size=0.25)
    for name, obj in (("traj", traj), ("net", NET)):
        obj.save(tmp_path / f"{name}.safetensors")
        back = ctrnn.load(tmp_path / f"{name}.safetensors")
        size = (tmp_path / f"{name}.safetensors").stat().st_size
        with open(tmp_path / f"{name}.safetensors", "r+b") as f:
            f.seek(size - 64)
            f.write(b"\xff" * 64)  # the last tensors' bytes, overwritten in place
        fields = ("t", "x") if name == "traj" else tuple(NET.state_dict())
        for field in fields:
            assert torch.equal(getattr(back, field), getattr(obj, field).detach()), (name, field)


class UserRing(ctrnn.System):
    """A model class of a user's own: a config(), but no tensor_shapes, so its shapes come from a build."""

    def __init__(self, n: int, tau: float = 1.0):
        super().__init__()
        self.state_dim, self.input_dim, self.tau = n, 0, tau
        self.W = torch.nn.Parameter(torch.zeros(n, n, dtype=torch.float64))

    def forward(self, t, x, u=None):
        return (-x + torch.tanh(x) @ self.W.T) / self.tau

    def config(self):
        return {"n": self.state_dim, "tau": self.tau}


class UserCheckedRing(UserRing):
    """One whose constructor reads its tensors' values (it cannot run on torch's meta device)."""

    def __init__(self, n: int, tau: float = 1.0):
        super().__init__(n, tau)
        self.check_parameters()


def test_a_model_class_of_the_users_own_is_checked_before_it_is_built(tmp_path):
    """Its config asks for n = 5000 (200 MB of float64 the constructor would allocate) while the file holds a 2 x 2
    W: refused from a build on the meta device, before the real one; correct files of such classes still load."""
    crafted = write_file(tmp_path / "crafted.safetensors", {"W": torch.zeros(2, 2, dtype=torch.float64)}, "model",
                         {"class": "UserRing", "config": {"n": 5000, "tau": 1.0}}) or tmp_path / "crafted.safetensors"
    refused(crafted, r"tensor 'W' has shape \(2, 2\), but a UserRing built from its config implies \(5000, 5000\)")
    for cls in (UserRing, UserCheckedRing):  # the second is built for real: meta cannot run its constructor
        model = cls(3, tau=2.0)
        with torch.no_grad():
            model.W.copy_(torch.arange(9.0).reshape(3, 3))
        model.save(tmp_path / f"{cls.__name__}.safetensors")
        back = ctrnn.load(tmp_path / f"{cls.__name__}.safetensors")
        assert type(back) is cls and back.tau == 2.0 and torch.equal(back.W, model.W)
        assert back.W.device.type == "cpu"


def test_the_size_cap_refuses_a_big_model_and_can_be_raised_for_a_trusted_file(tmp_path):
    net = ctrnn.RateRNN(40, seed=0)
    net.save(tmp_path / "m.safetensors")
    elements = sum(t.numel() for t in net.state_dict().values())  # 40 * 40 + 40 + 1
    with pytest.raises(ValueError, match=rf"{elements} tensor elements, more than the 1000 allowed.*max_elements="):
        ctrnn.load(tmp_path / "m.safetensors", max_elements=1000)
    assert torch.equal(ctrnn.load(tmp_path / "m.safetensors", max_elements=elements).W, net.W)
    assert ctrnn.io.MAX_MODEL_ELEMENTS == 2**28  # the default: 2 GiB of float64


@pytest.mark.parametrize("verb", ["lyapunov", "fixed-points"])
@pytest.mark.parametrize("make,match", [(CASES["negative tau"][0], "tau must be > 0"),
                                        (CASES["model metadata not an object"][0], "metadata must be a JSON object")],
                         ids=["negative tau", "metadata not an object"])
def test_cli_refuses_a_crafted_model_file_in_one_line(tmp_path, verb, make, match):
    path = make(tmp_path / "crafted.safetensors")
    result = CliRunner().invoke(app, [verb, "--model-file", str(path), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and match in lines[0], result.output
    assert not (tmp_path / "out").exists()  # refused before the run folder is made


def test_metadata_too_large_for_a_header_is_refused_when_written(tmp_path, monkeypatch):
    """A file whose header could not be read back is never written (a Beer network keeps its weights in its config)."""
    monkeypatch.setattr(ctrnn._format, "MAX_HEADER_BYTES", 1000)
    with pytest.raises(ValueError, match=r"metadata takes \d+ bytes, more than the 1000 a file's header may hold"):
        ctrnn.BeerCTRNN(torch.zeros(20, 20)).save(tmp_path / "beer.safetensors")
    assert not list(tmp_path.iterdir())
