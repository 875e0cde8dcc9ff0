"""The released package as a user gets it: the wheel built from this tree, installed (not
editable) into a fresh virtual environment, used from a folder outside the repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED, require
from tests.stdio_lsp import StdioServer

pytestmark = pytest.mark.slow
GOLDEN = SHARED / "golden"


def run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run([str(c) for c in cmd], check=False, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT])
    assert r.returncode == 0, r.stderr
    (whl,) = out.glob("sdf_lsp-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh venv with the wheel and the dependencies it declares, and nothing else."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    r = run([sys.executable, "-m", "venv", root])
    assert r.returncode == 0, r.stderr
    r = run([root / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel])
    assert r.returncode == 0, r.stdout + r.stderr
    return root


@pytest.fixture
def user_dir(tmp_path) -> Path:
    """A project folder of the user's, outside the repository, with the examples."""
    d = tmp_path / "project"
    d.mkdir()
    shutil.copy(ROOT / "examples" / "echo" / "echo.system", d)
    shutil.copy(ROOT / "examples" / "echo" / "echo_broken.system", d)
    return d


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MICROKIT_SDK")}
    env.update(extra)
    return env


def test_metadata(wheel):
    z = zipfile.ZipFile(wheel)
    names = z.namelist()
    meta = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["License-Expression"] == "BSD-2-Clause"
    requires = " ".join(meta.get_all("Requires-Dist"))
    for dep in ("pygls", "lsprotocol", "pyelftools", "graphviz"):
        assert dep in requires, dep
    assert "lxml" not in [
        r.split(";")[0].split(">")[0].strip() for r in meta.get_all("Requires-Dist") if "extra" not in r
    ]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls["Homepage"] == "https://github.com/sdf-lsp/sdf-lsp"
    assert len(meta.get_all("Classifier")) >= 8 and meta["Keywords"]
    readme = meta.get_payload()
    # a package index renders the README without the repository: every link is absolute
    relative = [m for m in re.findall(r"\]\(([^)]+)\)", readme) if not m.startswith(("https://", "http://", "#"))]
    assert not relative, relative


def test_check_and_graph(venv, user_dir):
    sdf_lsp = venv / "bin" / "sdf-lsp"
    r = run([sdf_lsp, "check", "echo_broken.system"], cwd=user_dir, env=clean_env())
    assert r.returncode == 1 and "invalid memory region name 'echo_bufer'" in r.stdout, r.stdout + r.stderr
    r = run([sdf_lsp, "check", "echo.system"], cwd=user_dir, env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    require(shutil.which("dot") is not None, "Graphviz's dot is missing (apt-get install graphviz)")
    r = run([sdf_lsp, "graph", "echo.system", "--format", "svg", "-o", "echo.svg"], cwd=user_dir, env=clean_env())
    assert r.returncode == 0, r.stderr
    assert "<svg" in (user_dir / "echo.svg").read_text()


def test_graph_without_dot_says_what_to_install(venv, user_dir, tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH without Graphviz
    bin_dir.mkdir()
    env = clean_env(PATH=str(bin_dir))
    sdf_lsp = venv / "bin" / "sdf-lsp"
    r = run([sdf_lsp, "graph", "echo.system", "--format", "svg", "-o", "echo.svg"], cwd=user_dir, env=env)
    assert r.returncode != 0 and "apt install graphviz" in r.stderr and "brew install graphviz" in r.stderr, r.stderr
    r = run([sdf_lsp, "graph", "echo.system", "--format", "dot", "-o", "echo.dot"], cwd=user_dir, env=env)
    assert r.returncode == 0, r.stderr
    assert (user_dir / "echo.dot").read_text().lstrip().startswith("digraph")


def test_serve(venv, user_dir):
    server = StdioServer([venv / "bin" / "sdf-lsp", "serve"], cwd=user_dir, env=clean_env())
    try:
        result = server.initialize(user_dir.as_uri())
        assert result["serverInfo"]["name"] == "sdf-lsp"
        sdf = user_dir / "echo_broken.system"
        diags = server.open(sdf.as_uri(), sdf.read_text())
        assert any(d["code"] == "MK-MAP1" for d in diags), diags
    finally:
        assert server.close() == 0, server.stderr.decode()


def test_build_with_the_golden_sdk(venv, tmp_path):
    require(GOLDEN.is_dir(), f"{GOLDEN} is missing")
    project = tmp_path / "hello"
    shutil.copytree(GOLDEN / "systems" / "hello", project, ignore=shutil.ignore_patterns("release"))
    shutil.copytree(GOLDEN / "elf" / "hello", project / "elf")
    out = tmp_path / "out"
    r = run(
        [
            venv / "bin" / "sdf-lsp",
            "build",
            "hello.system",
            "--sdk",
            GOLDEN / "sdk",
            "--board",
            "qemu_virt_aarch64",
            "--config",
            "debug",
            "--search-path",
            "elf",
            "--out-dir",
            out,
        ],
        cwd=project,
        env=clean_env(),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "report.txt").read_text() == (GOLDEN / "systems" / "hello" / "report.txt").read_text()
    assert json.loads((out / "capdl.json").read_text()) == json.loads(
        (GOLDEN / "systems" / "hello" / "capdl.json").read_text()
    )
    assert (out / "loader.img").stat().st_size > 0
