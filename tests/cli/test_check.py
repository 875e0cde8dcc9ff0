"""`sdf-lsp check` exactly as the check contract says."""

import json
import subprocess
import sys

import pytest

from sdf_lsp.cli import main
from tests.conftest import ROOT, SHARED

BROKEN = ROOT / "examples/echo/echo_broken.system"
FIXED = ROOT / "examples/echo/echo.system"


def run(*args):
    """`sdf-lsp` as its own process (tests that call this are marked `e2e`)."""
    return subprocess.run([sys.executable, "-m", "sdf_lsp", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.e2e
def test_json_output_and_exit_status():
    p = run("check", "--format", "json", BROKEN, FIXED)
    assert p.returncode == 1
    diags = json.loads(p.stdout)
    assert isinstance(diags, list)
    errors = [d for d in diags if d["severity"] == "error"]
    assert {d["file"] for d in errors} == {str(BROKEN)}
    assert len(errors) == 4
    for d in diags:
        assert set(d) <= {"file", "range", "severity", "code", "message", "related"}
        r = d["range"]
        assert r["start"]["line"] <= r["end"]["line"] and isinstance(r["start"]["character"], int)
        assert d["severity"] in ("error", "warning", "information", "hint")
    g9 = next(d for d in errors if d["code"] == "MK-G9")
    assert len(g9["related"]) == 2 and g9["related"][0]["file"] == str(BROKEN)


@pytest.mark.e2e
def test_clean_file_exits_zero():
    p = run("check", "--format", "json", FIXED)
    assert p.returncode == 0
    assert all(d["severity"] != "error" for d in json.loads(p.stdout))


@pytest.mark.e2e
def test_text_format_is_one_based():
    p = run("check", BROKEN)
    first = p.stdout.splitlines()[0]
    assert first == f"{BROKEN}:8:41: error: size is not a multiple of the page size on element 'memory_region' [MK-R7]"


@pytest.mark.e2e
def test_unreadable_file_is_a_diagnostic_and_others_are_checked(tmp_path):
    missing = tmp_path / "nope.system"
    p = run("check", "--format", "json", missing, FIXED)
    assert p.returncode == 1
    diags = json.loads(p.stdout)
    assert any(d["file"] == str(missing) and d["code"] == "IO001" for d in diags)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args",
    [
        ["--target", "/nonexistent/target.json"],
        ["--board", "no_such_board"],
        ["--sdk", "/nonexistent/sdk", "--board", "qemu_virt_aarch64"],
        ["--sdk", "/tmp"],
    ],
)
def test_bad_target_exits_2_with_nothing_on_stdout(args):
    p = run("check", *args, "--format", "json", FIXED)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.strip()


@pytest.mark.e2e
def test_malformed_target_names_the_file(tmp_path):
    t = tmp_path / "t.json"
    t.write_text("{not json")
    p = run("check", "--target", t, FIXED)
    assert p.returncode == 2 and str(t) in p.stderr


@pytest.mark.e2e
def test_usage_error_exits_2():
    p = run("check")
    assert p.returncode == 2


@pytest.mark.e2e
def test_target_options():
    for args in (
        ["--board", "qemu_virt_riscv64"],
        ["--board", "x86_64_generic"],
        ["--board", "zcu102", "--config", "debug"],
        ["--sdk", SHARED / "golden/sdk", "--board", "qemu_virt_aarch64", "--config", "debug"],
        ["--target", SHARED / "conformance/upstream-tests/targets/x86_64.json"],
    ):
        p = run("check", *args, "--format", "json", FIXED)
        assert p.returncode in (0, 1), (args, p.stderr)
        json.loads(p.stdout)


@pytest.mark.e2e
def test_search_paths_find_prefill_files(tmp_path):
    sdf = tmp_path / "a.system"
    sdf.write_text(
        '<system><memory_region name="m" prefill_path="data.bin"/>'
        '<protection_domain name="p"><program_image path="p.elf"/><map mr="m" vaddr="0x1000000"/></protection_domain></system>'
    )
    p = run("check", "--format", "json", sdf)
    assert any("unable to find prefill file: 'data.bin'" in d["message"] for d in json.loads(p.stdout))
    data = tmp_path / "sub"
    data.mkdir()
    (data / "data.bin").write_bytes(b"x" * 10)
    p = run("check", "--format", "json", "--search-path", data, sdf)
    assert p.returncode == 0, p.stdout


@pytest.mark.e2e
def test_dialect_microkit_2_3_reports_extensions(tmp_path):
    sdf = tmp_path / "x.system"
    sdf.write_text(
        '<system><untyped name="u" size_bits="20"/><protection_domain name="p" fault_handler="q" fault_id="1">'
        '<program_image path="p.elf"/></protection_domain><protection_domain name="q"><program_image path="q.elf"/>'
        "</protection_domain></system>"
    )
    p = run("check", "--dialect", "microkit-2.3", "--format", "json", sdf)
    ex = [d for d in json.loads(p.stdout) if d["code"] == "EX001"]
    msgs = {d["message"] for d in ex}
    assert "invalid XML element 'untyped' (an sdf-lsp extension)" in msgs
    assert "invalid attribute 'fault_handler' on element 'protection_domain' (an sdf-lsp extension)" in msgs


def test_in_process_main_matches(capsys):
    assert main(["check", "--format", "json", str(FIXED)]) == 0
    assert json.loads(capsys.readouterr().out) is not None
