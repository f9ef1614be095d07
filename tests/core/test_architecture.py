"""The engine must stay usable without Qt: core/ never imports PySide6, superqt or app/."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import Any

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("PySide6", "superqt", "shiboken6", "app")


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_module_imports_qt_or_app():
    offenders = {
        str(path.relative_to(CORE.parent)): sorted(imported_roots(path) & set(FORBIDDEN))
        for path in CORE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_core_module_loads_no_qt():
    modules = [
        ".".join(path.relative_to(CORE.parent).with_suffix("").parts)
        for path in CORE.rglob("*.py")
        if path.name != "__init__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=CORE.parent, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the house's other rules (issue "One manifold, one pipeline, one trainer") ----------------

ROOT = CORE.parent
CODE = sorted([*CORE.rglob("*.py"), *(ROOT / "app").rglob("*.py"), ROOT / "main.py"])
LONGEST_FUNCTION = 80


def _nodes(kind: type | UnionType) -> Iterator[tuple[str, Any]]:
    """("file:line", node) of every node of ``kind`` in the house's code."""
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, kind):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def test_no_function_is_longer_than_80_lines():
    long = [
        f"{where} {node.name} ({node.end_lineno - node.lineno + 1})"
        for where, node in _nodes(ast.FunctionDef | ast.AsyncFunctionDef)
        if node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION
    ]
    assert long == []


def test_no_module_imports_another_ones_private_names():
    private = [
        f"{where} {node.module}.{alias.name}"
        for where, node in _nodes(ast.ImportFrom)
        if node.module
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert private == []


def test_imports_are_static():
    dynamic = [
        where
        for where, node in _nodes(ast.Call)
        if getattr(node.func, "attr", None) == "import_module"
        or getattr(node.func, "id", None) == "__import__"
    ]
    assert dynamic == []


def test_no_import_circle_between_modules():
    """Every import counts, also those inside functions and those for the type checker."""
    import grimp

    graph = grimp.build_graph("core", "app")
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert circles == []


def test_every_part_of_core_is_on_a_floor():
    """core's root holds its floors and nothing loose: every package and module there is a
    layer of the import-linter ``layers`` contract (so ``lint-imports`` checks its arrows)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (floors,) = [c for c in contracts if c["type"] == "layers" and c["containers"] == ["core"]]
    named = {part.strip() for layer in floors["layers"] for part in layer.split("|")}
    parts = {
        path.stem
        for path in CORE.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").is_file()
    }
    assert parts == named
