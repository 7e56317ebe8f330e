"""The README's Python example runs as written."""

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


def readme_commands():
    """Every ``ctrnn ...`` command of the README's bash blocks, continuation lines joined, comments dropped."""
    import shlex

    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "ctrnn":
                commands.append(words[1:])
    return commands


def test_readme_commands_parse_and_resolve():
    """Each README command is parsed by the CLI's own Click parser (unknown options or bad types fail), and then,
    where it names no file that a fresh clone lacks, its config is resolved for real by rerunning it with
    ``--keys`` appended (unknown ``--set`` keys, wrong types and unknown models or experiments fail) - which
    prints the keys and runs nothing. ``--help``, ``--list`` and ``models`` run for real. Not run: the
    simulations and analyses themselves (minutes each). Also checked: no two commands share an ``--out`` (the
    second would be refused), and every ``--model-file`` is written by an earlier ``ctrnn simulate --out``."""
    import typer.main
    from typer.testing import CliRunner

    from cli import app

    group = typer.main.get_command(app)
    runner = CliRunner()
    commands = readme_commands()
    assert len(commands) >= 15, commands
    outs, simulated = [], set()
    for args in commands:
        text = "ctrnn " + " ".join(args)
        if not args or args[0].startswith("-"):  # ctrnn --help / --version
            result = runner.invoke(app, args)
            assert result.exit_code == 0, (text, result.output)
            continue
        verb = group.get_command(None, args[0])
        assert verb is not None, f"{text}: no verb {args[0]!r}"
        verb.make_context(args[0], list(args[1:]))  # raises click.UsageError on a bad option or value
        opts = dict(zip(args, args[1:]))
        if "--out" in opts:
            assert opts["--out"] not in outs, f"{text}: --out {opts['--out']} is used by an earlier command"
            outs.append(opts["--out"])
        if "--model-file" in opts:
            assert opts["--model-file"] in simulated, f"{text}: nothing earlier in the README writes it"
        if args[0] == "simulate" and "--out" in opts:
            simulated.add(f"{opts['--out']}/model.safetensors")
        if "--help" in args or "--list" in args or args[0] in ("models", "version"):
            result = runner.invoke(app, args)
        elif any(Path(a).suffix == ".toml" for a in args):  # the user's own config: absent on a fresh clone
            continue
        else:
            result = runner.invoke(app, [*args, "--keys"])
        assert result.exit_code == 0, (text, result.output)
