"""The modules of monitor/rules import each other without a cycle.

Read from the source with ast, so that imports inside functions and under
TYPE_CHECKING count too: those are how cycles hide."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor" / "rules"


def module_imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of the package that ``path`` imports, wherever the import is."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from . import x / from .x import y
                if node.module:
                    out.add(node.module.split(".")[0])
                else:  # a submodule, or a name that __init__ re-exports
                    out |= {a.name if a.name in modules else "__init__" for a in node.names}
            elif node.level == 0 and (node.module or "").startswith("monitor.rules"):
                rest = (node.module or "").removeprefix("monitor.rules").lstrip(".")
                out.add(rest.split(".")[0] if rest else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("monitor.rules."):
                    out.add(alias.name.split(".")[2])
    return out - {path.stem}


def import_graph() -> dict[str, set[str]]:
    files = {p.stem: p for p in PACKAGE.glob("*.py")}
    return {name: module_imports(path, set(files)) & set(files) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path that returns to its start, or [] if there is none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for nxt in sorted(graph[node]):
            cycle = visit(nxt, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return []

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return []


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_find_cycle(graph: dict[str, set[str]], cycle: list[str]) -> None:
    assert find_cycle(graph) == cycle


def test_no_import_cycle_in_monitor_rules() -> None:
    graph = import_graph()
    assert {"engine", "loader", "checks", "compile"} <= set(graph)  # the parser saw them
    assert "tree" in graph["engine"]
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_test_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .y import Y\n"
    )
    (tmp_path / "y.py").write_text("def f():\n    from . import x\n")
    names = {"x", "y"}
    graph = {n: module_imports(tmp_path / f"{n}.py", names) for n in names}
    assert find_cycle(graph) == ["x", "y", "x"]
