"""Emacs end to end: Debian's headless Emacs with eglot (the README's configuration) opens a
`.system` file in a folder without .venv, with `sdf-lsp` on PATH, and gets its diagnostics."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require
from tests.editors.conftest import ROOT

pytestmark = pytest.mark.editor

SCRIPT = Path(__file__).with_name("emacs_e2e.el")
EMACS = shutil.which("emacs") or "/usr/bin/emacs"
# The README writes `sdf-lsp serve --stdio`; `serve` speaks stdio by default, so the test runs
# the command every installed version accepts.
SERVER = "sdf-lsp serve --stdio"


def test_eglot_shows_the_diagnostics(tmp_path):
    require(os.path.exists(EMACS), "emacs is missing (apt-get install emacs-nox elpa-eglot)")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), SDF_LSP_CMD=SERVER)
    probe = subprocess.run([EMACS, "--batch", "--eval", "(require 'eglot)"], capture_output=True, env=env, check=False)
    require(probe.returncode == 0, "eglot is missing (Emacs 29+, or apt-get install elpa-eglot)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(ROOT / ".venv" / "bin" / "sdf-lsp", bin_dir / "sdf-lsp")
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "examples" / "echo" / "echo_broken.system", project)
    out = tmp_path / "diagnostics.txt"
    proc = subprocess.run(
        [EMACS, "--batch", "-l", str(SCRIPT), "echo_broken.system", str(out)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = out.read_text()
    assert "29:17: eglot-error: sdf-lsp [MK-MAP1]: invalid memory region name 'echo_bufer' on 'map'" in text, text
    assert len(text.splitlines()) == 4, text  # the example's four deliberate mistakes
