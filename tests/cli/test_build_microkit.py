"""`sdf-lsp build` with microkit's own options, in a Makefile's working directory: the image,
report and spec exactly where microkit writes them, its warnings and summary on stdout."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sdf_lsp.cli import main
from tests.backend.golden import BOARD, GOLDEN, SDK, golden_json
from tests.conftest import require


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("MICROKIT_SDK", "MICROKIT_BOARD", "MICROKIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def project(tmp_path: Path, monkeypatch, system: str) -> Path:
    """The golden run's working directory: the system, its prefill files, `elf/` with its images."""
    require(GOLDEN.is_dir(), f"{GOLDEN} is missing")
    work = tmp_path / system
    shutil.copytree(
        GOLDEN / "systems" / system,
        work,
        ignore=shutil.ignore_patterns("release", "*.json", "*.txt", "*.rkyv", "frame_data.bin"),
    )
    shutil.copytree(GOLDEN / "elf" / system, work / "elf")
    monkeypatch.chdir(work)
    return work


def sdf_lsp(capsys, *argv) -> tuple[int, str, str]:
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.slow
def test_microkit_spelling_writes_what_microkit_writes(tmp_path, monkeypatch, capsys):
    work = project(tmp_path, monkeypatch, "setvar")
    golden = golden_json("setvar", "debug", "result.json")
    argv = golden["command"][1:]  # microkit's own command line, as the golden run used it
    assert argv[:2] == ["setvar.system", "--board"] and "--capdl-json" in argv
    rc, out, err = sdf_lsp(capsys, "build", *argv, "--sdk", SDK)
    assert rc == 0, err
    assert out == golden["stdout"]  # its WARNING lines and its closing summary, exactly
    assert json.loads((work / "capdl.json").read_text()) == golden_json("setvar", "debug", "capdl.json")
    assert (work / "report.txt").read_text() == (GOLDEN / "systems" / "setvar" / "report.txt").read_text()
    assert (work / "loader.img").stat().st_size == golden["outputs"]["loader.img"]["size"]
    assert sorted(p.name for p in work.iterdir() if not p.name.startswith(".")) == sorted(
        ["setvar.system", "elf", "loader.img", "report.txt", "capdl.json"]
    )
    # -q: nothing but errors
    rc, out, err = sdf_lsp(capsys, "build", *argv, "--sdk", SDK, "-q")
    assert (rc, out, err) == (0, "", "")


@pytest.mark.slow
def test_the_environment_names_the_sdk_board_and_config(tmp_path, monkeypatch, capsys):
    work = project(tmp_path, monkeypatch, "hello")
    monkeypatch.setenv("MICROKIT_SDK", str(SDK))
    monkeypatch.setenv("MICROKIT_BOARD", BOARD)
    monkeypatch.setenv("MICROKIT_CONFIG", "release")
    # the images are found in the working directory's elf/ through the search path; the defaults
    # of -o and -r are microkit's
    rc, out, err = sdf_lsp(capsys, "build", "hello.system", "--search-path", "nowhere", "elf")
    assert rc == 0, err
    assert out == golden_json("hello", "release", "result.json")["stdout"]
    assert (work / "report.txt").read_text() == (GOLDEN / "systems" / "hello" / "release" / "report.txt").read_text()
    assert (work / "loader.img").is_file() and not (work / "capdl.json").exists()


@pytest.mark.slow
def test_programs_in_the_working_directory_are_found(tmp_path, monkeypatch, capsys):
    work = project(tmp_path, monkeypatch, "hello")
    for elf in (work / "elf").rglob("*.elf"):  # the images beside the Makefile, no search path
        target = work / elf.relative_to(work / "elf")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(elf, target)
    sdf = tmp_path / "elsewhere" / "hello.system"
    sdf.parent.mkdir()
    shutil.move(work / "hello.system", sdf)
    rc, _, err = sdf_lsp(capsys, "build", sdf, "--sdk", SDK, "--board", BOARD, "--config", "debug", "-q")
    assert rc == 0, err


@pytest.mark.slow
def test_all_or_nothing(tmp_path, monkeypatch, capsys):
    work = project(tmp_path, monkeypatch, "hello")
    (work / "loader.img").write_bytes(b"old image")
    (work / "blocker").write_text("a file where a folder should be")
    rc, _, err = sdf_lsp(
        capsys, "build", "hello.system", "--sdk", SDK, "--board", BOARD, "--config", "debug",
        "--search-path", "elf", "-r", "blocker/report.txt",
    )  # fmt: skip
    assert rc == 1 and "[BLD012]" in err
    assert (work / "loader.img").read_bytes() == b"old image"  # the image written first was not put in place
    assert sorted(p.name for p in work.iterdir()) == [
        "blocker",
        "elf",
        "hello.system",
        "loader.img",
    ]  # no temporary left


@pytest.mark.slow
def test_an_sdf_lsp_toml_names_target_search_paths_and_out_dir(tmp_path, monkeypatch, capsys):
    work = project(tmp_path, monkeypatch, "hello")
    (work / "sdf-lsp.toml").write_text(
        f'search-paths = ["elf"]\n[target]\nsdk = "{SDK}"\nboard = "{BOARD}"\nconfig = "debug"\n[build]\nout-dir = "out"\n'
    )
    monkeypatch.chdir(tmp_path)
    rc, out, err = sdf_lsp(capsys, "build", work / "hello.system")
    assert rc == 0, err
    built = work / "out" / "hello"
    assert json.loads((built / "capdl.json").read_text()) == golden_json("hello", "debug", "capdl.json")
    assert f"into {built}" in out
    # microkit's options name single files instead
    rc, _, err = sdf_lsp(capsys, "build", work / "hello.system", "-o", tmp_path / "img.bin", "-q")
    assert rc == 0 and (tmp_path / "img.bin").is_file() and (tmp_path / "report.txt").is_file()


def test_usage_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sdf = tmp_path / "s.system"
    sdf.write_text('<system><protection_domain name="p"><program_image path="p.elf" /></protection_domain></system>')
    rc, _, err = sdf_lsp(capsys, "build", sdf)
    assert rc == 1 and "--sdk DIR" in err and "MICROKIT_SDK" in err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".sdf-lsp-build.json").write_text("{}")
    rc, _, err = sdf_lsp(capsys, "build", sdf, "-o", "out")
    assert rc == 2 and "is a folder" in err and "--out-dir out" in err
    rc, _, err = sdf_lsp(capsys, "build", sdf, "-o", "a.img", "--out-dir", "x")
    assert rc == 2 and "one or the other" in err
    rc, _, err = sdf_lsp(capsys, "build", sdf, "-o", "same", "-r", "same")
    assert rc == 2 and "different files" in err
    rc, _, err = sdf_lsp(capsys, "build", "--search-path", "a", "b")
    assert rc == 2 and "SYSTEM" in err
    assert not os.listdir(tmp_path / "out")[1:]
