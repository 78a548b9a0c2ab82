"""The package layout keeps its promise: imports point one way, from front ends down to the library.

Reads the source with `ast` (nothing is imported), so it also sees imports inside functions.
Layers, lowest first: the shared core (settings, records, util), `library` (source -> index),
`answering` (index -> answer), `study` (answer -> grade), `evaluation`, then the facade
(`workspace`, `doctor`) and the front ends (`cli`, `app`, and any server). A module may import its
own layer and the layers below it, never above; and no two modules import each other in a circle.
The front ends go through the Workspace facade: none wires a store, embedder, retriever, answerer or
grader itself.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "paperdojo"

LAYERS = {
    "settings": 0, "records": 0, "util": 0,
    "library": 1,
    "answering": 2,
    "study": 3,
    "evaluation": 4,
    "workspace": 5, "doctor": 5,
    "cli": 6, "app": 6, "mcp": 6, "server": 6, "mcp_server": 6,
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


# ----------------------------------------------------------------- front ends go through Workspace
FRONT_ENDS = ("paperdojo.cli", "paperdojo.app", "paperdojo.mcp_server")
# what a front end may take from the modules that load, embed and search an index: their errors, and
# from retrieve also its plain records (Filters, Hit, SectionHit); never load_index, Embedder,
# Retriever, find_sections... (the Workspace holds those)
WIRING = {"paperdojo.library.store": ("error",), "paperdojo.library.embed": ("error",),
          "paperdojo.answering.retrieve": ("error", "dataclass")}
BUILT_BY_WORKSPACE = {"Answerer", "Grader", "Retriever", "Embedder", "SentenceVectors"}


def _takeable(module: str, name: str) -> bool:
    obj = getattr(importlib.import_module(module), name, None)
    kinds = WIRING[module]
    return isinstance(obj, type) and (issubclass(obj, Exception)
                                      or ("dataclass" in kinds and dataclasses.is_dataclass(obj)))


def wiring(path: Path, module: str) -> list[str]:
    """Where `path` (a front end) wires the index itself: a name it takes from a WIRING module that is
    not an error or record (imported by name, or read as an attribute of the imported module), or a
    call that builds one of BUILT_BY_WORKSPACE (Answerer(...), Answerer.from_settings(...))."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    aliases: dict[str, str] = {}  # local name -> wiring module
    taken: list[tuple[int, str, str]] = []  # (line, wiring module, name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in WIRING and a.asname:
                    aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            for a in node.names:
                if f"{base}.{a.name}" in WIRING:
                    aliases[a.asname or a.name] = f"{base}.{a.name}"
                elif base in WIRING:
                    taken.append((node.lineno, base, a.name))
    bad: list[str] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            taken.append((node.lineno, aliases[node.value.id], node.attr))
        elif isinstance(node, ast.Call):
            func = node.func.value if isinstance(node.func, ast.Attribute) else node.func
            if isinstance(func, ast.Name) and func.id in BUILT_BY_WORKSPACE:
                bad.append(f"{path.name}:{node.lineno} builds {ast.unparse(node.func)}")
    bad += [f"{path.name}:{line} uses {mod}.{name}" for line, mod, name in taken if not _takeable(mod, name)]
    return bad


def _front_end_files() -> list[tuple[Path, str]]:
    files = [(p, _module_name(p)) for p in sorted(PACKAGE.rglob("*.py"))
             if _module_name(p).startswith(FRONT_ENDS)]
    return [*files, (ROOT / "app.py", "app")]


def test_front_ends_wire_no_index_themselves() -> None:
    """The CLI, the app and the MCP server reach the index only through Workspace (the developers'
    guide: front ends share one facade over an index)."""
    files = _front_end_files()
    assert {m for _, m in files} >= {"paperdojo.cli.answers", "paperdojo.app.search", "paperdojo.mcp_server"}
    bad = [b for path, module in files for b in wiring(path, module)]
    assert not bad, "front ends that wire the index themselves (go through paperdojo.workspace):\n" + \
        "\n".join(bad)


def test_the_wiring_check_catches_a_front_end_that_builds_its_own(tmp_path: Path) -> None:
    bad = tmp_path / "cmd.py"
    bad.write_text("from paperdojo.library import store\nfrom paperdojo.library.embed import Embedder\n"
                   "from paperdojo.answering.retrieve import Filters, EmptyQuery, find_sections\n"
                   "from paperdojo.library.store import IndexProblem\n"
                   "def run(s):\n    index = store.load_index(s.index_dir)\n"
                   "    a = Answerer.from_settings(Retriever(index, Embedder(s)), s)\n"
                   "    try:\n        return Grader(a), find_sections, Filters()\n"
                   "    except (store.IndexProblem, IndexProblem, EmptyQuery):\n        return None\n")
    found = wiring(bad, "paperdojo.cli.cmd")
    assert sorted(found) == sorted([
        "cmd.py:2 uses paperdojo.library.embed.Embedder",
        "cmd.py:3 uses paperdojo.answering.retrieve.find_sections",
        "cmd.py:6 uses paperdojo.library.store.load_index",
        "cmd.py:7 builds Answerer.from_settings", "cmd.py:7 builds Retriever", "cmd.py:7 builds Embedder",
        "cmd.py:9 builds Grader"]), found
