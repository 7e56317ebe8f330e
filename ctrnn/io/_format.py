"""The file format: ``.safetensors`` files (tensors + JSON metadata), never pickle.

Every file carries ``{"format": "ctrnn", "kind": ..., "meta": <json>}`` in its safetensors header, so
:func:`load` knows what to rebuild. Writes go to a temporary file renamed into place, so an
interrupted write never leaves a half-written result under the final name.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .._files import atomic_path

FORMAT = "ctrnn"
COMPLEX_SUFFIX = "::complex"


def write_file(path: str | os.PathLike, tensors: dict[str, torch.Tensor], kind: str, meta: dict[str, Any]) -> None:
    """Write ``tensors`` and JSON-able ``meta`` as a ctrnn file of ``kind``, atomically (a temporary file renamed
    into place).

    Arguments:
        path: the ``.safetensors`` file to write. tensors: name -> tensor (moved to the CPU; complex ones are
            stored as their (re, im) pairs). kind: what :func:`~ctrnn.load` rebuilds. meta: JSON-able metadata.

    Returns:
        nothing.

    Raises:
        ValueError: ``path`` does not end in ``.safetensors``. FileNotFoundError: its folder does not exist.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"ctrnn writes .safetensors files; got {str(path)!r}: use a name ending in .safetensors")
    if not path.parent.exists():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    header = {"format": FORMAT, "kind": kind, "meta": json.dumps(meta, allow_nan=True)}
    payload = {}
    for name, t in tensors.items():
        # clone: safetensors refuses tensors that share memory (a result's slices of one buffer)
        t = t.detach().cpu().clone(memory_format=torch.contiguous_format)
        if t.is_complex():  # safetensors has no complex128: keep the (re, im) pairs, exactly
            name, t = name + COMPLEX_SUFFIX, torch.view_as_real(t).contiguous()
        payload[name] = t
    with atomic_path(path) as tmp:
        try:
            save_file(payload, str(tmp), metadata=header)
        except SafetensorError as error:  # its I/O failures (a full disk) as the OSError they are
            code = errno.ENOSPC if "StorageFull" in str(error) or "No space" in str(error) else errno.EIO
            raise OSError(code, os.strerror(code), str(path)) from error


def read(path: str | os.PathLike) -> tuple[str, dict[str, torch.Tensor], dict[str, Any]]:
    """Read a ctrnn file.

    Arguments:
        path: a ``.safetensors`` file written by ctrnn.

    Returns:
        ``(kind, tensors, meta)``: what the file holds, its tensors (on the CPU) and its JSON metadata.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a ctrnn ``.safetensors`` file or is corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {}
            for name in f.keys():
                t = f.get_tensor(name)
                if name.endswith(COMPLEX_SUFFIX):
                    name, t = name[: -len(COMPLEX_SUFFIX)], torch.view_as_complex(t)
                tensors[name] = t
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: not a readable .safetensors file ({exc})") from None
    if header.get("format") != FORMAT or "kind" not in header:
        raise ValueError(f"cannot read {path}: a safetensors file, but not one written by ctrnn")
    try:
        meta = json.loads(header.get("meta", "{}"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"cannot read {path}: its metadata is corrupt ({exc})") from None
    return header["kind"], tensors, meta
