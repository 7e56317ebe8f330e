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
