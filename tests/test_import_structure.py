"""The import graph of `qgis_siammask/` has no cycle and no import from a lower layer to a higher one.

Every module's imports are read with `ast`: imports inside functions and under `if TYPE_CHECKING` count
(a lazy import that dodges a cycle at run time is still a cycle in the design), relative imports are
resolved, `from package import module` is an import of that module, and `importlib.import_module` with a
literal name (or an f-string's literal prefix, as the command line picks its command) is an import too.

The layers are written down once, in the README's architecture section (its table, lowest layer first);
this test parses them from there.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "qgis_siammask"
ARCHITECTURE_HEADING = "## Architecture"


def package_modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__) for every module of the package."""
    modules = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _imported_names(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules that `tree` (the source of `module`) imports anywhere in its body."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()

    def add(name: str, submodules: list[str] = ()) -> None:
        """`name` itself, or for `from name import a, b` the submodules a, b where they are modules."""
        named = [f"{name}.{sub}" for sub in submodules if f"{name}.{sub}" in known]
        if named:
            found.update(named)
        if len(named) < len(submodules) or not submodules:
            while name and name not in known:  # `import a.b.c` where only `a.b` is ours: the nearest module
                name = name.rpartition(".")[0]
            if name:
                found.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                add(name, [alias.name for alias in node.names])
        elif isinstance(node, ast.Call) and node.args and _is_import_module(node.func):
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                add(argument.value)
            elif isinstance(argument, ast.JoinedStr) and argument.values \
                    and isinstance(argument.values[0], ast.Constant):
                prefix = str(argument.values[0].value)  # f"pkg.sub.{name}": any module under pkg.sub
                found.update(name for name in known if name.startswith(prefix) and name != prefix.rstrip("."))
    found.discard(module)
    return found


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "import_module") or (
        isinstance(func, ast.Attribute) and func.attr == "import_module")


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = package_modules(root)
    known = set(modules)
    graph = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[name] = _imported_names(tree, name, is_package, known)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a list of modules, the first repeated at the end) per strongly connected group."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the group's first module, for the message."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & group):
                if successor == start:
                    return paths[node] + [start]
                if successor not in paths:
                    paths[successor] = paths[node] + [successor]
                    following.append(successor)
        frontier = following
    return sorted(group)


def readme_layers(readme: Path = ROOT / "README.md") -> list[tuple[str, list[str]]]:
    """(layer name, module patterns) from the architecture section's table, lowest layer first.

    A pattern is a module or package name relative to `qgis_siammask.` (`qgis_siammask` itself is the
    package's __init__); a module belongs to its longest matching pattern."""
    text = readme.read_text(encoding="utf-8")
    start = text.index(ARCHITECTURE_HEADING)
    end = text.find("\n## ", start + 1)
    layers = []
    for line in text[start:end if end > 0 else None].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 2 or set(cells[0]) <= set("-: ") or cells[0].lower().startswith("layer"):
            continue
        layers.append((cells[0].strip("*"), re.findall(r"`([\w.]+)`", cells[1])))
    return layers


def layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int | None:
    """The index of the layer whose pattern matches `module` most closely, or None."""
    best, best_length = None, -1
    for number, (_, patterns) in enumerate(layers):
        for pattern in patterns:
            full = PACKAGE if pattern == PACKAGE else f"{PACKAGE}.{pattern}"
            covers = module == full or (pattern != PACKAGE and module.startswith(full + "."))
            if covers and len(full) > best_length:
                best, best_length = number, len(full)
    return best


@pytest.fixture(scope="module")
def graph():
    return import_graph()


@pytest.fixture(scope="module")
def layers():
    found = readme_layers()
    assert len(found) >= 5, f"the README's architecture table gave too few layers: {found}"
    return found


def test_the_reader_sees_lazy_relative_and_dynamic_imports(tmp_path):
    """The reader itself, on a small package: what the real checks rely on."""
    package = tmp_path / PACKAGE
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "a.py").write_text("def f():\n    from ..high import b\n")
    (package / "low" / "c.py").write_text("from . import a\nimport importlib\n"
                                          "importlib.import_module(f'qgis_siammask.high.{name}')\n")
    (package / "high.py").write_text("from qgis_siammask.low.a import f\n")
    found = import_graph(tmp_path)
    assert found[f"{PACKAGE}.low.a"] == {f"{PACKAGE}.high"}
    assert found[f"{PACKAGE}.low.c"] == {f"{PACKAGE}.low.a"}  # f-string prefix `high.` names no module
    assert find_cycles(found) == [[f"{PACKAGE}.high", f"{PACKAGE}.low.a", f"{PACKAGE}.high"]]


def test_no_import_cycle(graph):
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_every_module_has_a_layer(graph, layers):
    """A new module is placed in the README's table (a package's empty __init__ needs no place)."""
    unplaced = sorted(name for name in graph if layer_of(name, layers) is None
                      and (graph[name] or not package_modules()[name][1]))
    assert not unplaced, f"modules in no layer of the README's architecture table: {unplaced}"
    patterns = [pattern for _, names in layers for pattern in names]
    stale = [p for p in patterns if not any(layer_of(name, [("", [p])]) is not None for name in graph)]
    assert not stale, f"architecture table names that match no module: {stale}"


def test_no_import_up_the_layers(graph, layers):
    upward = []
    for name, imported in sorted(graph.items()):
        own = layer_of(name, layers)
        for target in sorted(imported):
            theirs = layer_of(target, layers)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{name} ({layers[own][0]}) imports {target} ({layers[theirs][0]})")
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)
