"""A griffe extension for the docs build: it teaches the docstring parser two habits of this project's
docstrings, before griffe's Google parser reads them.

1. Sphinx roles (``:class:`~ctrnn.System```, ``:func:`find_fixed_points```), which Markdown would print
   verbatim, become mkdocstrings cross-references (``[`System`][ctrnn.System]``); with ``scoped_crossrefs`` a
   short name resolves from the docstring's own scope, as Python resolves it. A target outside ctrnn (a
   ``torch.nn.Module`` method) links to torch's documentation instead.
2. An "Arguments:" entry may document several parameters at once (``rtol, atol: tolerances``, or
   ``weight_ih ``(3n, m)``, bias_ih ``(3n,)``: torch's layout``); the entry is repeated for each name, so each
   parameter gets its description (and its shape, where the entry gives one per name).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):`(~?)([^`<>]+)`")
# methods that ctrnn's docstrings name from torch.nn.Module
_TORCH_MODULE = "https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module."
_EXTERNAL = {"state_dict": _TORCH_MODULE + "state_dict"}

_SECTION = re.compile(r"^(\s*)(Arguments|Args|Parameters):\s*$")
_ITEM = re.compile(r"^(\s*)([A-Za-z_*][^:]*?):(\s.*|)$")
_NAME = re.compile(r"\s*(\**[A-Za-z_]\w*)\s*(``[^`]*``)?\s*(?:,|$)")


def _link(match: re.Match[str]) -> str:
    tilde, target = match.group(1), match.group(2).strip()
    shown = target.rsplit(".", 1)[-1] if tilde else target
    if target in _EXTERNAL:
        return f"[`{shown}`]({_EXTERNAL[target]})"
    return f"[`{shown}`][{target}]"


def _names(head: str) -> list[tuple[str, str]] | None:
    """``"a ``(n,)``, b"`` -> ``[("a", "``(n,)``"), ("b", "")]``; None unless it is a list of several names."""
    if "," not in re.sub(r"``[^`]*``", "", head):
        return None
    out, pos = [], 0
    while pos < len(head):
        m = _NAME.match(head, pos)
        if m is None or m.end() == pos:
            return None
        out.append((m.group(1), m.group(2) or ""))
        pos = m.end()
    if len(out) < 2:
        return None
    # "bias_ih, bias_hh ``(3n,)``": a name without a shape shares the next one's
    for j in range(len(out) - 2, -1, -1):
        if not out[j][1]:
            out[j] = (out[j][0], out[j + 1][1])
    return out


def split_grouped_arguments(text: str) -> str:
    lines, out, i = text.split("\n"), [], 0
    section_indent: int | None = None
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if _SECTION.match(line):
            section_indent = indent
            out.append(line)
            i += 1
            continue
        if section_indent is not None and line.strip() and indent <= section_indent:
            section_indent = None
        item = _ITEM.match(line) if section_indent is not None else None
        names = _names(item.group(2)) if item else None
        if item is None or names is None:
            out.append(line)
            i += 1
            continue
        rest = [line for line in _continuation(lines, i + 1, indent)]
        for name, shape in names:
            out.append(f"{item.group(1)}{name}:{' ' + shape if shape else ''}{item.group(3)}")
            out.extend(rest)
        i += 1 + len(rest)
    return "\n".join(out)


def _continuation(lines: list[str], start: int, indent: int) -> list[str]:
    rest = []
    for line in lines[start:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        rest.append(line)
    while rest and not rest[-1].strip():
        rest.pop()
    return rest


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring as griffe loads it (see the module's docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = split_grouped_arguments(_ROLE.sub(_link, obj.docstring.value))
