"""The layers of the Python package, kept in line the way Cargo keeps tract's crates in line.

Every module's imports (module-level and function-local alike) are parsed and checked against
`ALLOWED`: which parts of the package each part may import, and `EXTERNAL`: which third-party
packages beyond numpy and the standard library it may use. The table is a DAG; so the package
has no import cycles between its parts. Run this file to print the layer graph the code has:

    python3 tests/test_layers.py
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "pytools" / "sparsegate"

# part -> the parts it may import. Bottom to top; the docs/architecture.md map follows it.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "ir": set(),
    "metrics": set(),
    "feeds": {"errors", "ir"},
    "format": {"errors", "ir"},
    "reference": {"errors", "ir"},
    "macs": {"ir", "reference"},
    "onnx_import": {"errors", "ir"},                       # knows ONNX, not the runtime
    "runtime": {"errors"},                                 # runs bytes: no IR, no onnx, no passes
    "passes": {"errors", "ir", "macs", "reference", "feeds", "metrics"},  # IR -> IR, no host
    "vision": {"errors"},
    "zoo": {"errors", "vision"},
    "testing": {"errors", "format", "onnx_import", "runtime"},
    "compression": {"errors", "ir", "feeds", "metrics", "format", "macs", "onnx_import", "runtime",
                    "passes", "vision", "zoo"},
    "train": {"errors", "ir", "macs", "reference", "format", "passes", "vision", "compression"},
    "tools": {"errors", "ir", "macs", "format", "runtime", "passes", "vision", "zoo", "onnx_import",
              "compression", "train"},
}

# part -> third-party packages it may import (numpy and the standard library: everyone).
EXTERNAL: dict[str, set[str]] = {
    "runtime": {"wasmtime", "js", "pyodide"},
    "onnx_import": {"onnx"},
    "testing": {"onnx"},
    "vision": {"PIL", "skimage"},
    "zoo": {"torch"},
    "compression": {"PIL", "tqdm"},
    "train": {"torch", "tqdm"},
    "tools": {"PIL", "matplotlib", "onnx", "playwright", "torch"},
}

ROOT_MODULES = {"__init__", "__main__"}  # the public face: may reach anything (lazily)


def part_of(rel: Path) -> str:
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def module_name(rel: Path) -> list[str]:
    parts = list(rel.with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported name, is function-local) for every import in the file; sparsegate's own
    modules as 'sparsegate.<dotted>', others by their top-level package."""
    rel = path.relative_to(PKG)
    here = module_name(rel)
    package = here if rel.name == "__init__.py" else here[:-1]
    tree = ast.parse(path.read_text(), str(path))
    top = {id(n) for n in tree.body}
    for n in tree.body:  # imports under a module-level `if`/`try` are module-level too
        if isinstance(n, (ast.If, ast.Try)):
            top |= {id(m) for m in ast.walk(n)}
    out = []
    for node in ast.walk(tree):
        local = id(node) not in top
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[0] if not a.name.startswith("sparsegate") else a.name, local)
                    for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                name = node.module
                out.append((node.lineno, name if name.startswith("sparsegate") else name.split(".")[0], local))
                continue
            base = package[:len(package) - (node.level - 1)]
            mod = base + (node.module.split(".") if node.module else [])
            if node.module:
                out.append((node.lineno, ".".join(["sparsegate", *mod]), local))
            else:  # from . import a, b: each name a submodule, or else an attribute of the package
                for a in node.names:
                    sub = PKG.joinpath(*mod, a.name)
                    is_module = sub.is_dir() or sub.with_suffix(".py").exists()
                    out.append((node.lineno, ".".join(["sparsegate", *mod, *([a.name] if is_module else [])]), local))
    return out


def edges() -> dict[str, dict[str, list[str]]]:
    """part -> imported part -> ['file:line', ...] (sparsegate's parts and third-party packages)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        src = part_of(rel)
        for line, name, _ in imports(path):
            if name.startswith("sparsegate"):
                parts = name.split(".")[1:]
                if not parts:
                    continue
                dst = parts[0]
            else:
                if name in sys.stdlib_module_names or name in ("numpy", "__future__"):
                    continue
                dst = name
            if dst != src:
                graph.setdefault(src, {}).setdefault(dst, []).append(f"{rel}:{line}")
    return graph


def test_every_part_is_in_the_table():
    parts = {part_of(p.relative_to(PKG)) for p in PKG.rglob("*.py")} - ROOT_MODULES
    assert parts == set(ALLOWED), f"parts not in ALLOWED: {parts - set(ALLOWED)}; stale: {set(ALLOWED) - parts}"


def test_the_table_has_no_cycles():
    done, order = set(), []

    def visit(part, stack):
        assert part not in stack, f"cycle: {' -> '.join([*stack, part])}"
        if part in done:
            return
        for dep in sorted(ALLOWED[part]):
            visit(dep, [*stack, part])
        done.add(part)
        order.append(part)
    for part in ALLOWED:
        visit(part, [])


def test_imports_follow_the_table():
    bad = []
    for src, deps in edges().items():
        if src in ROOT_MODULES:
            continue
        for dst, where in deps.items():
            ok = dst in ALLOWED[src] if dst in ALLOWED or dst in ROOT_MODULES else dst in EXTERNAL.get(src, set())
            if not ok:
                bad.append(f"{src} -> {dst} ({', '.join(where)})")
    assert not bad, "imports against the layer table:\n  " + "\n  ".join(bad)


def _says_why(lines: list[str], line: int) -> bool:
    """A comment on the import's line or on the lines just above it that open its block (more
    imports, a `try:`, a docstring's end)."""
    k = line - 1
    while k >= 0:
        text = lines[k].strip()
        if "#" in text:
            return True
        if k < line - 1 and not (text.startswith(("import ", "from ", "try:")) or text == ""):
            return False
        k -= 1
    return False


def test_function_local_imports_say_why():
    """A lazy import is for an optional dependency; a comment at it says which."""
    silent = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.stem in ROOT_MODULES and len(rel.parts) == 1:
            continue
        lines = path.read_text().splitlines()
        silent += [f"{rel}:{line} {name}" for line, name, local in imports(path)
                   if local and not _says_why(lines, line)]
    assert not silent, "function-local imports without a reason:\n  " + "\n  ".join(silent)


def layer_graph() -> str:
    """The parts bottom-up (each after what it imports), with what each imports."""
    graph, order, done = edges(), [], set()

    def visit(part):
        if part in done:
            return
        done.add(part)
        for dep in sorted(ALLOWED.get(part, ())):
            visit(dep)
        order.append(part)
    for part in ALLOWED:
        visit(part)
    lines = []
    for part in order:
        deps = graph.get(part, {})
        ours = sorted(d for d in deps if d in ALLOWED)
        theirs = sorted(d for d in deps if d not in ALLOWED)
        lines.append(f"{part:12} <- {', '.join(ours) or '-'}" + (f"   [{', '.join(theirs)}]" if theirs else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    print(layer_graph())
