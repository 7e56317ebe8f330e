"""Nothing a user put in a folder is ever lost, and a folder holds one run: ``--force`` replaces only what ctrnn
recorded writing there, an advisory lock keeps a second writer out, a run that fails before writing a result
leaves nothing behind, every file is written atomically, and a resume reuses only what is provably the same
run. The fault tests run ``ctrnn`` in real subprocesses (``kill -9``, a full filesystem, two writers)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import ctrnn
from cli import app

runner = CliRunner()
SMALL = ["--n", "8", "--t-end", "2", "--batch", "2", "--quiet"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def ctrnn_process(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_force_replaces_only_what_ctrnn_wrote(tmp_path):
    out = tmp_path / "run"
    assert run("fixed-points", "--model", "beer", "--set", "model.weights=[[6.0, 0.0], [0.0, 6.0]]",
               "--set", "model.biases=-3.0", "--set", "basins.resolution=8", "--basins", "--out", out, "-q").exit_code == 0
    assert (out / "basins.png").exists() and (out / ".ctrnn-run.json").exists()
    (out / "notes.md").write_text("my thesis")  # the user's own file beside ctrnn's
    (out / "figures").mkdir()
    (out / "figures" / "edited.svg").write_text("<svg/>")
    result = run("fixed-points", "--model", "lorenz", "--out", out, "--force", "-q")
    assert result.exit_code == 0, result.output
    names = {p.relative_to(out).as_posix() for p in out.rglob("*")}
    assert {"notes.md", "figures", "figures/edited.svg"} <= names  # untouched
    assert "basins.png" not in names and "basins.safetensors" not in names  # the earlier run's, replaced
    assert len(ctrnn.load(out / "fixed_points.safetensors")) == 3  # the new run: Lorenz's three points
    assert (out / "notes.md").read_text() == "my thesis"


def test_force_never_empties_a_folder_ctrnn_did_not_make(tmp_path, monkeypatch):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("precious")
    result = run("simulate", *SMALL, "--out", thesis, "--force")
    assert result.exit_code == 2 and "was not made by ctrnn" in result.output
    assert [p.name for p in thesis.iterdir()] == ["chapter1.tex"]
    # the current, home and root folders are refused outright, --force or not, empty or not
    monkeypatch.chdir(thesis)
    monkeypatch.setenv("HOME", str(tmp_path))
    for out in (".", "", str(thesis), str(tmp_path), "/"):
        result = run("simulate", *SMALL, "--out", out, "--force")
        assert result.exit_code == 2 and "a folder of its own" in result.output, (out, result.output)
    assert [p.name for p in thesis.iterdir()] == ["chapter1.tex"]


def test_a_hostile_manifest_touches_nothing(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    victim = tmp_path / "outside.txt"
    victim.write_text("keep")
    (out / ".ctrnn-run.json").write_text(json.dumps({"format": "ctrnn-run", "files": ["../outside.txt"]}))
    result = run("simulate", *SMALL, "--out", out, "--force")
    assert result.exit_code == 2 and "not a file inside" in result.output
    assert victim.read_text() == "keep"
    (out / ".ctrnn-run.json").write_text("{not json")
    result = run("simulate", *SMALL, "--out", out, "--force")
    assert result.exit_code == 2 and "not a ctrnn manifest" in result.output


def test_a_run_that_fails_before_any_result_leaves_nothing(tmp_path):
    """The cycle search fails after the folder is made (the network settles on a fixed point): the folder,
    made by this run and holding only its config, is removed, so the corrected rerun needs no --force."""
    out = tmp_path / "cy"
    result = run("cycles", "--model", "rate", "--set", "model.n=4", "--set", "model.g=0.5", "--out", out)
    assert result.exit_code == 2 and "settled on a fixed point" in result.output
    assert not out.exists()
    existing = tmp_path / "mine"  # a folder the user made: kept, emptied of ctrnn's files only
    existing.mkdir()
    result = run("cycles", "--model", "rate", "--set", "model.n=4", "--set", "model.g=0.5", "--out", existing)
    assert result.exit_code == 2 and existing.is_dir() and not any(existing.iterdir())
    assert run("cycles", "--model", "vanderpol", "--out", out, "-q").exit_code == 0  # no --force needed


def test_a_save_onto_a_folder_leaves_no_partial_file(tmp_path):
    traj = ctrnn.simulate(ctrnn.systems.VanDerPol(), torch.ones(2, dtype=torch.float64), torch.linspace(0, 1, 11))
    target = tmp_path / "x.safetensors"
    target.mkdir()
    with pytest.raises(IsADirectoryError):
        traj.save(str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.safetensors"]


def test_sweep_resume_takes_its_own_config_and_refuses_foreign_runs(tmp_path):
    out = tmp_path / "sw"
    base = ["sweep", "--set", "model.n=6", "--values", "0.5,1.0", "--seeds", "1", "--set", "lyapunov.t_total=4",
            "--set", "lyapunov.t_transient=1", "--set", "lyapunov.k=1", "--set", "lyapunov.batch=1", "-q"]
    assert run(*base, "--out", out).exit_code == 0
    first = ctrnn.load(out / "sweep.safetensors")
    # resumed "as g = 3.0, 4.0": refused, the stored config decides (it reported the g = 0.5 run under g = 3.0)
    result = run("sweep", "--values", "3.0,4.0", "--out", out, "--resume")
    assert result.exit_code == 2 and "takes every setting from the sweep's own config.toml" in result.output
    # a run of another sweep dropped in under a run's name: refused, naming what differs
    other = tmp_path / "other"
    assert run(*[a if a != "0.5,1.0" else "3.0,4.0" for a in base], "--out", other).exit_code == 0
    (out / "runs" / "v0_s0.safetensors").write_bytes((other / "runs" / "v0_s0.safetensors").read_bytes())
    result = run("sweep", "--out", out, "--resume")
    assert result.exit_code == 2 and "is a different run" in result.output and "value" in result.output
    # a result that is not a sweep's run at all (a Lorenz spectrum): refused
    les = ctrnn.lyapunov_spectrum(ctrnn.systems.Lorenz(), torch.tensor([1.0, 1.0, 20.0]), t_transient=0.5,
                                  t_total=1.0, dt=0.01)
    les.save(str(out / "runs" / "v0_s0.safetensors"))
    result = run("sweep", "--out", out, "--resume")
    assert result.exit_code == 2 and "not a run written by ctrnn sweep" in result.output
    (out / "runs" / "v0_s0.safetensors").unlink()
    (out / "runs" / "stray.txt").write_text("?")
    result = run("sweep", "--out", out, "--resume")
    assert result.exit_code == 2 and "stray.txt is not a run of this sweep" in result.output
    (out / "runs" / "stray.txt").unlink()
    # what is left is this sweep's own: resumed, the missing run recomputed, the same result
    result = run("sweep", "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    torch.testing.assert_close(ctrnn.load(out / "sweep.safetensors").largest, first.largest, rtol=0, atol=0)


def test_two_writers_into_one_folder(tmp_path):
    """The second run into a folder another run holds is refused with the holder's pid, and writes nothing."""
    out = tmp_path / "busy"
    first = ctrnn_process("simulate", "--n", "64", "--t-end", "2000", "--batch", "8", "--method", "rk4",
                          "--step-size", "0.01", "--out", out, "-q")
    try:
        lock = out / ".ctrnn-run.lock"
        deadline = time.time() + 60
        while not (lock.exists() and lock.read_text().strip()) and time.time() < deadline:
            time.sleep(0.1)
        assert lock.read_text().strip() == str(first.pid)
        second = subprocess.run([sys.executable, "-m", "cli", "simulate", *SMALL, "--out", str(out), "--force"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"in use by another ctrnn run (pid {first.pid})" in second.stderr
        assert json.loads((out / ".ctrnn-run.json").read_text())["verb"] == "simulate"
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()
        first.wait()


def test_kill_during_a_sweep_then_resume_gives_the_same_result(tmp_path):
    """kill -9 while a sweep writes its runs: every file left is whole (written atomically), and --resume
    recomputes only the missing runs, to the uninterrupted result bit for bit."""
    sets = ["--set", "model.n=16", "--values", "0.5,1.0,1.5,2.0", "--seeds", "2", "--set", "lyapunov.t_total=20",
            "--set", "lyapunov.t_transient=2", "--set", "lyapunov.k=2", "--set", "lyapunov.batch=2",
            "--set", "sweep.networks_per_solve=1"]
    whole = tmp_path / "whole"
    assert run("sweep", *sets, "--out", whole, "-q").exit_code == 0
    out = tmp_path / "killed"
    proc = ctrnn_process("sweep", *sets, "--out", out, "-q")
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline and len(list((out / "runs").glob("v*_s*.safetensors")) if (
            out / "runs").is_dir() else []) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list((out / "runs").glob("v*_s*.safetensors"))
    assert 3 <= len(done) < 8, "the sweep finished before the kill: make it longer"
    for path in done:
        ctrnn.load(path)  # whole files only
    # a write the kill cut short leaves its temporary file: the resume must not take it for a foreign run
    (out / "runs" / f".v3_s1.safetensors.{proc.pid}.partial").write_bytes(b"cut short")
    result = run("sweep", "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert "finished run(s) reused" in result.output
    assert not list(out.rglob("*.partial"))
    torch.testing.assert_close(ctrnn.load(out / "sweep.safetensors").per_network,
                               ctrnn.load(whole / "sweep.safetensors").per_network, rtol=0, atol=0)


def test_kill_during_a_simulation_then_resume(tmp_path):
    """kill -9 while simulate writes, once its first checkpoint is on disk (simulation.checkpoint_seconds = 0: one
    after every chunk): no file is left truncated, and --resume continues from the partial file, not from the
    start, to the trajectory of an uninterrupted run (rk4: the same steps, so exactly)."""
    args = ["simulate", "--n", "32", "--t-end", "60", "--dt-out", "0.1", "--batch", "4", "--method", "rk4",
            "--step-size", "0.01", "--seed", "2", "--set", "simulation.checkpoint_seconds=0"]
    whole = tmp_path / "whole"
    assert run(*args, "--out", whole, "-q").exit_code == 0
    out = tmp_path / "killed"
    proc = ctrnn_process(*args, "--out", out, "-q")
    partial = out / "trajectory.safetensors"  # appears (renamed into place) at the first checkpoint
    deadline = time.time() + 120
    while not partial.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for path in out.glob("*.safetensors"):
        ctrnn.load(path)  # whole files only under a result's name
    saved = ctrnn.load(partial).metadata["checkpoint"]
    assert not saved["complete"], "the run finished before the kill: make it longer"
    done = saved["points_done"]
    assert 1 < done < saved["points_total"] == 601
    result = run("simulate", "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert not list(out.rglob("*.partial"))  # a temporary the kill left behind is removed by the next run
    resumed = ctrnn.load(partial)
    assert resumed.metadata["checkpoint"]["resumed_from"] == done  # from the partial file, as the kill left it
    assert f"from the {done} of 601 time points saved" in result.output
    reference = ctrnn.load(whole / "trajectory.safetensors")
    assert "resumed_from" not in reference.metadata["checkpoint"]
    assert torch.equal(resumed.t, reference.t) and torch.equal(resumed.x, reference.x)


@pytest.fixture
def small_filesystem(tmp_path):
    """A 1 MB tmpfs (needs root and mount rights; skipped with a note otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.strip() or 'mount failed'}): the full-disk test needs it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_full_disk_is_one_line_and_leaves_no_truncated_file(small_filesystem):
    out = small_filesystem / "run"
    proc = subprocess.run([sys.executable, "-m", "cli", "simulate", "--n", "64", "--t-end", "200", "--batch", "32",
                           "--out", str(out), "-q"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    left = [p for p in small_filesystem.rglob("*") if p.is_file()]
    assert not [p for p in left if p.name.endswith(".partial")], left  # temporary files removed
    for path in left:
        if path.suffix == ".safetensors":
            ctrnn.load(path)  # nothing truncated under a result's name


def test_result_files_get_the_usual_permissions(tmp_path):
    """Every file ctrnn writes has the permissions the user's umask gives a new file (safetensors made its
    files 0600, so results on a shared cluster folder were unreadable to the group)."""
    out = tmp_path / "s"
    assert run("simulate", *SMALL, "--out", out).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes and set(modes.values()) == {0o666 & ~mask}, modes
