"""Writing files so that nothing half-written is ever left under a result's name.

Every file ctrnn writes goes to a temporary name beside its target and is renamed onto it only when complete
(a rename within one folder is atomic), so a crash, a Ctrl-C or a full disk leaves the previous file or none,
never a truncated one, and the temporary file is removed when the write fails.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; rename it onto ``path`` when the block succeeds, remove
    it when the block fails.

    Arguments:
        path: the file to write (its folder must exist).

    Returns:
        a context manager yielding the temporary path (same folder, so the rename is atomic).

    Raises:
        IsADirectoryError: ``path`` is a folder. FileNotFoundError: its folder does not exist. OSError: the
            write failed (the disk is full: ``errno.ENOSPC``), after the temporary file is removed.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path.name}: no such folder", str(path.parent))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")  # the pid: two writers never share one
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would make it: safetensors writes its files 0600
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`).

    Arguments:
        path: the file. text: its content.

    Returns:
        nothing.

    Raises:
        as :func:`atomic_path`.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(fig: object, path: str | os.PathLike) -> None:
    """``fig.savefig`` to ``path`` atomically, in the format its suffix names (``.png``, ``.svg``, ``.pdf``).

    Arguments:
        fig: a matplotlib Figure. path: the file.

    Returns:
        nothing.

    Raises:
        as :func:`atomic_path`.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."))  # type: ignore[attr-defined]
