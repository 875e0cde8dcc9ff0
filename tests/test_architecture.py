"""ARCHITECTURE.md's import rules, enforced: which layer may import which, no import cycles, and
an analysis core that does no I/O and knows nothing of LSP.

Imports are read from the source (module level and inside functions alike). A module importing its
own parent package (`from sdf_lsp.backend import spec` inside `sdf_lsp.backend.build`) is not a
dependency on that package's `__init__`.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sdf_lsp"

#: Every layer (a top-level module or package of sdf_lsp) and the layers it may import.
CORE = {
    "syntax",
    "schema",
    "codes",
    "diagnostics",
    "memo",
    "model",
    "resolve",
    "layout",
    "checks",
    "analysis",
    "target",
}
ALLOWED: dict[str, set[str]] = {
    "syntax": set(),
    "schema": set(),
    "codes": set(),
    "memo": set(),
    "diagnostics": {"syntax"},
    "target": {"files"},  # reads target JSON and SDK files through the guarded reader
    "model": {"syntax", "schema", "diagnostics", "target"},
    "resolve": {"syntax", "schema", "model", "memo"},
    "layout": {"model", "resolve", "target", "memo"},
    "checks": {"syntax", "diagnostics", "model", "resolve", "layout", "target", "memo"},
    "analysis": {"syntax", "diagnostics", "model", "resolve", "layout", "checks", "memo", "target"},
    "elf": set(),
    "image": {"elf"},
    "files": {"resolve", "elf"},
    "xsd": {"schema"},
    "backend": CORE | {"elf", "image", "files"},
    "graph": CORE | {"elf", "files"},
    "ide": CORE | {"elf", "files", "suppress"},
    "suppress": {"syntax", "diagnostics", "codes"},
    "config": {"schema", "target", "files", "suppress"},
    "settings": {"schema", "target", "files", "config", "suppress"},
    "serverlog": set(),
    "server": CORE | {"elf", "files", "ide", "graph", "backend", "settings", "serverlog", "config", "suppress"},
    "cli": CORE
    | {"elf", "files", "ide", "graph", "backend", "settings", "server", "serverlog", "xsd", "config", "suppress"},
    "__main__": {"cli"},
}
#: Checks may not be read by the build or the pictures: they read the layout.
NEVER = {"backend": {"checks"}, "graph": {"checks"}}
#: Third-party modules the core must not import (protocol types, I/O).
CORE_FORBIDDEN = {"pygls", "lsprotocol", "subprocess", "socket", "shutil", "tempfile", "pathlib", "elftools"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text())


def _imports(name: str) -> set[str]:
    """Modules `name` imports: sdf_lsp ones resolved to the deepest existing module, others as the top name."""
    is_pkg = MODULES[name].name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(_tree(name)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES]
            targets = subs if len(subs) == len(node.names) else [mod, *subs]
        for t in targets:
            if t.startswith("sdf_lsp"):
                while t not in MODULES and "." in t:
                    t = t.rpartition(".")[0]
                if t != name and not name.startswith(t + "."):
                    out.add(t)
            else:
                out.add(t.split(".")[0])
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "sdf_lsp"


def test_every_layer_is_known():
    layers = {_layer(m) for m in MODULES} - {"sdf_lsp"}
    assert layers <= set(ALLOWED), sorted(layers - set(ALLOWED))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_import_only_what_they_may(module):
    layer = _layer(module)
    if layer == "sdf_lsp":
        return
    used = {_layer(m) for m in _imports(module) if m.startswith("sdf_lsp.")} - {layer}
    assert used <= ALLOWED[layer], f"{module} imports {sorted(used - ALLOWED[layer])}"
    assert not used & NEVER.get(layer, set()), f"{module} imports {sorted(used & NEVER[layer])}"
    if layer in CORE - {"target"}:
        foreign = {m for m in _imports(module) if not m.startswith("sdf_lsp")} & CORE_FORBIDDEN
        assert not foreign, f"the analysis core must not import {sorted(foreign)} ({module})"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in CORE - {"target"}))
def test_the_core_does_no_io(module):
    """No `open()`, no file-system calls of `os`: files come in through `FileAccess`."""
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in ("open", "input", "print"):
                pytest.fail(f"{module}:{node.lineno} calls {f.id}()")
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("os", "io", "sys"):
                pytest.fail(f"{module}:{node.lineno} calls {f.value.id}.{f.attr}()")


def test_no_import_cycles():
    graph = {m: {t for t in _imports(m) if t in MODULES} for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    assert not cycles, cycles


def test_architecture_md_names_every_layer():
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    for layer in ALLOWED:
        if layer != "__main__":
            assert f"sdf_lsp/{layer}" in text, f"ARCHITECTURE.md does not describe {layer}"
