"""The gallery and the command line use ctrnn's public API only, and no global RNG state."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GALLERY = sorted((ROOT / "simulations").glob("*.py"))
CLI = sorted((ROOT / "cli").glob("*.py"))
#: calls that draw from torch's global generator unless given generator=
DRAWS = {"randn", "rand", "randint", "randperm", "normal", "bernoulli", "multinomial", "rand_like", "randn_like"}


def imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")  # ctrnn.__version__ is public


def private_ctrnn(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "ctrnn" and any(private(part) for part in parts[1:])


def torch_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls ``torch.NAME(...)``."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"]


def private_attributes(tree: ast.AST) -> list[str]:
    """``ctrnn.a._b`` attribute chains (a private module reached without an import)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "ctrnn" and any(private(p) for p in chain):
                found.append(".".join(["ctrnn", *reversed(chain)]))
    return found


@pytest.mark.parametrize("path", GALLERY, ids=[p.stem for p in GALLERY])
def test_the_gallery_imports_only_the_public_api(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = imported_modules(tree)
    assert not [n for n in names if n.split(".")[0] == "cli"], f"{path.name} imports the command line"
    assert not [n for n in names if private_ctrnn(n)], f"{path.name} imports a private ctrnn module"
    assert not private_attributes(tree), f"{path.name} reaches into a private ctrnn module"


@pytest.mark.parametrize("path", CLI, ids=[p.stem for p in CLI])
def test_the_cli_imports_only_the_public_api(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not [n for n in imported_modules(tree) if private_ctrnn(n)], f"{path.name} imports a private ctrnn module"
    assert not private_attributes(tree), f"{path.name} reaches into a private ctrnn module"


@pytest.mark.parametrize("path", GALLERY + CLI, ids=[f"{p.parent.name}/{p.stem}" for p in GALLERY + CLI])
def test_no_global_rng(path):
    calls = torch_calls(ast.parse(path.read_text(encoding="utf-8")))
    assert not [c for c in calls if c.func.attr in ("manual_seed", "seed")], f"{path.name} seeds torch's global RNG"
    unseeded = [f"torch.{c.func.attr} (line {c.lineno})" for c in calls
                if c.func.attr in DRAWS and not any(k.arg == "generator" for k in c.keywords)]
    assert not unseeded, f"{path.name} draws from the global RNG: {unseeded}"


def test_the_checks_catch_what_they_look_for():
    bad = ast.parse("import cli.main\nfrom ctrnn.analysis._common import describe\nimport torch\n"
                    "torch.manual_seed(0)\nx = torch.randn(3)\ny = ctrnn.analysis._common.describe(x)\n")
    names = imported_modules(bad)
    assert "cli.main" in names and any(private_ctrnn(n) for n in names)
    assert [c.func.attr for c in torch_calls(bad)] == ["manual_seed", "randn"]
    assert "ctrnn.analysis._common.describe" in private_attributes(bad)
    assert not private_attributes(ast.parse("v = ctrnn.__version__\nf = ctrnn.setup.place\n"))
