"""What every result shares: it is data, and ``.plot()`` / ``.save()`` reach the layers that draw and write it
through registries (``ctrnn.plot`` and ``ctrnn.io`` fill them when ``ctrnn`` is imported), so imports run one
way: results never import matplotlib or the file format.

The same two registries serve models and maps (``System.save``, ``DiscreteMap.save``): a registered class
serves its subclasses too.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: result class -> ``draw(result, **options) -> Figure``; filled by :mod:`ctrnn.plot`
PLOTTERS: dict[type, Callable[..., Any]] = {}
#: class -> ``write(obj, path)``; filled by :mod:`ctrnn.io`
SAVERS: dict[type, Callable[[Any, str], None]] = {}


def registered(registry: dict[type, Callable[..., Any]], obj: Any, what: str) -> Callable[..., Any]:
    """The function registered for ``type(obj)`` or its nearest base class."""
    for cls in type(obj).__mro__:
        if cls in registry:
            return registry[cls]
    raise NotImplementedError(f"no {what} is registered for {type(obj).__name__}")


def plot_result(result: Any, **options: Any) -> Figure:
    """Draw ``result`` with the function :mod:`ctrnn.plot` registered for its class."""
    return registered(PLOTTERS, result, "plot")(result, **options)


def save_object(obj: Any, path: Any) -> None:
    """Write ``obj`` with the function :mod:`ctrnn.io` registered for its class."""
    registered(SAVERS, obj, "writer")(obj, str(path))


def _brief(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            v = value.item()
            return f"{v:.6g}" if isinstance(v, float) else str(v)
        return f"tensor{tuple(value.shape)} {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    if isinstance(value, Result) or dataclasses.is_dataclass(value) or isinstance(value, torch.nn.Module):
        return type(value).__name__
    text = repr(value)
    if len(text) <= 40:
        return text
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, str) for v in value) and len(repr(value[0])) <= 28:
            return f"[{value[0]!r}, +{len(value) - 1} more]"
        kinds = {type(v).__name__ for v in value}
        what = kinds.pop() if len(kinds) == 1 and not isinstance(value[0], str) else "items"  # [2 FixedPoints]
        return f"[{len(value)} {what}]"
    # cut at a word's end (a long name or path still shows its start)
    cut = text.rfind(" ", 0, 37)
    return text[:cut if cut > 20 else 37] + "..."


class Result:
    """Base of result dataclasses: ``.plot()``, ``.save(path)``, a short ``repr`` and ``_repr_html_``.

    Subclasses are frozen dataclasses (``repr=False``, so this short ``repr`` is used); ``metadata`` fields
    are left out of the ``repr``. ``ctrnn.load(path)`` reads a saved result back.
    """

    def save(self, path: str) -> None:
        """Write the result to ``path`` (``.safetensors``: tensors plus JSON metadata; no pickle).

        Raises:
            ValueError: ``path`` does not end in ``.safetensors``.
            FileNotFoundError: its folder does not exist.
        """
        save_object(self, path)

    def _fields(self) -> list[tuple[str, Any]]:
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if f.name != "metadata"]

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={_brief(value)}" for name, value in self._fields()[:6])
        more = ", ..." if len(self._fields()) > 6 else ""
        return f"{type(self).__name__}({inner}{more})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(_brief(value))}</td></tr>"
                       for name, value in self._fields())
        summary = getattr(self, "summary", None)
        text = f"<pre>{html.escape(summary())}</pre>" if callable(summary) else ""
        return f"<div><strong>{type(self).__name__}</strong>{text}<table>{rows}</table></div>"
