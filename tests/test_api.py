"""The public surface as DESIGN.md states it: sorted ``__all__`` in every public module, docstrings with
Arguments / Returns on every public function, figures typed as such, and results that are frozen dataclasses
with ``.plot()``, ``.save()``, a short ``repr`` and ``_repr_html_``."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

import ctrnn
from ctrnn._results import PLOTTERS, SAVERS, Result

PUBLIC_MODULES = ["ctrnn", "ctrnn.analysis", "ctrnn.analysis.accuracy", "ctrnn.analysis.chaos",
                  "ctrnn.analysis.gradients", "ctrnn.analysis.periodic", "ctrnn.analysis.stability", "ctrnn.discretize",
                  "ctrnn.inputs", "ctrnn.io", "ctrnn.plot", "ctrnn.reports", "ctrnn.systems"]


def public_functions():
    seen: dict[int, tuple[str, object]] = {}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj):
                seen.setdefault(id(obj), (f"{name}.{attr}", obj))
    return sorted(seen.values())


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_names_what_exists(name):
    module = importlib.import_module(name)
    names = list(module.__all__)
    assert names == sorted(names), f"{name}.__all__ is not sorted"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def test_every_public_function_documents_its_arguments_and_returns():
    undocumented = []
    for qualified, fn in public_functions():
        doc = inspect.getdoc(fn) or ""
        takes = [p for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_KEYWORD]
        needs = (["Arguments:"] if takes else []) + ["Returns:"]
        lacking = [section for section in needs if section not in doc]
        if lacking:
            undocumented.append(f"{qualified} lacks {', '.join(lacking)}")
    assert not undocumented, "\n".join(undocumented)


def test_every_plot_function_returns_a_figure():
    untyped = [q for q, fn in public_functions() if q.startswith("ctrnn.plot.") and q.split(".")[-1] != "kind_style"
               and q.split(".")[-1] != "plot_eigenvalues" and "principal" not in q
               and inspect.signature(fn).return_annotation not in ("Figure", "matplotlib.figure.Figure")]
    assert not untyped, f"plot functions without a Figure return type: {untyped}"


RESULTS = [cls for cls in vars(ctrnn).values() if isinstance(cls, type) and issubclass(cls, Result)]


def test_every_result_class_is_frozen_data_with_a_figure_and_a_file_format():
    assert len(RESULTS) >= 12, [cls.__name__ for cls in RESULTS]
    for cls in RESULTS:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls.__name__
        assert cls in PLOTTERS, f"{cls.__name__} has no registered plot"
        assert cls in SAVERS, f"{cls.__name__} has no registered file format"


def test_a_result_has_a_short_repr_and_an_html_repr():
    import torch

    net = ctrnn.RateRNN(50, g=0.5, seed=0).double()
    fp = ctrnn.find_fixed_points(net, torch.randn(8, 50, generator=torch.Generator().manual_seed(0),
                                                  dtype=torch.float64))
    text = repr(fp)
    assert text.startswith("FixedPoints(points=tensor(1, 50) float64") and len(text) < 300, text
    assert "<table>" in fp._repr_html_() and "1 fixed point(s)" in fp._repr_html_()
