"""The analytics app imports one way: every import at the top of its module, and no cycle among
its modules (a cycle is what imports inside functions used to hide)."""

import ast
from pathlib import Path

import analytics

ROOT = Path(analytics.__file__).parent


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(("analytics", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        found[name] = ast.parse(path.read_text(), filename=str(path))
    return found


def test_no_module_of_analytics_imports_inside_a_function():
    nested = []
    for name, tree in modules().items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            # Django's documented exception: an app's ready() wires providers once models are loaded.
            if name == "analytics.apps" and function.name == "ready":
                continue
            nested += [
                f"{name}.{function.name}:{node.lineno}"
                for node in ast.walk(function)
                if isinstance(node, ast.Import | ast.ImportFrom)
            ]
    assert nested == []


def test_the_modules_of_analytics_import_each_other_without_a_cycle():
    trees = modules()
    graph = {name: set() for name in trees}
    for name, tree in trees.items():
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analytics"):
                targets = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                targets = {alias.name for alias in node.names}
            else:
                continue
            graph[name] |= {t for t in targets if t in trees and t != name}

    visiting, done, cycles = set(), set(), []

    def visit(module: str, path: list[str]) -> None:
        if module in done:
            return
        if module in visiting:
            cycles.append(path[path.index(module) :] + [module])
            return
        visiting.add(module)
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        visiting.discard(module)
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []
