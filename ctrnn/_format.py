"""The file format: ``.safetensors`` files (tensors + JSON metadata), never pickle.

Every file carries ``{"format": "ctrnn", "kind": ..., "meta": <json>}`` in its safetensors header, so
:func:`load` knows what to rebuild. Writes go to a temporary file renamed into place, so an
interrupted write never leaves a half-written result under the final name.

Reading checks the header first (:func:`read_header`: its size, its JSON, every tensor's dtype, shape and place in
the file) without touching the tensors' data, so that a crafted or damaged file is refused, with a ``ValueError``
that says what is wrong, before anything it asks for is allocated. Nothing in a file is ever run: the tensors are
raw bytes and the rest is JSON.
"""

from __future__ import annotations

import errno
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ._files import atomic_path

FORMAT = "ctrnn"
COMPLEX_SUFFIX = "::complex"
#: the largest JSON header a file may have, in bytes: safetensors' own limit, so every file it writes is read
MAX_HEADER_BYTES = 100_000_000
#: safetensors' dtype names and the torch dtypes they load as
DTYPES: dict[str, torch.dtype] = {
    "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16, "U16": torch.uint16,
    "I32": torch.int32, "U32": torch.uint32, "I64": torch.int64, "U64": torch.uint64, "F16": torch.float16,
    "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64, "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}
_COMPLEX = {"F32": torch.complex64, "F64": torch.complex128}  # the (re, im) pairs a complex tensor is stored as


@dataclass(frozen=True)
class TensorInfo:
    """A tensor as a file's header describes it (its data unread).

    Attributes:
        stored: its name in the file (a complex tensor's carries the ``::complex`` suffix).
        dtype_name: the safetensors dtype it is stored in (``"F64"``, ...).
        dtype: the torch dtype it loads as (complex for ``(re, im)`` pairs).
        shape: the shape it loads with (a complex tensor without the pairs' last axis).
    """

    stored: str
    dtype_name: str
    dtype: torch.dtype
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Header:
    """What a ctrnn file's header holds.

    Attributes:
        kind: what the file holds (``"model"``, ``"map"`` or a result's class name).
        meta: its JSON metadata.
        tensors: name -> :class:`TensorInfo`, by the names the tensors load under.
    """

    kind: str
    meta: dict[str, Any]
    tensors: dict[str, TensorInfo]


def write_file(path: str | os.PathLike, tensors: dict[str, torch.Tensor], kind: str, meta: dict[str, Any]) -> None:
    """Write ``tensors`` and JSON-able ``meta`` as a ctrnn file of ``kind``, atomically (a temporary file renamed
    into place).

    Arguments:
        path: the ``.safetensors`` file to write. tensors: name -> tensor (moved to the CPU; complex ones are
            stored as their (re, im) pairs). kind: what :func:`~ctrnn.load` rebuilds. meta: JSON-able metadata.

    Returns:
        nothing.

    Raises:
        ValueError: ``path`` does not end in ``.safetensors``, or ``meta`` is too large for a file's header
            (``MAX_HEADER_BYTES``: the file could not be read back). FileNotFoundError: its folder does not exist.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"ctrnn writes .safetensors files; got {str(path)!r}: use a name ending in .safetensors")
    if not path.parent.exists():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    header = {"format": FORMAT, "kind": kind, "meta": json.dumps(meta, allow_nan=True)}
    if len(header["meta"]) > MAX_HEADER_BYTES:  # refused now rather than written and refused when read
        raise ValueError(f"cannot write {path}: its metadata takes {len(header['meta'])} bytes, more than the "
                         f"{MAX_HEADER_BYTES} a file's header may hold (ctrnn.io.MAX_HEADER_BYTES)")
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


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: a crafted file's strings can be of any length."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_header(path: str | os.PathLike) -> Header:
    """Read and check a ctrnn file's header, without reading its tensors' data.

    Arguments:
        path: a ``.safetensors`` file written by ctrnn.

    Returns:
        its :class:`Header`: kind, metadata and the tensors it lists (every one checked to lie within the file).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a readable ``.safetensors`` file (truncated, a header over
            ``MAX_HEADER_BYTES`` or not JSON, a tensor of an unknown dtype or outside the file), or not one that
            ctrnn wrote, or its metadata is not a JSON object; the message names what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    where = f"cannot read {path}: not a readable .safetensors file"
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise ValueError(f"{where} (truncated: {size} bytes, fewer than the 8 that give the header's length)")
        length = int.from_bytes(f.read(8), "little")
        if length > MAX_HEADER_BYTES and 8 + length > size:  # most likely another kind of file altogether
            raise ValueError(f"cannot read {path}: not a .safetensors file (its first 8 bytes, read as the header's "
                             f"length, claim {length} bytes: more than the whole file's {size} and than "
                             f"ctrnn.io.MAX_HEADER_BYTES, {MAX_HEADER_BYTES})")
        if length > MAX_HEADER_BYTES:  # checked before reading: the length is the file's own claim
            raise ValueError(f"{where} (its header claims {length} bytes, more than the {MAX_HEADER_BYTES} of "
                             "ctrnn.io.MAX_HEADER_BYTES)")
        if 8 + length > size:
            raise ValueError(f"{where} (truncated: its header claims {length} bytes, the file holds {size - 8} "
                             "after the length)")
        raw = f.read(length)
    try:
        entries = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{where} (its header is not JSON: {short(str(exc), 80)})") from None
    if not isinstance(entries, dict):
        raise ValueError(f"{where} (its header must be a JSON object, got {type(entries).__name__})")
    strings = entries.pop("__metadata__", None) or {}
    if not isinstance(strings, dict) or not all(isinstance(v, str) for v in strings.values()):
        raise ValueError(f"{where} (its __metadata__ must map names to strings)")
    tensors = _tensor_infos(entries, size - 8 - length, where)
    if strings.get("format") != FORMAT:
        raise ValueError(f"cannot read {path}: a safetensors file, but not one written by ctrnn")
    if "kind" not in strings:
        raise ValueError(f"cannot read {path}: a ctrnn file with no 'kind' in its header: it is damaged")
    try:
        meta = json.loads(strings.get("meta", "{}"))
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than Python recurses
        raise ValueError(f"cannot read {path}: its metadata is not JSON ({short(str(exc), 80)})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"cannot read {path}: its metadata must be a JSON object, got {type(meta).__name__}")
    return Header(kind=strings["kind"], meta=meta, tensors=tensors)


def _tensor_infos(entries: dict[str, Any], data_size: int, where: str) -> dict[str, TensorInfo]:
    """Each header entry checked: a known dtype, a shape of ints >= 0, and data offsets that fit both the shape and
    the ``data_size`` bytes after the header."""
    infos: dict[str, TensorInfo] = {}
    for stored, entry in entries.items():
        name = short(stored)
        if not isinstance(entry, dict):
            raise ValueError(f"{where} (tensor {name} must be described by a JSON object)")
        dtype_name, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype_name not in DTYPES:
            raise ValueError(f"{where} (tensor {name} has the unknown dtype {short(dtype_name)}; safetensors' dtypes "
                             f"are {', '.join(DTYPES)})")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise ValueError(f"{where} (tensor {name}: its shape must be a list of integers >= 0, got {short(shape)})")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise ValueError(f"{where} (tensor {name}: its data_offsets must be two integers 0 <= begin <= end, got "
                             f"{short(offsets)})")
        nbytes = math.prod(shape) * DTYPES[dtype_name].itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise ValueError(f"{where} (tensor {name} of shape {tuple(shape)} {dtype_name} needs {nbytes} bytes, its "
                             f"data_offsets give {offsets[1] - offsets[0]})")
        if offsets[1] > data_size:
            raise ValueError(f"{where} (truncated: tensor {name} of shape {tuple(shape)} {dtype_name} ends at byte "
                             f"{offsets[1]} of the data, which holds {data_size})")
        loaded, dtype = stored, DTYPES[dtype_name]
        if stored.endswith(COMPLEX_SUFFIX):
            if dtype_name not in _COMPLEX or not shape or shape[-1] != 2:
                raise ValueError(f"{where} (tensor {name} holds a complex tensor as (re, im) pairs: it needs F32 or "
                                 f"F64 and a last axis of size 2, got {dtype_name} {tuple(shape)})")
            loaded, dtype, shape = stored[: -len(COMPLEX_SUFFIX)], _COMPLEX[dtype_name], shape[:-1]
            if loaded in entries:
                raise ValueError(f"{where} (tensors {short(loaded)} and {name} have the same name)")
        infos[loaded] = TensorInfo(stored=stored, dtype_name=dtype_name, dtype=dtype, shape=tuple(shape))
    return infos


def read_tensors(path: str | os.PathLike, header: Header, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """The tensors a checked header lists (``names`` of them, or all), on the CPU.

    Each is a copy in memory: safetensors maps the file, and a tensor left on that map would change (or fault)
    when the file is overwritten later.

    Raises:
        ValueError: the data cannot be read (safetensors' own checks of the file).
    """
    tensors = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            for name in header.tensors if names is None else names:
                info = header.tensors[name]
                t = f.get_tensor(info.stored).clone()
                tensors[name] = torch.view_as_complex(t) if info.dtype.is_complex else t
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ValueError(f"cannot read {path}: not a readable .safetensors file ({short(str(exc), 120)})") from None
    return tensors


def read(path: str | os.PathLike) -> tuple[str, dict[str, torch.Tensor], dict[str, Any]]:
    """Read a ctrnn file: its header checked first (:func:`read_header`), then all its tensors.

    Arguments:
        path: a ``.safetensors`` file written by ctrnn.

    Returns:
        ``(kind, tensors, meta)``: what the file holds, its tensors (on the CPU) and its JSON metadata (an object).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a ctrnn ``.safetensors`` file or is damaged (see :func:`read_header`).
    """
    header = read_header(path)
    return header.kind, read_tensors(path, header), header.meta
