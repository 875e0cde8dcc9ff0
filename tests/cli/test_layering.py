"""The command line sits on top: nothing else in the package imports it, and both ways of
starting it (`sdf-lsp`, `python -m sdf_lsp`) reach the same `main`."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from sdf_lsp import cli
from tests.conftest import ROOT

PACKAGE = ROOT / "sdf_lsp"


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file under `root` imports, relative imports resolved, `from a import b`
    as both a and a.b."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def test_the_resolver_sees_every_spelling(tmp_path):
    f = tmp_path / "sdf_lsp" / "graph" / "x.py"
    f.parent.mkdir(parents=True)
    f.write_text("import sdf_lsp.cli.load\nfrom sdf_lsp import cli\nfrom ..cli import main\nfrom . import dot\n")
    found = {m for m in imported_modules(f, tmp_path) if m.startswith("sdf_lsp.cli")}
    assert found == {"sdf_lsp.cli.load", "sdf_lsp.cli", "sdf_lsp.cli.main"}


def test_no_module_outside_the_cli_imports_it():
    outside = [p for p in PACKAGE.rglob("*.py") if PACKAGE / "cli" not in p.parents and p != PACKAGE / "__main__.py"]
    assert PACKAGE / "backend" / "build.py" in outside and PACKAGE / "graph" / "__init__.py" in outside
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if m == "sdf_lsp.cli" or m.startswith("sdf_lsp.cli.")
        )
        for p in outside
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.e2e
def test_console_script_and_module_start_the_same_main():
    [script] = [ep for ep in entry_points(group="console_scripts") if ep.name == "sdf-lsp"]
    assert script.value == "sdf_lsp.cli:main" and script.load() is cli.main
    for module in ("sdf_lsp", "sdf_lsp.cli"):
        p = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, cwd=ROOT)
        assert p.returncode == 0 and p.stdout.startswith("sdf-lsp "), (module, p.stderr)
