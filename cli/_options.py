"""The options the verbs share, declared once.

``@shared_options`` adds ``--config --set --seed --device --dtype --out --force --quiet`` to a verb and hands
them to it as one :class:`Shared` object. A verb's own options that set a config key are declared with
:func:`flag`, which names the key: ``Shared.resolve`` applies every one given, so no verb maps its options to
its config by hand.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._run_folder import RunFolder


@dataclass(frozen=True)
class Key:
    """The config key an option sets (``Annotated`` metadata that Typer ignores), the option's name, and how
    its text becomes the value: ``convert(value, option)``, which raises ``ValueError`` naming the option.
    :meth:`Shared.resolve` converts, under the size limit of the config being resolved (``max_elements``)."""

    dotted: str
    option: str
    convert: Callable[[Any, str], Any] | None = None


def flag(key: str, kind: type, help: str, *names: str, convert: Callable[[Any, str], Any] | None = None) -> Any:
    """An option that sets the config key ``key`` (``section.name``); it is ``--name`` (underscores as dashes)
    unless ``names`` are given. Not given, it leaves the config as it is."""
    names = names or ("--" + key.rsplit(".", 1)[-1].replace("_", "-"),)
    return Annotated[kind | None, typer.Option(*names, help=help), Key(key, names[0], convert)]


ModelOpt = flag("model.kind", str, "Model name (see `ctrnn models`).", "--model", "-m")
ModelFileOpt = Annotated[Path | None, typer.Option("--model-file", help="A saved model or map (.safetensors) "
                                                   "instead of --model.")]
#: the config sections whose keys depend on another key (the model's kind, the task's name), checked by their own
#: schema once that is known (``ctrnn.setup.model_config``, ``task_config``)
FREE_SECTIONS = ("model", "task")
#: the metavar of an on/off flag: none (typer would print "<bool>", as if the flag took a value)
FLAG = " "
QuickOpt = Annotated[bool, typer.Option("--quick", metavar=FLAG,
                                         help="Reduced size: shorter runs, fewer starts, coarser grids.")]
PdfOpt = Annotated[bool, typer.Option("--pdf", metavar=FLAG, help="Also print report.pdf (needs Chromium or Chrome).")]

#: the flags every verb takes (they set the config's top-level keys)
_SHARED_FLAGS = (flag("seed", int, "Random seed (weights and initial states)."),
                 flag("device", str, "torch device: cpu, cuda, cuda:1, ..."),
                 flag("dtype", str, "float32 or float64."))
_SHARED = [  # name, type with its option, default: the other parameters @shared_options adds to a verb
    ("config", Annotated[Path | None, typer.Option("--config", "-c", help="TOML file; flags override it.")], None),
    ("sets", Annotated[list[str] | None, typer.Option("--set", help="Override any config key: section.key=value "
                                                       "(TOML value).")], None),
    ("out", Annotated[Path | None, typer.Option("--out", help="Output folder (refused if it exists, unless "
                                                "--force). (default: results/VERB)")], None),
    ("force", Annotated[bool, typer.Option("--force", metavar=FLAG,
                                           help="Replace what an earlier ctrnn run wrote in the output folder "
                                                "(nothing else in it is touched).")], False),
    ("quiet", Annotated[bool, typer.Option("--quiet", "-q", metavar=FLAG,
                                           help="Print nothing but errors; no progress bar.")], False),
    ("keys", Annotated[bool, typer.Option("--keys", metavar=FLAG,
                                          help="List every config key this verb takes (for --set and --config) "
                                               "with its value after the options given, and exit.")], False),
]


@dataclass(frozen=True)
class Shared:
    """The shared options of one call of a verb."""

    sets: list[str] | None = None
    out: Path | None = None
    force: bool = False
    quiet: bool = False
    config: Path | None = None
    keys: bool = False
    #: the flags given (``--seed``, ``--device``, ``--dtype`` and the verb's own), by config key (see :func:`flag`),
    #: as typed: a flag with a ``convert`` (listed in ``converts``) is converted by :meth:`resolve`
    flags: dict[str, Any] = field(default_factory=dict)
    #: the :class:`Key` of each flag given that has a ``convert``, by config key
    converts: dict[str, Key] = field(default_factory=dict)

    def given(self) -> bool:
        """Whether any option that changes the config (or --force) was given."""
        return bool(self.sets or self.flags or self.config) or self.force

    def resolve(self, defaults: dict[str, Any], config: Path | None = None,
                model_file: Path | None = None) -> dict[str, Any]:
        """The run's config: ``defaults`` < ``--config`` (or ``config``) < ``--set`` < the flags. The model's
        parameters are filled in, so the config alone reproduces the run; with ``model_file`` (``--model-file``)
        the model section records that file (path, SHA-256, class and config) instead, never the defaults.
        Tensors made without a dtype follow ``--dtype``."""
        from cli._defaults import BOUNDS
        from ctrnn.config import check_bounds, resolve
        from ctrnn.setup import check_input_kind, model_config, model_file_section, task_config

        if model_file is not None:  # a model option next to the file would be silently ignored: refuse it
            given = [k for k in self.flags if k.startswith("model.")] + [
                s.split("=", 1)[0].strip() for s in self.sets or [] if s.strip().startswith("model.")]
            if given:
                raise ValueError(f"--model-file takes the model from the file; drop {given[0]} (--model / "
                                 "--set model.*), or drop --model-file")
        plain = {k: v for k, v in self.flags.items() if k not in self.converts}
        cfg = resolve(defaults, config or self.config, plain, self.sets or [], free_sections=FREE_SECTIONS)
        if self.converts:  # their size checks (--values 0:1:N) against the limit this config sets, not the default
            from ctrnn import MAX_ELEMENTS, size_limit

            check_bounds(cfg, {"max_elements": BOUNDS["max_elements"]})
            with size_limit(cfg.get("max_elements", MAX_ELEMENTS)):
                plain |= {k: key.convert(self.flags[k], key.option) for k, key in self.converts.items()}
            cfg = resolve(defaults, config or self.config, plain, self.sets or [], free_sections=FREE_SECTIONS)
        check_bounds(cfg, BOUNDS)
        if "task" in cfg:
            cfg["task"] = task_config(cfg["task"])
        if "input" in cfg:
            check_input_kind(cfg["input"]["kind"])
        if model_file is not None:
            cfg["model"] = model_file_section(model_file)
        elif "model" in cfg:
            if "file" in cfg["model"] and "model.kind" not in self.flags:
                cfg["model"].pop("kind", None)  # the defaults' kind: a config that recorded a file names no kind
            cfg["model"] = model_config(cfg["model"])
        use_torch(cfg)
        return cfg

    def folder(self, verb: str, *, resume: bool = False, default: str | None = None) -> RunFolder:
        """The checked output folder: ``--out``, or ``results/<default or verb>``."""
        return RunFolder(self.out or Path("results") / (default or verb), verb, force=self.force, quiet=self.quiet,
                         resume=resume)


def use_torch(cfg: dict[str, Any]) -> None:
    """Check the config's device and dtype, and make the dtype torch's default: the process runs one verb, and
    tensors the analyses make without a dtype follow ``--dtype``. The config's ``max_elements`` (default
    ``ctrnn.MAX_ELEMENTS``) becomes the size limit of the verb's context (see :func:`shared_options`)."""
    import torch

    import ctrnn
    from ctrnn.setup import resolve_torch

    torch.set_default_dtype(resolve_torch(cfg["device"], cfg["dtype"])[1])
    ctrnn.size_limit(cfg.get("max_elements", ctrnn.MAX_ELEMENTS))


def dotted_items(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(section.key, value)`` for every plain value of a nested config, in order."""
    items: list[tuple[str, Any]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            items += dotted_items(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def toml_value(value: Any) -> str:
    """``value`` as the TOML literal ``--set`` takes (``unset`` for ``None``, which TOML cannot spell)."""
    import tomli_w

    if isinstance(value, (list, tuple)):  # on one line (tomli_w writes one item a line)
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "unset" if value is None else tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def print_keys(cfg: dict[str, Any]) -> None:
    """One line ``section.key = value`` per config key (what ``--keys`` prints)."""
    for dotted, value in dotted_items(cfg):
        typer.echo(f"{dotted} = {toml_value(value)}")


def _default_of(defaults: dict[str, Any], dotted: str) -> Any:
    """The default of config key ``dotted``; a model parameter's is the default model's (``ctrnn models``)."""
    from cli._defaults import MODEL_FLAG_DEFAULTS

    node: Any = defaults
    parts = dotted.split(".")
    if parts[0] == "model" and len(parts) == 2 and parts[1] != "kind":
        return MODEL_FLAG_DEFAULTS[defaults["model"]["kind"]][parts[1]]
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _with_default(kind: Any, default: Any) -> Any:
    """The option type ``kind`` (an ``Annotated``) with ``(default: X)`` at the end of its help: a flag's Python
    default is ``None`` (not given: the config decides), so Typer cannot show the real one."""
    if default is None or default == []:
        return kind
    metadata = []
    for meta in kind.__metadata__:
        if isinstance(meta, typer.models.OptionInfo):
            meta = copy.copy(meta)
            meta.help = f"{meta.help} (default: {toml_value(default)})"  # [..] would be read as rich markup
        metadata.append(meta)
    return Annotated[(kind.__origin__, *metadata)]


def shared_options(*flags: Any, config: bool = True, defaults: dict[str, Any] | None = None,
                   resolver: Callable[[Shared], dict[str, Any]] | None = None
                   ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a verb ``fn(opts: Shared, ...)`` the options ``flags`` (made by :func:`flag`) and the shared ones
    (without ``--config`` when ``config`` is false). Typer sees the flags, then the verb's own parameters, then
    the shared options; the flags given reach the verb as ``opts.flags``, which ``opts.resolve`` applies.
    ``defaults`` (the verb's config defaults) puts each flag's default in ``--help`` and answers ``--keys``
    (a verb without them handles ``opts.keys`` itself); ``resolver(opts, ...)``, where given, resolves the config
    ``--keys`` prints (a verb whose defaults depend on the options, as ``train``'s model inputs on the task), with
    those of the verb's own arguments it names (``report``'s ``model_file``: the task its training run used)."""
    keys = {key.dotted.replace(".", "__"): (kind, key) for kind in (*flags, *_SHARED_FLAGS)
            for key in kind.__metadata__ if isinstance(key, Key)}
    if defaults is not None:
        keys = {name: (_with_default(kind, _default_of(defaults, key.dotted)), key) for name, (kind, key) in keys.items()}
    keyword = inspect.Parameter.KEYWORD_ONLY
    first = [inspect.Parameter(name, keyword, annotation=kind, default=None) for name, (kind, _) in keys.items()]
    last = [inspect.Parameter(name, keyword, annotation=kind, default=default)
            for name, kind, default in _SHARED if config or name != "config"]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        own = [p.replace(kind=keyword) for name, p in sig.parameters.items() if name != "opts"]

        @functools.wraps(fn)
        def verb(**kwargs: Any) -> Any:
            # in a context of its own: the size limit a config sets (use_torch) ends with the verb
            return contextvars.copy_context().run(run_verb, **kwargs)

        def run_verb(**kwargs: Any) -> Any:
            given = {key: kwargs.pop(name) for name, (_, key) in keys.items()}
            given = {key: value for key, value in given.items() if value is not None}
            opts = Shared(**{p.name: kwargs.pop(p.name) for p in last},
                          flags={key.dotted: value for key, value in given.items()},
                          converts={key.dotted: key for key in given if key.convert is not None})
            if opts.keys and defaults is not None:
                if resolver is None:
                    print_keys(opts.resolve(defaults))
                else:  # with the verb's own arguments the resolver takes (report's model file: its training config)
                    own_args = {k: kwargs[k] for k in inspect.signature(resolver).parameters if k in kwargs}
                    print_keys(resolver(opts, **own_args))
                return None
            from ctrnn import show_progress  # torch loads only when a verb runs

            with show_progress(not opts.quiet):  # every long analysis inside shows its bar, nested
                return fn(opts, **kwargs)

        params = first + own + last
        verb.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        verb.__annotations__ = {p.name: p.annotation for p in params}
        return verb

    return decorate
