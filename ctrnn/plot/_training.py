"""Training runs (loss, held-out score, gradient norm, and the network's dynamics against the step) and task trials
(inputs, targets and a model's outputs against time)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..tasks import TaskBatch
from ..training import TrainingRun
from ._style import PALETTE, STYLE


def plot_training_run(run: TrainingRun, *, title: str | None = None) -> Figure:
    """The run's curves against the optimizer step: training and held-out loss (log scale), the held-out score,
    the gradient norm before clipping, and, where the run tracked them, the largest finite-time Lyapunov exponent
    (with its standard error) and the gradient-propagation rate of the network on task inputs.

    Arguments:
        run: the :class:`~ctrnn.TrainingRun`. title: the figure's title (default: the run's summary line).

    Returns:
        a matplotlib ``Figure``.
    """
    tracked = len(run.tracking_steps) > 0
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 2 if not tracked else 3, figsize=(10.5 if tracked else 8.0, 5.6),
                                 constrained_layout=True)
        axes = axes.reshape(2, -1)
        ax = axes[0, 0]
        ax.semilogy(run.steps, run.loss, color=PALETTE[0], lw=0.8, alpha=0.7, label="training batch")
        if len(run.validation_steps):
            ax.semilogy(run.validation_steps, run.validation_loss, "o-", color=PALETTE[1], ms=3, label="held out")
        ax.set(xlabel="step", ylabel="loss", title="loss")
        ax.legend(frameon=False)
        ax = axes[0, 1]
        if len(run.validation_steps):
            ax.plot(run.validation_steps, run.validation_score, "o-", color=PALETTE[1], ms=3)
        ax.set(xlabel="step", ylabel=run.score_name, title=f"held-out {run.score_name}")
        target = run.settings.get("target_score")
        if target is not None:
            ax.axhline(target, color="0.5", lw=0.8, ls="--", label=f"target {target:g}")
            ax.legend(frameon=False)
        ax = axes[1, 0]
        ax.semilogy(run.steps, run.grad_norm, color=PALETTE[2], lw=0.8)
        clip = run.settings.get("clip_grad_norm")
        if clip is not None:
            ax.axhline(clip, color="0.5", lw=0.8, ls="--", label=f"clipped at {clip:g}")
            ax.legend(frameon=False)
        ax.set(xlabel="step", ylabel="gradient norm", title="gradient norm (before clipping)")
        ax = axes[1, 1]
        rates = run.learning_rate
        if len(rates) and bool((rates == rates[0]).all()):  # a flat line says less than its value
            ax.text(0.5, 0.5, f"constant learning rate {float(rates[0]):g}", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_axis_off()
        else:
            ax.plot(run.steps, rates, color=PALETTE[3], lw=1.0)
            ax.set(xlabel="step", ylabel="learning rate", title="learning rate")
        if tracked:
            ax = axes[0, 2]
            lam, err = run.lyapunov.numpy(), np.nan_to_num(run.lyapunov_stderr.numpy())
            ax.errorbar(run.tracking_steps, lam, yerr=err, fmt="o-", color=PALETTE[4], ms=3, capsize=2)
            ax.axhline(0.0, color="0.5", lw=0.8)
            ax.set(xlabel="step", ylabel="largest exponent (per unit time)",
                   title="finite-time Lyapunov exponent\non task trials")
            ax = axes[1, 2]
            ax.plot(run.tracking_steps, run.gradient_rate, "o-", color=PALETTE[5 % len(PALETTE)], ms=3)
            ax.axhline(0.0, color="0.5", lw=0.8)
            ax.set(xlabel="step", ylabel="rate (per unit time)", title="gradient propagation rate")
        fig.suptitle(title or run.summary(), fontsize=9)
    return fig


def plot_task_batch(batch: TaskBatch, *, outputs: torch.Tensor | None = None, trials: int = 4,
                    title: str | None = None) -> Figure:
    """The first ``trials`` trials: inputs above, targets (dashed, where the mask counts them) and, given, a
    model's outputs below, against time.

    Arguments:
        batch: the :class:`~ctrnn.tasks.TaskBatch`. outputs: ``(T, B, p)`` a model's outputs on it, or ``None``.
        trials: how many trials to draw (one column each). title: the figure's title.

    Returns:
        a matplotlib ``Figure``.

    Raises:
        ValueError: ``outputs`` of another shape than the targets.
    """
    if outputs is not None and tuple(outputs.shape) != tuple(batch.targets.shape):
        raise ValueError(f"outputs have shape {tuple(outputs.shape)}; the batch's targets have "
                         f"{tuple(batch.targets.shape)}")
    count = max(1, min(int(trials), batch.batch_size))
    end = (batch.t + batch.dt).cpu().double().numpy()  # targets and outputs belong to the end of each step
    start = batch.t.cpu().double().numpy()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, count, figsize=(2.9 * count + 0.6, 4.6), sharex=True, squeeze=False,
                                 constrained_layout=True)
        for j in range(count):
            ax = axes[0, j]
            u = batch.inputs[:, j].cpu().double().numpy()
            for i in range(u.shape[-1]):
                ax.step(start, u[:, i], where="post", color=PALETTE[i % len(PALETTE)], lw=1.0, label=f"u{i + 1}")
            ax.set(title=f"trial {j + 1}", ylabel="inputs" if j == 0 else None)
            ax = axes[1, j]
            target = batch.targets[:, j].cpu().double().numpy()
            mask = batch.mask[:, j].cpu().double().numpy()
            for i in range(target.shape[-1]):
                color = PALETTE[i % len(PALETTE)]
                ax.plot(end, np.where(mask[:, i] > 0, target[:, i], np.nan), "--", color=color, lw=1.2,
                        label=f"target {i + 1}")
                if outputs is not None:
                    ax.plot(end, outputs[:, j, i].detach().cpu().double().numpy(), color=color, lw=1.0,
                            label=f"output {i + 1}")
            ax.set(xlabel="time", ylabel="outputs" if j == 0 else None)
        axes[0, 0].legend(frameon=False, fontsize=7)
        axes[1, 0].legend(frameon=False, fontsize=7)
        fig.suptitle(title or batch.summary(), fontsize=9)
    return fig
