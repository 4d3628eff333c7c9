"""No import cycles inside the ``moderation`` package.

The graph comes from the source (``ast``), with imports inside functions counted too: a
function-level import is how a circle usually hides (``pipeline`` and ``second_stage`` used
to import ``tasks`` lazily while ``tasks`` imported them). Modules that queue tasks go through
``moderation.dispatch`` by task name instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import moderation

PACKAGE_DIR = Path(moderation.__file__).resolve().parent
ROOT = "moderation"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in PACKAGE_DIR.rglob("*.py")
        if "migrations" not in path.relative_to(PACKAGE_DIR).parts
    }


def imported_modules(name: str, source: str, known: set[str], is_package: bool = False) -> set[str]:
    """The package's own modules that module ``name`` imports anywhere in ``source``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            # ``from X import Y`` imports the submodule X.Y when there is one, else X itself.
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # ``import a.b.c`` runs a, a.b and a.b.c; the deepest module of ours is the edge.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and (target == ROOT or target.startswith(ROOT + ".")):
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {
        name: imported_modules(name, path.read_text(), known, is_package=path.name == "__init__.py")
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_modules_that_matter():
    graph = import_graph()
    assert {"moderation.pipeline", "moderation.second_stage", "moderation.tasks"} <= set(graph)
    assert {"moderation.pipeline", "moderation.second_stage"} <= graph["moderation.tasks"]
    assert "moderation.services.automated" in graph["moderation.pipeline"]
    assert "moderation.dispatch" in graph["moderation.second_stage"]


def test_the_cycle_finder_finds_a_lazy_circle():
    # The shape this package used to have: tasks imports pipeline, pipeline imports tasks
    # inside a function.
    source = {
        "moderation.tasks": "from . import pipeline\n",
        "moderation.pipeline": "def follow_up():\n    from .tasks import moderate_posts\n",
    }
    graph = {name: imported_modules(name, text, set(source)) for name, text in source.items()}
    assert cycles(graph) == [["moderation.pipeline", "moderation.tasks"]]


def test_no_import_cycles_in_moderation():
    found = cycles(import_graph())
    if found:
        pytest.fail(
            "import cycles in moderation/ (queue tasks by name through moderation.dispatch, or move "
            "the shared code into a module both can import): "
            + "; ".join(" <-> ".join(c) for c in found)
        )
