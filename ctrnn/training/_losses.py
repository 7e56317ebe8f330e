"""Losses of a trial batch: masked mean squared error and masked cross-entropy, plus PsychRNN's L2 penalties."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._registry import Registry


def masked_mse(outputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``sum(mask (y - y*)^2) / sum(mask)``: the mean squared error over the entries that count."""
    return (mask * (outputs - targets) ** 2).sum() / mask.sum().clamp_min(1.0)


def masked_cross_entropy(outputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of logits ``outputs`` ``(T, B, p)`` against one-hot (or soft) ``targets``, averaged over the
    (time, trial) entries whose mask is set (an entry counts when any of its ``p`` mask values is)."""
    weight = mask.amax(dim=-1)
    per_entry = -(targets * F.log_softmax(outputs, dim=-1)).sum(dim=-1)
    return (weight * per_entry).sum() / weight.sum().clamp_min(1.0)


#: the training losses by name (``train(..., loss=NAME)``)
LOSSES: Registry = Registry("loss")
LOSSES.register("mse", masked_mse)
LOSSES.register("cross_entropy", masked_cross_entropy)
