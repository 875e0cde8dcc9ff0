"""`.pre-commit-hooks.yaml`: the hook runs `sdf-lsp check` on the staged `*.system` files."""

from __future__ import annotations

import re
import shlex

from sdf_lsp.cli import main
from tests.conftest import ROOT

HOOKS = ROOT / ".pre-commit-hooks.yaml"


def hook() -> dict[str, str]:
    """The one hook's scalar keys (the file is flat YAML: `- id: ...` then `key: value` lines)."""
    out = {}
    for line in HOOKS.read_text().splitlines():
        m = re.match(r"^(?:- |  )([a-z_]+): (.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_the_hook_checks_system_files(capsys):
    h = hook()
    assert h["id"] == "sdf-lsp-check" and h["language"] == "python"
    files = re.compile(h["files"])
    assert files.search("systems/echo.system") and not files.search("echo.system.bak")
    argv = shlex.split(h["entry"])
    assert argv[0] == "sdf-lsp"  # the console script the package installs
    # pre-commit appends the file names
    assert main([*argv[1:], str(ROOT / "examples/echo/echo.system")]) == 0
    assert main([*argv[1:], str(ROOT / "examples/echo/echo_broken.system")]) == 1
    capsys.readouterr()
