"""The simulations gallery: named experiments, each a TOML config (``NAME.toml``) plus the code that runs it
end to end (``NAME.py``, a ``run(cfg, log) -> Report`` function), run by ``ctrnn run NAME``.

A config has ``seed``, ``device``, ``dtype``, an ``[experiment]`` table (``name``: the code that runs it,
``title``, ``description``), the experiment's ``[settings]`` and a ``[quick]`` table with the reduced
settings used by ``--quick``. A config file of one's own names the experiment it runs and may set only the
keys that experiment's own config has.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ctrnn import ConfigError, ProgressBar
from ctrnn.config import merge, overrides, read_toml, write_toml
from ctrnn.setup import default_dtype, resolve_torch

HERE = Path(__file__).resolve().parent


def within(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log`` for the steps inside one section of an experiment (a report's analyses): its lines are indented,
    and the experiment's progress bar counts only its own sections."""
    return lambda line: log("  " + line)


def available() -> dict[str, str]:
    """Every experiment in the gallery: name -> title."""
    found = {}
    for path in sorted(HERE.glob("*.toml")):
        if (HERE / f"{path.stem}.py").is_file():
            found[path.stem] = read_toml(path).get("experiment", {}).get("title", path.stem)
    return found


def resolve(name_or_path: str | Path, *, quick: bool = False, sets: Sequence[str] = (),
            flags: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The experiment's name and its resolved config: its own config < the given file (when a path) <
    ``[quick]`` (with ``quick``) < ``--set`` assignments < flags. Unknown names and keys are errors that list
    the valid ones."""
    gallery = available()
    text = str(name_or_path)
    layers: list[dict[str, Any]] = []
    if text in gallery:
        name = text
    elif text.endswith(".toml") or Path(text).is_file():
        mine = read_toml(text)
        name = mine.get("experiment", {}).get("name")
        if name not in gallery:
            raise ConfigError(f"{text}: experiment.name must name one of the gallery's experiments "
                              f"({', '.join(gallery)}), got {name!r}")
        layers.append(mine)
    else:
        raise ConfigError(f"unknown simulation {text!r}; available: {', '.join(gallery)} (or a path to a .toml file)")
    defaults = read_toml(HERE / f"{name}.toml")
    reduced = defaults.pop("quick", {})
    if quick:
        layers.append(reduced)
    layers.append(overrides(sets, flags))
    for layer in layers:
        layer.pop("quick", None)  # a user's file may carry its own [quick]; --quick uses the gallery's
    cfg = merge(defaults, *layers)
    if cfg["experiment"]["name"] != name:
        raise ConfigError(f"experiment.name is {cfg['experiment']['name']!r} but the config is {name!r}'s")
    cfg["quick"] = quick
    return name, cfg


def run(name_or_path: str | Path, out: str | Path, *, quick: bool = False, sets: Sequence[str] = (),
        flags: dict[str, Any] | None = None, pdf: bool = False, command: str | None = None,
        log: Callable[[str], None] | None = None) -> list[Path]:
    """Run one experiment and write ``report.html`` (and ``report.pdf`` with ``pdf``) and ``config.toml`` (the
    resolved configuration, headed by ``command``) in ``out`` (which must exist). Returns the files written.
    Every random draw of an experiment takes its own generator from ``seed``: no global RNG state is touched.
    Shows a progress bar of the experiment's sections (and of the analyses in each) inside
    :func:`ctrnn.show_progress`; ``log`` is called with a line as each section starts."""
    name, cfg = resolve(name_or_path, quick=quick, sets=sets, flags=flags)
    module = importlib.import_module(f"simulations.{name}")
    out = Path(out)
    write_toml(out / "config.toml", cfg, command)
    with default_dtype(resolve_torch(cfg["device"], cfg["dtype"])[1]), \
            ProgressBar(name, None) as bar:
        started = 0

        def section(line: str) -> None:
            nonlocal started
            if log is not None:
                log(line)
            if not line.startswith(" "):  # an indented line reports within the section under way
                bar.stage(line, started)
                started += 1

        doc = module.run(cfg, section)
    doc.summarize("experiment", f"{name}: {cfg['experiment']['description']}")
    doc.summary = {"experiment": doc.summary.pop("experiment"), **doc.summary}  # first row
    doc.section("Configuration", "The resolved configuration of this run (its own TOML, --quick, --set):")
    doc.add_code((out / "config.toml").read_text(encoding="utf-8"))
    if command:
        doc.add_text("Reproduce this report with:")
        doc.add_code(command)
    return [out / "config.toml", *doc.write(out / "report.html", pdf=pdf)]
