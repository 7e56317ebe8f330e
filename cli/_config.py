"""Run configurations: built-in defaults < a TOML file < command-line flags.

Every key is checked against the defaults' schema; an unknown key is an error naming the valid ones.
Values given on the command line as ``--set section.key=value`` are parsed as TOML literals, never evaluated.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from ctrnn import ConfigError

#: expected types of each value, from its default; None defaults accept a number
_NUMBER = (int, float)


def _expected(default: Any) -> tuple[type, ...]:
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, (int, float)) or default is None:
        return _NUMBER
    return (type(default),)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a :class:`ConfigError` that names the file."""
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


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """``"model.g=2.0"`` -> ``(["model", "g"], 2.0)``; the value is a TOML literal or else a bare string."""
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


def merge(defaults: dict[str, Any], *layers: dict[str, Any], free_sections: dict[str, Any] | None = None,
          where: str = "") -> dict[str, Any]:
    """Overlay ``layers`` on a deep copy of ``defaults``, checking keys and value types.

    Arguments:
        defaults: the schema and default values (nested dicts are sections).
        layers: partial configs, later ones win.
        free_sections: sections whose keys are checked later by their own schema (model parameters).
    """
    out = copy.deepcopy(defaults)
    free = free_sections or {}
    for layer in layers:
        _overlay(out, layer, defaults, free, where)
    return out


def _overlay(out: dict, layer: dict, schema: dict, free: dict, where: str) -> None:
    for key, value in layer.items():
        name = f"{where}{key}"
        if key not in schema:
            raise ConfigError(f"unknown config key {name!r}; valid keys here: {', '.join(sorted(schema))}")
        default = schema[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {name!r} must be a table (section), got {value!r}")
            if key in free:
                out[key].update(value)
            else:
                _overlay(out[key], value, default, {}, f"{name}.")
        else:
            out[key] = check_value(name, value, default)


def check_value(name: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the type of ``default`` (ints are accepted where floats are expected)."""
    expected = _expected(default)
    if isinstance(value, bool) and bool not in expected:
        ok = False
    else:
        ok = isinstance(value, expected) or (default is None and value is None)
    if not ok:
        kinds = " or ".join(t.__name__ for t in expected)
        raise ConfigError(f"config key {name!r} must be {kinds}, got {value!r}")
    return value


def assign(tree: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``tree[path[0]]...[path[-1]] = value``, creating sections."""
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {'.'.join(path)}: {part!r} is not a section")
    node[path[-1]] = value
