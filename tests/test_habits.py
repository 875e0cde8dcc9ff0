"""The project's habits, as the test command runs them: ruff (lint and format) over the whole
repository as `pyproject.toml` configures it, and mypy over the analysis core it lists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _tool(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"{module} is not installed: it is in the [test] extra (pip install -e '.[test]')")


def test_ruff_check_is_clean():
    _tool("ruff")
    r = _run("ruff", "check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_check_is_clean():
    _tool("ruff")
    r = _run("ruff", "format", "--check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_on_the_analysis_core_is_clean():
    _tool("mypy")
    r = _run("mypy", "--no-incremental")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout
