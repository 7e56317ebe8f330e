"""``ctrnn models`` and ``ctrnn version``: what is built in, and which versions run it."""

from __future__ import annotations

import typer


def models() -> None:
    """List the built-in models with their parameters, the solver methods and the activations."""
    import ctrnn
    from ctrnn.systems import model_parameters

    for name in ctrnn.MODELS:
        params = ", ".join(f"{k}={v!r}" for k, v in model_parameters(name).items())
        typer.echo(f"{name:10s} {params}")
    typer.echo(f"methods:     {', '.join(ctrnn.METHODS.names())}")
    typer.echo(f"activations: {', '.join(ctrnn.ACTIVATIONS.names())}")


def version() -> None:
    """Print the versions of ctrnn and its engine."""
    import torch
    import torchdiffeq

    import ctrnn

    typer.echo(f"ctrnn {ctrnn.__version__} (torch {torch.__version__}, torchdiffeq {torchdiffeq.__version__})")
