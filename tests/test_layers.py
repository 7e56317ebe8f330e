"""The package's structure: imports run one way through the layers of DESIGN.md, with no import circle, and
results are data (matplotlib is imported by the plotting and report layers only).

The graph is read from the source with ``ast`` (imports inside functions count too), so the test needs no
import of its own and names the file and line of any offending import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ctrnn"

#: top to bottom: a module may import from its own layer or a layer above (a smaller number), never below
LAYERS = {
    "ctrnn._errors": 0, "ctrnn._registry": 0, "ctrnn._validation": 0, "ctrnn._progress": 0, "ctrnn._results": 0,
    "ctrnn._version": 0, "ctrnn._files": 0, "ctrnn._format": 0, "ctrnn._identity": 0, "ctrnn.config": 0,
    "ctrnn.systems": 1,
    "ctrnn.inputs": 2,
    "ctrnn._simulate": 3, "ctrnn._fused": 3,
    "ctrnn.discretize": 4,
    "ctrnn.analysis": 5,
    "ctrnn.tasks": 6, "ctrnn.training": 6, "ctrnn.mechanisms": 6,
    "ctrnn.plot": 7, "ctrnn.io": 7,
    "ctrnn.reports": 8,
    "ctrnn.setup": 9, "ctrnn._setup": 9,
    "ctrnn": 10,
}
#: the only layers that draw: everything else hands its results to them through the registries
DRAWING = ("ctrnn.plot", "ctrnn.reports")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of the longest prefix of ``module`` named in :data:`LAYERS`."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in LAYERS:
            return LAYERS[key]
    raise AssertionError(f"module {module} is in no layer: add it to LAYERS in {Path(__file__).name}")


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, int, bool]]:
    """``(imported module, line, under TYPE_CHECKING)`` for every import of ``path``: ctrnn modules resolved to
    the deepest known module, others by their top-level name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = (".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
                      if node.level else node.module or "")
            candidates = [f"{module}.{alias.name}" for alias in node.names] if module in known else [module]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            target = candidate
            while target.startswith("ctrnn") and target not in known:
                target = target.rpartition(".")[0]
            found.append((target or candidate, node.lineno, id(node) in typing_only))
    return found


def graph() -> tuple[dict[str, Path], dict[str, list[tuple[str, int, bool]]]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return files, {name: imports(path, name, known) for name, path in files.items()}


def test_no_module_imports_a_layer_below_its_own():
    files, edges = graph()
    upward = [f"{files[a].relative_to(PACKAGE.parent)}:{line} imports {b} (layer {layer_of(b)} is below "
              f"{a}'s layer {layer_of(a)})"
              for a, targets in edges.items() for b, line, _ in targets
              if b.startswith("ctrnn") and b != a and layer_of(b) > layer_of(a)]
    assert not upward, "\n".join(upward)


def test_there_is_no_import_circle():
    _, edges = graph()
    adjacency = {a: {b for b, _, _ in targets if b in edges and b != a} for a, targets in edges.items()}
    # Tarjan's strongly connected components: any component of two or more modules is a circle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in adjacency[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in adjacency:
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_results_and_models_never_import_matplotlib():
    files, edges = graph()
    drawing = [f"{files[a].relative_to(PACKAGE.parent)}:{line}"
               for a, targets in edges.items() if not a.startswith(DRAWING)
               for b, line, typing_only in targets if b.split(".")[0] == "matplotlib" and not typing_only]
    assert not drawing, "matplotlib imported outside ctrnn.plot / ctrnn.reports: " + ", ".join(drawing)


def test_the_layer_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: a systems module that imports the plotting layer is reported."""
    fake = tmp_path / "ctrnn"
    (fake / "systems").mkdir(parents=True)
    (fake / "plot").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "systems" / "__init__.py").write_text("def f():\n    from ..plot import draw\n")
    (fake / "plot" / "__init__.py").write_text("from ..systems import f\ndraw = f\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    with pytest.raises(AssertionError, match="systems/__init__.py:2 imports ctrnn.plot"):
        test_no_module_imports_a_layer_below_its_own()
    with pytest.raises(AssertionError, match="import circles"):
        test_there_is_no_import_circle()
