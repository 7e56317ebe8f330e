"""The output folder of one run (``--out``, ``--force``, ``--resume``): checked before anything is made, then
created with the resolved config in it; it keeps the list of files written and prints it on one line.

Nothing a user put there is ever lost. The folder holds a manifest of the files ctrnn wrote into it
(``.ctrnn-run.json``, each file recorded before it is written), and ``--force`` removes those and only those:
a folder without a manifest is not ctrnn's and is never emptied, and the current, home and root folders are
refused outright. An advisory lock (``.ctrnn-run.lock``, ``flock``) keeps a second run out of a folder while
one writes there. A run that fails before writing any result leaves nothing behind: its config and
bookkeeping files are removed, and the folder too if the run made it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any


MANIFEST = ".ctrnn-run.json"
LOCK = ".ctrnn-run.lock"
BOOKKEEPING = (MANIFEST, LOCK)


def _say(line: str) -> None:
    """One line on standard output, above any progress bars: ``print`` writes through the stdout that the live
    display redirects, where ``typer.echo`` (click) bypassed it and left broken copies of the bars on screen."""
    print(line, flush=True)


def command_line() -> str:
    """The command as typed, for the config's header and the reports' "reproduce with" line."""
    return "ctrnn " + " ".join(sys.argv[1:])


def _protected(path: Path) -> str | None:
    """What ``path`` is if it is a folder no run may write into directly, else ``None``."""
    here = path.resolve()
    for folder, what in ((Path.cwd(), "the current folder"), (Path.home(), "your home folder"),
                         (Path(here.anchor), "the root folder")):
        if here == folder.resolve():
            return what
    return None


#: the temporary files ctrnn writes before renaming them into place (ctrnn._files.atomic_path): ``.NAME.PID.partial``
_TEMPORARY = re.compile(r"\..+\.(\d+)\.partial")


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files of writers that are gone (a ``kill -9`` mid-write leaves one): they are ctrnn's
    by name, never a result, and a resumed run would take one for a foreign file."""
    for path in folder.rglob(".*.partial"):
        found = _TEMPORARY.fullmatch(path.name)
        if found is None or not path.is_file() or _alive(int(found.group(1))):
            continue
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _holds_anything(path: Path) -> bool:
    return path.is_dir() and any(p.name not in BOOKKEEPING for p in path.iterdir())


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of a folder ctrnn wrote (``None`` if it has none).

    Raises:
        ValueError: a manifest that is not ctrnn's (not JSON, or not of its form): nothing is touched.
    """
    file = path / MANIFEST
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file} is not a ctrnn manifest ({error}); nothing in {path} was touched") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "ctrnn-run" or not all(
            isinstance(manifest.get(key, []), list) for key in ("files", "folders")) or "files" not in manifest:
        raise ValueError(f"{file} is not a ctrnn manifest; nothing in {path} was touched")
    manifest.setdefault("folders", [])
    for entry in [*manifest["files"], *manifest["folders"]]:
        rel = PurePosixPath(entry) if isinstance(entry, str) else None
        if rel is None or rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"{file} names {entry!r}, which is not a file inside {path}; nothing was touched")
    return manifest


class RunFolder:
    """Where one verb writes its results.

    Arguments:
        path: the folder (``--out``).
        verb: the verb, for the messages.
        force: replace the files an earlier ctrnn run wrote there (``--force``); anything else is kept.
        quiet: print nothing (``--quiet``).
        resume: continue the run already in ``path``: it must hold the config.toml of an earlier run, which
            is kept as it is.

    Raises:
        ValueError: ``path`` is a file, the current, home or root folder, or a folder that is not empty
            without ``force``, or not made by ctrnn with ``force``, or (with ``resume``) holds no earlier run;
            or (at :meth:`create`) another run holds it. Nothing is made before these checks.
    """

    #: folders created by this process and not yet finished (see :func:`close_all`)
    _open: list[RunFolder] = []

    def __init__(self, path: Path, verb: str, *, force: bool = False, quiet: bool = False, resume: bool = False):
        self.path, self.verb, self.force, self.quiet, self.resume = Path(path), verb, force, quiet, resume
        self.written: list[Path] = []
        self._start = time.perf_counter()
        self._made = False  # whether this run created the folder itself
        self._lock: Any = None
        self._manifest: dict[str, Any] = {}
        self._check()

    @property
    def config(self) -> Path:
        return self.path / "config.toml"

    def _check(self) -> None:
        if str(self.path) in ("", "."):
            raise ValueError("--out is empty or '.': give the run a folder of its own (e.g. --out results/NAME)")
        what = _protected(self.path)
        if what is not None:
            raise ValueError(f"--out {self.path} is {what}: give the run a folder of its own "
                             "(e.g. --out results/NAME)")
        if self.resume:
            if not self.config.is_file():
                raise ValueError(f"nothing to resume in {self.path}: it has no config.toml from an earlier "
                                 f"ctrnn {self.verb}")
        elif self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--out {self.path} exists and is not a folder")
        elif _holds_anything(self.path):
            if not self.force:
                raise ValueError(f"output folder {self.path} exists and is not empty; pass --force to replace "
                                 "what an earlier ctrnn run wrote there, or choose another --out")
            if read_manifest(self.path) is None:
                raise ValueError(f"output folder {self.path} was not made by ctrnn (it has no {MANIFEST}), so "
                                 "--force leaves it alone: choose another --out")

    def create(self, cfg: dict[str, Any] | None) -> RunFolder:
        """Make the folder, take its lock, remove what an earlier run recorded (``force``) and write the
        resolved config first: it alone reproduces the run, and ``--resume`` reads it back (``cfg=None``: the
        caller writes its own). With ``resume`` the folder, its config and its files stay as they are."""
        self._check()  # again: the folder may have appeared since
        self._made = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        RunFolder._open.append(self)
        self._take_lock()
        _remove_stale_temporaries(self.path)
        previous = read_manifest(self.path)
        if self.resume:
            self._manifest = previous or self._new_manifest()
        else:
            if previous is not None:  # --force (checked): what ctrnn wrote, and nothing else
                self._remove(previous)
            self._manifest = self._new_manifest()
        self._save_manifest()
        if not self.resume and cfg is not None:
            from ctrnn.config import write_toml  # torch loads only when a verb runs

            self._record("config.toml")
            write_toml(self.config, cfg, command_line())
        if cfg is not None or self.resume:
            self.written.append(self.config)
        return self

    def _new_manifest(self) -> dict[str, Any]:
        from ctrnn import __version__

        return {"format": "ctrnn-run", "verb": self.verb, "ctrnn": __version__, "files": [], "folders": []}

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): the folder checks above still apply
            return
        handle = open(self.path / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held until the run ends
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            self._forget_self()
            raise ValueError(f"output folder {self.path} is in use by another ctrnn run (pid {holder}); wait for "
                             "it to finish or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def _remove(self, manifest: dict[str, Any]) -> None:
        """Delete the files and then the (empty) folders an earlier run recorded; nothing else."""
        for rel in manifest["files"]:
            target = self.path / rel
            if target.is_symlink() or target.is_file():
                target.unlink()
        for rel in sorted(manifest["folders"], key=lambda r: -len(PurePosixPath(r).parts)):
            target = self.path / rel
            if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
                target.rmdir()

    def _save_manifest(self) -> None:
        from ctrnn.io import write_text

        write_text(self.path / MANIFEST, json.dumps(self._manifest, indent=1))

    def _record(self, name: str, *, folder: bool = False) -> None:
        """Add ``name`` (relative to the folder) to the manifest, before it is written."""
        key = "folders" if folder else "files"
        rel = PurePosixPath(name).as_posix()
        if rel not in self._manifest[key]:
            self._manifest[key].append(rel)
            self._save_manifest()

    def file(self, name: str, *, listed: bool = True) -> Path:
        """The path of a file the verb writes itself (``name`` relative to the folder), recorded in the manifest
        before it is written, and (``listed``) in the "wrote:" line."""
        self._record(name)
        if listed:
            self.written.append(self.path / name)
        return self.path / name

    def forget(self, name: str) -> None:
        """Un-record ``name``: the verb did not write it after all (a model that cannot be saved)."""
        rel = PurePosixPath(name).as_posix()
        if rel in self._manifest["files"]:
            self._manifest["files"].remove(rel)
            self._save_manifest()
        self.written = [p for p in self.written if p != self.path / name]

    def folder(self, name: str) -> Path:
        """A subfolder (kept if it exists), recorded as written."""
        self._record(name, folder=True)
        self.written.append(self.path / name)
        sub = self.path / name
        sub.mkdir(exist_ok=True)
        return sub

    def save(self, result: Any, stem: str) -> None:
        """``result.save`` to ``stem.safetensors``."""
        result.save(str(self.file(f"{stem}.safetensors")))

    def figure(self, fig: Any, stem: str) -> None:
        """Write ``stem.png`` and ``stem.svg`` (each atomically) and close the figure (a long process must not
        pile them up)."""
        import matplotlib.pyplot as plt

        from ctrnn.io import save_figure

        try:
            for ext in ("png", "svg"):
                save_figure(fig, self.file(f"{stem}.{ext}"))
        finally:
            plt.close(fig)

    def log(self, line: str) -> None:
        """A progress line of a long run (one per analysis), with the time since the start, unless ``quiet``."""
        if not self.quiet:
            _say(f"[{time.perf_counter() - self._start:6.1f} s] {line}")

    def finish(self, *lines: str) -> None:
        """Print ``lines`` and then the one "wrote: ..." line, unless ``quiet``."""
        if not self.quiet:
            for line in lines:
                _say(line)
            _say("wrote: " + ", ".join(str(p) for p in self.written))

    def _forget_self(self) -> None:
        if self in RunFolder._open:
            RunFolder._open.remove(self)

    def close(self, failed: bool) -> None:
        """Release the lock; after a failure before any result was written (the config at most), remove
        the config and the bookkeeping files, and the folder if this run made it, so a corrected rerun needs no
        ``--force``. A resumed run keeps everything."""
        self._forget_self()
        results = [f for f in self._manifest.get("files", []) if f != "config.toml" and (self.path / f).exists()]
        discard = failed and not self.resume and not results
        if discard:
            for name in ("config.toml", MANIFEST):
                (self.path / name).unlink(missing_ok=True)
        if self._lock is not None:
            (self.path / LOCK).unlink(missing_ok=True)  # while still held: no lock file left in a finished folder
            self._lock.close()  # closing the file releases the flock
            self._lock = None
        if discard and self._made and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()


def close_all(failed: bool) -> None:
    """Close every folder this process opened (the CLI calls it when a verb returns or fails)."""
    for folder in list(RunFolder._open):
        folder.close(failed)
