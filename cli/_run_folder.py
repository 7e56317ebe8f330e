"""The output folder of one run (``--out``, ``--force``, ``--resume``): checked before anything is made, then
created with the resolved config in it; it keeps the list of files written and prints it on one line."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import typer


def command_line() -> str:
    """The command as typed, for the config's header and the reports' "reproduce with" line."""
    return "ctrnn " + " ".join(sys.argv[1:])


class RunFolder:
    """Where one verb writes its results.

    Arguments:
        path: the folder (``--out``).
        verb: the verb, for the messages.
        force: replace a folder that is not empty (``--force``).
        quiet: print nothing (``--quiet``).
        resume: continue the run already in ``path``: it must hold the config.toml of an earlier run, which
            is kept as it is.

    Raises:
        ValueError: ``path`` is a file, or a folder that is not empty without ``force``, or (with ``resume``)
            holds no earlier run. Nothing is made before these checks.
    """

    def __init__(self, path: Path, verb: str, *, force: bool = False, quiet: bool = False, resume: bool = False):
        self.path, self.verb, self.force, self.quiet, self.resume = Path(path), verb, force, quiet, resume
        self.written: list[Path] = []
        self._start = time.perf_counter()
        self._check()

    @property
    def config(self) -> Path:
        return self.path / "config.toml"

    def _check(self) -> None:
        if self.resume:
            if not self.config.is_file():
                raise ValueError(f"nothing to resume in {self.path}: it has no config.toml from an earlier "
                                 f"ctrnn {self.verb}")
        elif self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--out {self.path} exists and is not a folder")
        elif self.path.is_dir() and any(self.path.iterdir()) and not self.force:
            raise ValueError(f"output folder {self.path} exists and is not empty; pass --force to overwrite it "
                             "or choose another --out")

    def create(self, cfg: dict[str, Any] | None) -> RunFolder:
        """Make the folder (emptied with ``force``) and write the resolved config first: it alone reproduces the
        run, and ``--resume`` reads it back (``cfg=None``: the caller writes its own). With ``resume`` the folder
        and its config stay as they are."""
        self._check()  # again: the folder may have appeared since
        if not self.resume:
            if self.path.is_dir() and any(self.path.iterdir()):
                shutil.rmtree(self.path)
            self.path.mkdir(parents=True, exist_ok=True)
            if cfg is not None:
                from ctrnn.config import write_toml  # torch loads only when a verb runs

                write_toml(self.config, cfg, command_line())
        if cfg is not None or self.resume:
            self.written.append(self.config)
        return self

    def file(self, name: str) -> Path:
        """The path of a file the verb writes itself, recorded as written."""
        self.written.append(self.path / name)
        return self.path / name

    def folder(self, name: str) -> Path:
        """A subfolder (kept if it exists), recorded as written."""
        sub = self.file(name)
        sub.mkdir(exist_ok=True)
        return sub

    def save(self, result: Any, stem: str) -> None:
        """``result.save`` to ``stem.safetensors``."""
        result.save(str(self.file(f"{stem}.safetensors")))

    def figure(self, fig: Any, stem: str) -> None:
        """Write ``stem.png`` and ``stem.svg`` and close the figure (a long process must not pile them up)."""
        import matplotlib.pyplot as plt

        for ext in ("png", "svg"):
            fig.savefig(self.file(f"{stem}.{ext}"))
        plt.close(fig)

    def log(self, line: str) -> None:
        """A progress line of a long run (one per analysis), with the time since the start, unless ``quiet``."""
        if not self.quiet:
            typer.echo(f"[{time.perf_counter() - self._start:6.1f} s] {line}")

    def finish(self, *lines: str) -> None:
        """Print ``lines`` and then the one "wrote: ..." line, unless ``quiet``."""
        if not self.quiet:
            for line in lines:
                typer.echo(line)
            typer.echo("wrote: " + ", ".join(str(p) for p in self.written))
