"""``ctrnn run``: an experiment of the simulations/ gallery, end to end."""

from __future__ import annotations

from typing import Annotated

import typer

from cli._options import FLAG, PdfOpt, QuickOpt, Shared, print_keys, shared_options, use_torch
from cli._run_folder import command_line


@shared_options(config=False)  # the experiment's name or its own TOML file is the config
def run(
    opts: Shared,
    name: Annotated[str | None, typer.Argument(help="A gallery experiment (see --list) or a path to its TOML "
                                               "config.")] = None,
    list_: Annotated[bool, typer.Option("--list", metavar=FLAG,
                                              help="List the gallery's experiments and exit.")] = False,
    quick: QuickOpt = False,
    pdf: PdfOpt = False,
) -> None:
    """Run a ready-made experiment from the simulations/ gallery end to end and write its report."""
    import simulations
    from cli._defaults import BOUNDS
    from ctrnn.config import check_bounds

    gallery = simulations.available()
    if list_:
        width = max(map(len, gallery))
        for key, title in gallery.items():
            typer.echo(f"{key:{width}s}  {title}")
        return
    if name is None:
        raise ValueError(f"name an experiment: {', '.join(gallery)} (or a path to a .toml file); --list describes them")
    sets = opts.sets or []  # the flags are --seed, --device and --dtype
    experiment, cfg = simulations.resolve(name, quick=quick, sets=sets, flags=opts.flags)  # errors before any folder
    check_bounds(cfg, BOUNDS)  # the keys every config shares (seed); an experiment's own settings it checks itself
    if opts.keys:  # the experiment's own keys: its config is the schema
        print_keys({k: v for k, v in cfg.items() if k != "quick"})
        return
    use_torch(cfg)
    folder = opts.folder("run", default=experiment).create(None)  # the gallery writes its own config.toml
    for written in ("config.toml", "report.html", *(["report.pdf"] if pdf else [])):
        folder.file(written)  # recorded before the gallery writes them
    simulations.run(name, folder.path, quick=quick, sets=sets, flags=opts.flags, pdf=pdf, command=command_line(),
                    log=folder.log)
    folder.finish(f"report: {folder.path / 'report.html'}")
