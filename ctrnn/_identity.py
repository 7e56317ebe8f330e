"""Content hashes that prove a stored run is the one asked for: a resumed run must have the same model tensors,
initial states and inputs, not merely the same names and sizes (two networks of one config differ in ``W``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch
from torch import nn


def content_digest(tensors: Mapping[str, torch.Tensor] | nn.Module | torch.Tensor | None) -> str:
    """SHA-256 of tensors' names, dtypes, shapes and bytes (in name order), or of a module's state dict.

    Arguments:
        tensors: name -> tensor, one tensor, an ``nn.Module`` (its parameters and buffers: a model or map), or
            ``None`` (no tensors: the digest of nothing).

    Returns:
        the hex digest; equal digests mean bit-identical tensors (on any device).
    """
    if tensors is None:
        tensors = {}
    elif isinstance(tensors, torch.Tensor):
        tensors = {"": tensors}
    elif isinstance(tensors, nn.Module):
        tensors = dict(tensors.state_dict())
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.is_complex():
            t = torch.view_as_real(t).contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()
