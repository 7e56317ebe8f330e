"""Run configurations: built-in defaults < a TOML file < ``--set`` assignments < command-line flags.

Every key is checked against the defaults' schema; an unknown key is an error naming the valid ones. A value
must have its default's type (an int where the default is an int: counts and seeds are never truncated; a float
or an int where it is a float), every number must be finite (TOML's ``nan`` and ``inf`` make no sense as a time,
a size or a tolerance), and :func:`check_bounds` checks the ranges a caller states. Values given on the command
line as ``--set section.key=value`` are parsed as TOML literals, never evaluated. The command line and the
simulations gallery resolve their configs here. The module sits at the bottom of the layers: it imports only
the standard library, ctrnn's exceptions and its seed check.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from ._errors import ConfigError
from ._files import write_text

__all__ = ["assign", "check_bounds", "check_value", "merge", "overrides", "parse_assignment", "read_toml",
           "resolve"]

#: expected types of each value, from its default; None defaults accept a number
_NUMBER = (int, float)


def _expected(default: Any) -> tuple[type, ...]:
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, int):
        return (int,)
    if isinstance(default, float) or default is None:
        return _NUMBER
    return (type(default),)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file.

    Arguments:
        path: the file.

    Returns:
        Its tables as nested dicts.

    Raises:
        ConfigError: the file is missing, unreadable or not valid TOML (the message names the file).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def write_toml(path: str | Path, cfg: Mapping[str, Any], command: str | None = None) -> None:
    """Write a resolved config as TOML, headed by the ``command`` that resolved it; atomically (a temporary file
    beside ``path``, then renamed), so a reader never sees half a file. TOML has no null: unset keys are left out.

    Raises:
        OSError: the file cannot be written.
    """
    import json

    import tomli_w

    toml_cfg = json.loads(json.dumps(cfg), object_hook=lambda d: {k: v for k, v in d.items() if v is not None})
    text = (f"# resolved by: {command}\n" if command else "") + tomli_w.dumps(toml_cfg)
    write_text(path, text)


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """Split a ``--set`` assignment: ``"model.g=2.0"`` -> ``(["model", "g"], 2.0)``.

    Arguments:
        text: ``KEY=VALUE`` with a dotted key; the value is a TOML literal, or else taken as a bare string.

    Returns:
        The key's parts and the parsed value.

    Raises:
        ConfigError: no ``=``, or an empty part of the key.
    """
    if "=" not in text:
        raise ConfigError(f"--set expects KEY=VALUE (e.g. model.g=2.0), got {text!r}")
    key, raw = text.split("=", 1)
    path = [part.strip() for part in key.strip().split(".")]
    if not all(path):
        raise ConfigError(f"--set has an empty key in {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def merge(defaults: dict[str, Any], *layers: Mapping[str, Any], free_sections: Collection[str] = (),
          where: str = "") -> dict[str, Any]:
    """Overlay ``layers`` on a deep copy of ``defaults``, checking keys and value types.

    Arguments:
        defaults: the schema and default values (nested dicts are sections).
        layers: partial configs, later ones win.
        free_sections: sections whose keys are checked later by their own schema (model parameters).
        where: the dotted prefix of ``defaults`` in a larger config, for the messages.

    Returns:
        The merged config (``defaults`` is not modified).

    Raises:
        ConfigError: an unknown key (the message lists the valid ones), a value of the wrong type, or a
            plain value where a section is expected.
    """
    out = copy.deepcopy(defaults)
    for layer in layers:
        _overlay(out, layer, defaults, free_sections, where)
    return out


def _overlay(out: dict, layer: Mapping, schema: dict, free: Collection[str], where: str) -> None:
    for key, value in layer.items():
        name = f"{where}{key}"
        if key not in schema:
            raise ConfigError(f"unknown config key {name!r}; valid keys here: {', '.join(sorted(schema))}")
        default = schema[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {name!r} must be a table (section), got {value!r}")
            if key in free:
                for sub, item in value.items():
                    _check_finite(f"{name}.{sub}", item)
                out[key].update(value)
            else:
                _overlay(out[key], value, default, (), f"{name}.")
        else:
            out[key] = check_value(name, value, default)


def check_value(name: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the type of ``default``: ints are accepted where floats are expected, not floats
    where ints are (a count or a seed is never truncated); the items of a list against the type of the default's
    first item (any item for an empty default); every number finite.

    Arguments:
        name: the dotted key, for the message.
        value: the value given.
        default: the default value, whose type is expected; ``None`` expects a number (or ``None``).

    Returns:
        ``value`` unchanged.

    Raises:
        ConfigError: the value has the wrong type, or is (or holds) a NaN or an infinity.
    """
    _check_type(name, value, default)
    if isinstance(value, list) and isinstance(default, list) and default:
        for item in value:
            _check_type(name, item, default[0], item_of=value)
    _check_finite(name, value)
    return value


def _check_type(name: str, value: Any, default: Any, item_of: list | None = None) -> None:
    expected = _expected(default)
    if isinstance(value, bool) and bool not in expected:
        ok = False
    else:
        ok = isinstance(value, expected) or (default is None and value is None)
    if not ok:
        kinds = " or ".join("float" if t is float else t.__name__ for t in expected)
        what = f"a list of {kinds}" if item_of is not None else kinds
        raise ConfigError(f"config key {name!r} must be {what}, got {item_of if item_of is not None else value!r}")


def _check_finite(name: str, value: Any) -> None:
    """Refuse NaN and infinities, in a value or in the items of a list or table."""
    items = value if isinstance(value, list) else value.values() if isinstance(value, dict) else [value]
    for item in items:
        if isinstance(item, (list, dict)):
            _check_finite(name, item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(f"config key {name!r} must be a finite number, got {value!r}")


def check_bounds(cfg: Mapping[str, Any], bounds: Mapping[str, str]) -> None:
    """Check the ranges of a resolved config's numbers.

    Arguments:
        cfg: the resolved config.
        bounds: ``dotted.key: rule`` with a rule ``"> X"``, ``">= X"``, ``"in [A, B]"`` or ``"a seed"`` (an
            integer torch's generators take); a list's items are each checked; keys absent from ``cfg``, and
            ``None`` values (unset), are skipped.

    Raises:
        ConfigError: a value outside its range; the message names the key and the range.
    """
    for dotted, rule in bounds.items():
        node: Any = cfg
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            for item in node if isinstance(node, list) else [node]:
                if item is not None and not _within(item, rule):
                    text = "a seed: an integer in [-2**63, 2**64 - 1]" if rule == "a seed" else rule
                    raise ConfigError(f"config key {dotted!r} must be {text}, got {node!r}")


def _within(value: Any, rule: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True  # a type the schema checks
    if rule == "a seed":
        from ._validation import SEED_RANGE

        return isinstance(value, int) and SEED_RANGE[0] <= value <= SEED_RANGE[1]
    op, _, bound = rule.partition(" ")
    if op == "in":
        low, high = (float(v) for v in bound.strip("[]").split(","))
        return low <= value <= high
    limit = float(bound)
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    raise ValueError(f"unknown bound rule {rule!r}; use '> X', '>= X', 'in [A, B]' or 'a seed'")


def assign(tree: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``tree[path[0]]...[path[-1]] = value`` in place, creating sections.

    Raises:
        ConfigError: a part of ``path`` names a plain value, not a section.
    """
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {'.'.join(path)}: {part!r} is not a section")
    node[path[-1]] = value


def overrides(sets: Iterable[str] = (), flags: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One config layer from ``--set`` assignments and then flags (flags win).

    Arguments:
        sets: ``KEY=VALUE`` assignments (see :func:`parse_assignment`).
        flags: ``dotted.key: value``; a ``None`` value is a flag not given and is skipped.

    Returns:
        The layer, as nested dicts (not yet checked against a schema: :func:`merge` does that).

    Raises:
        ConfigError: a malformed assignment.
    """
    layer: dict[str, Any] = {}
    for text in sets:
        assign(layer, *parse_assignment(text))
    for dotted, value in (flags or {}).items():
        if value is not None:
            assign(layer, dotted.split("."), value)
    return layer


def resolve(defaults: dict[str, Any], config_path: str | Path | None = None, flags: Mapping[str, Any] | None = None,
            sets: Iterable[str] = (), *, free_sections: Collection[str] = ()) -> dict[str, Any]:
    """A run's config: ``defaults`` < the file at ``config_path`` < ``sets`` < ``flags``.

    Arguments:
        defaults: the schema and default values.
        config_path: a TOML file, or ``None``.
        flags: ``dotted.key: value`` from command-line flags; ``None`` values are skipped.
        sets: ``KEY=VALUE`` assignments.
        free_sections: sections whose keys their own schema checks later (see :func:`merge`).

    Returns:
        The resolved config.

    Raises:
        ConfigError: an unreadable file, an unknown key or a value of the wrong type.
    """
    layers = [] if config_path is None else [read_toml(config_path)]
    return merge(defaults, *layers, overrides(sets, flags), free_sections=free_sections)
