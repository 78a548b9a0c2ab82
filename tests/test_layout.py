"""The package layout keeps its promise: imports point one way, from front ends down to the library.

Reads the source with `ast` (nothing is imported), so it also sees imports inside functions.
Layers, lowest first: the shared core (settings, records, util), `library` (source -> index),
`answering` (index -> answer), `study` (answer -> grade), `evaluation`, then the facade
(`workspace`, `doctor`) and the front ends (`cli`, `app`, and any server). A module may import its
own layer and the layers below it, never above; and no two modules import each other in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "paperdojo"

LAYERS = {
    "settings": 0, "records": 0, "util": 0,
    "library": 1,
    "answering": 2,
    "study": 3,
    "evaluation": 4,
    "workspace": 5, "doctor": 5,
    "cli": 6, "app": 6, "mcp": 6, "server": 6, "mcp_server": 6, "cli_integrations": 6,
    "cli_users": 6,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    """paperdojo.X.Y -> the rank of X; a module unknown to LAYERS fails the test loudly."""
    top = module.split(".")[1] if "." in module else ""
    assert top in LAYERS, f"{module}: put it in a layer of tests/test_layout.py::LAYERS"
    return LAYERS[top]


def _imports(path: Path, module: str) -> set[str]:
    """The paperdojo modules `path` imports (absolute or relative), anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("paperdojo."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("paperdojo"):
                continue
            for alias in node.names:  # `from paperdojo.library import store` names a module
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub) else target)
    return {m for m in found if m != module}


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p, _module_name(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import that points to a higher layer, as 'a (layer i) imports b (layer j)'."""
    return [f"{mod} (layer {_layer(mod)}) imports {dep} (layer {_layer(dep)})"
            for mod, deps in sorted(graph.items()) if mod != "paperdojo"
            for dep in sorted(deps) if dep != "paperdojo" and _layer(dep) > _layer(mod)]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles found by a depth-first walk, each as [a, b, ..., a]."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_imports_point_down_the_layers() -> None:
    bad = upward_imports(_graph())
    assert not bad, "imports that point up the layers:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    cycles = find_cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    """The checks above fail on a bad tree (a guard against checks that cannot fail)."""
    bad = tmp_path / "a.py"
    bad.write_text("from paperdojo.cli import main\nfrom . import store\nfrom .chunk import Chunker\n")
    deps = _imports(bad, "paperdojo.library.a")
    assert {"paperdojo.cli", "paperdojo.library.store", "paperdojo.library.chunk"} <= deps
    assert upward_imports({"paperdojo.library.a": deps})
    assert find_cycles({"paperdojo.answering.x": {"paperdojo.answering.y"},
                        "paperdojo.answering.y": {"paperdojo.answering.x"}})
    assert not find_cycles({"paperdojo.answering.x": {"paperdojo.library.y"}, "paperdojo.library.y": set()})
