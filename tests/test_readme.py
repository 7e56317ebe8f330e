"""The README's Python examples and shell commands run as written, and say what they print."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README has no Python example"
    monkeypatch.chdir(tmp_path)  # it writes run.png / run.safetensors
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README, not a config
    assert (tmp_path / "run.safetensors").exists() and (tmp_path / "run.png").exists()


def readme_script() -> list[tuple[str, object, str]]:
    """The README's shell blocks after the set-up one, in order, as steps: ``("file", (name, text), "")`` for a
    ``cat > NAME <<'EOF'`` here-document and ``("ctrnn", args, comment)`` for a command, continuation lines
    joined and the comment lines under a command added to its comment."""
    import shlex

    steps: list[tuple[str, object, str]] = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S):
        if "bash scripts/" in block:  # the set-up: what runs this test installed it
            continue
        lines = iter(block.replace("\\\n", " ").splitlines())
        for line in lines:
            heredoc = re.fullmatch(r"cat > (\S+) <<'EOF'", line.strip())
            if heredoc:
                body = []
                for inner in lines:
                    if inner == "EOF":
                        break
                    body.append(inner)
                steps.append(("file", (heredoc.group(1), "\n".join(body) + "\n"), ""))
                continue
            code, _, comment = line.partition("#")
            if not code.strip():  # a comment line continuing the one above
                kind, args, before = steps[-1]
                steps[-1] = (kind, args, f"{before} {comment.strip()}")
                continue
            words = shlex.split(code)
            assert words[0] == "ctrnn", f"the README test runs only ctrnn commands and here-documents: {line!r}"
            steps.append(("ctrnn", words[1:], comment.strip()))
    return steps


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def digits_agree(measured: float, stated: str) -> bool:
    """``measured`` rounded to the decimals of ``stated`` (or to its significant digits, in e-notation) is it."""
    if "e" in stated:
        mantissa = stated.split("e")[0].lstrip("+-")
        sig = len(mantissa.replace(".", "").lstrip("0"))
        return f"{measured:.{sig - 1}e}" == f"{float(stated):.{sig - 1}e}"
    decimals = len(stated.split(".")[1]) if "." in stated else 0
    return f"{measured:.{decimals}f}" == f"{float(stated):.{decimals}f}"


def check_lorenz_fixed_points(output: str, comment: str) -> None:
    assert "3 fixed point(s)" in output and output.count("saddle") == 3, output


def check_vdp_cycle(output: str, comment: str) -> None:
    period, mult = re.search(r"period (\S+), multipliers 1, (\S+)", comment).groups()
    measured = re.search(r"period (\S+), Floquet multipliers \[1\+0i, (\S+)\+0i\]", output)
    assert measured, output
    assert measured.group(1) == period and digits_agree(float(measured.group(2)), mult), (output, comment)


def check_hysteresis(output: str, comment: str) -> None:
    low, high = re.search(r"inputs in \[(\S+), (\S+)\]", comment).groups()
    assert f"stable points for u0 in [{low}, {high}]" in output, output
    # the folds in the comment, in closed form (test_fixed_points derives them): 6 s (1 - s) = 1, I = z + 3 - 6 s
    import math

    s = (1 + math.sqrt(1 - 4 / 6)) / 2
    fold = -(math.log(s / (1 - s)) + 3 - 6 * s)
    assert digits_agree(fold, re.search(r"folds at ±(\S+)\)", comment).group(1))
    assert float(low) <= -fold + 0.1 and float(high) >= fold - 0.1 and float(high) < fold  # the grid's step is 0.1


def check_basins(output: str, comment: str) -> None:
    total, stable, saddles, unstable = (int(x) for x in re.search(
        r"(\d+) points: (\d+) stable nodes, (\d+) saddles, (\d+) unstable node", comment).groups())
    assert f"{total} fixed point(s)" in output, output
    kinds = re.findall(r"#\d+: (stable node|saddle|unstable node)", output)
    counts = (kinds.count("stable node"), kinds.count("saddle"), kinds.count("unstable node"))
    assert counts == (stable, saddles, unstable), output
    assert re.search(r"basins: .*undecided 0\.0%", output), output


def check_lorenz_spectrum(output: str, comment: str) -> None:
    stated_exponents, stated_dim = re.fullmatch(r"(.*); D_KY (\S+)", comment).groups()
    pairs = re.findall(r"([-+]\d+\.\d+) ± (\d+\.\d+)", output)
    assert len(pairs) == 3, output
    for (value, stderr), stated in zip(pairs, stated_exponents.split(", ")):
        if stated == "0":  # "zero": within two standard errors of it, as the report decides
            assert abs(float(value)) <= 2 * float(stderr), (value, stderr)
        else:
            assert digits_agree(float(value), stated), (value, stated)
    assert digits_agree(float(re.search(r"Kaplan-Yorke dimension (\S+);", output).group(1)), stated_dim)


def check_chaos_sweep(output: str, comment: str) -> None:
    first = float(re.search(r"lambda_1 > 0 from g = (\S+) ", comment).group(1))
    rows = [numbers(line)[:2] for line in output.splitlines() if re.match(r"\s+\d", line)]
    positive = [g for g, lam in rows if lam > 0]
    assert rows and positive and min(positive) == first and all(lam > 0 for g, lam in rows if g >= first), rows


def check_flipflop(output: str, comment: str) -> None:
    stated = float(re.search(r"once (\d+)% of the held-out bits", comment).group(1)) / 100
    measured = re.search(r"\(stopped at the target score\), training loss \S+, held-out accuracy (\S+);", output)
    assert measured and float(measured.group(1)) >= stated, output


def check_report(output: str, comment: str, folder: Path) -> None:
    assert (folder / "report.html").is_file() and "report.html" in output


def check_task_report(output: str, comment: str, folder: Path) -> None:
    check_report(output, comment, folder)
    text = (folder / "report.html").read_text(encoding="utf-8")
    for part in ("score", "trials", "curves", "fixed points", "saddles"):
        assert part in comment
    # the sections the comment names: the task's score and trials, the training curves, fixed points and saddles
    for heading in ("Task: flipflop", "Training", "Fixed points per condition"):
        assert f">{heading}</h2>" in text, heading
    assert "task score" in text and "training curves are not shown" not in text
    # the saddle graph, or a statement that it is empty, or (trained at dt = tau, as here, the flow may hold no stable
    # point: the README says so) the count of stable points that says there is nothing for a saddle to join
    assert "branches end on" in text or "0 of 0 saddles" in text or re.search(r"fixed points, zero input</td><td>0 "
                                                                              r"stable of \d+", text), text[-3000:]


#: what each command's comment tells the reader, checked against what the command printed (by its --out)
CLAIMS = {"results/lorenz-fp": check_lorenz_fixed_points, "results/vdp-cycle": check_vdp_cycle,
          "results/hysteresis": check_hysteresis, "results/basins": check_basins,
          "results/lorenz-le": check_lorenz_spectrum, "results/chaos-sweep": check_chaos_sweep,
          "results/flipflop": check_flipflop}


def test_readme_commands_run_in_order(tmp_path, monkeypatch):
    """Every command of the README's shell blocks runs, in the README's order, in a fresh folder (the
    here-documents write the files the later commands read; ``--model-file`` reads what an earlier command
    wrote), exits 0, and writes its ``--out``; and what a command's comment states (numbers of points and their
    kinds, a period and its multipliers, a Lyapunov spectrum to its printed digits, where a sweep turns
    chaotic) is what the command printed. The set-up block is what ran this test."""
    from typer.testing import CliRunner

    from cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    steps = readme_script()
    assert sum(kind == "ctrnn" for kind, _, _ in steps) >= 18, steps
    checked = set()
    for kind, what, comment in steps:
        if kind == "file":
            name, text = what
            Path(name).write_text(text, encoding="utf-8")
            continue
        args = list(what)
        result = runner.invoke(app, args)
        text = "ctrnn " + " ".join(args)
        assert result.exit_code == 0, (text, result.output)
        out = dict(zip(args, args[1:])).get("--out")
        if out is None:
            assert result.output.strip(), text  # --help, --list, models: they print what they list
            continue
        assert Path(out).is_dir() and any(Path(out).iterdir()), text
        if out in CLAIMS:
            CLAIMS[out](result.output, comment)
            checked.add(out)
        elif args[0] == "report" and "--task" in args:
            check_task_report(result.output, comment, Path(out))
        elif args[0] in ("run", "report"):
            check_report(result.output, comment, Path(out))
    assert checked == set(CLAIMS), f"commands the README no longer has: {set(CLAIMS) - checked}"
