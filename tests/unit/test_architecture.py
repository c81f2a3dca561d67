"""The package's shape, read from its source: small modules, no import cycle at any depth, no reaching into a sibling's privates.

Every import counts, at module level and inside functions (a lazy import is
still a dependency), except those under ``if TYPE_CHECKING:``.  The import
layers themselves are import-linter's contracts (pyproject.toml, in CI).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mcpomni_jupyter"
ROOT = PACKAGE.parent
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every runtime import of ``module`` inside the package."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    skipped = _type_checking_lines(tree)
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("mcpomni_jupyter")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package
                package = _package_of(module).split(".")
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            if base.startswith("mcpomni_jupyter"):
                found.append((base, [a.name for a in node.names], node.lineno))
    return found


def _edges(module: str) -> set[str]:
    """The package's modules that ``module`` imports (``from pkg import submodule`` is an edge to the submodule)."""
    out = set()
    for base, names, _ in _imports(module):
        subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
        out.update(subs)
        if len(subs) < len(names) or not names:
            out.add(base)
    out.discard(module)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return components


def test_no_module_is_over_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (each is doing two jobs): {long}"


def test_no_import_cycle_at_any_depth():
    assert _cycles({m: _edges(m) & MODULES.keys() for m in MODULES}) == []


def _reaching(module: str, imports: list[tuple[str, list[str], int]]) -> list[str]:
    """The imports of private names (``_x``) from a module of another package."""
    own = _package_of(module)
    out = []
    for base, names, line in imports:
        target_package = base if base in MODULES and MODULES[base].name == "__init__.py" else base.rpartition(".")[0]
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private and target_package != own:
            out.append(f"{module}:{line} imports {', '.join(private)} from {base}")
    return out


def test_no_module_imports_a_private_name_of_another_package():
    assert [line for m in MODULES for line in _reaching(m, _imports(m))] == []


def test_the_checks_can_fail():
    """Each check finds what it looks for in made-up input."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    reach = _reaching("mcpomni_jupyter.core.operations", [("mcpomni_jupyter.core.session.session", ["_relay", "Session"], 3)])
    assert reach == ["mcpomni_jupyter.core.operations:3 imports _relay from mcpomni_jupyter.core.session.session"]
    assert _reaching("mcpomni_jupyter.core.session.connection", [("mcpomni_jupyter.core.session.session", ["_x"], 1)]) == []
    assert "mcpomni_jupyter.core.session.session" in _edges("mcpomni_jupyter.core.session.connection")
