"""`sdf-lsp check` as CI pipelines and Makefiles run it: standard input, folders, SARIF and
GitHub output, code selection, exit status, colour, sdf-lsp.toml and its precedence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdf_lsp.cli import main
from sdf_lsp.cli.printer import github_data, github_property
from sdf_lsp.codes import CODES
from tests.conftest import ROOT, SHARED

BROKEN = ROOT / "examples/echo/echo_broken.system"
FIXED = ROOT / "examples/echo/echo.system"
SDK = SHARED / "golden" / "sdk"
SARIF_SCHEMA = ROOT / "tests/fixtures/sarif/sarif-2.1.0-subset.schema.json"

#: A system with one warning (MK-W1: the region `spare` is mapped nowhere) and no error.
WARNS = (
    "<system>\n"
    '    <memory_region name="m" size="0x1000" />\n'
    '    <memory_region name="spare" size="0x1000" />\n'
    '    <protection_domain name="p">\n'
    '        <program_image path="p.elf" />\n'
    '        <map mr="m" vaddr="0x2000000" />\n'
    "    </protection_domain>\n"
    "</system>\n"
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("MICROKIT_SDK", "MICROKIT_BOARD", "MICROKIT_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def sdf_lsp(capsys, *argv) -> tuple[int, str, str]:
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # usage errors exit through argparse
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def process(*argv, input: str | None = None, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MICROKIT_") and k != "NO_COLOR"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sdf_lsp", *map(str, argv)],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- stdin and folders


@pytest.mark.e2e
def test_standard_input(tmp_path):
    p = process("check", "--format", "json", "-", input=BROKEN.read_text())
    assert p.returncode == 1
    diags = json.loads(p.stdout)
    assert {d["file"] for d in diags} == {"-"} and len([d for d in diags if d["severity"] == "error"]) == 4
    # --stdin-filename names it, and finds its sdf-lsp.toml and its folder's files
    write(tmp_path / "proj" / "sdf-lsp.toml", '[diagnostics]\nignore = ["MK-W1"]\n')
    named = tmp_path / "proj" / "sub" / "w.system"
    p = process("check", "--format", "json", "--stdin-filename", named, "-", input=WARNS)
    assert p.returncode == 0 and [d for d in json.loads(p.stdout) if d["code"] == "MK-W1"] == []
    p = process("check", "--stdin-filename", tmp_path / "elsewhere.system", "-", input=WARNS)
    assert f"{tmp_path / 'elsewhere.system'}:3:" in p.stdout and "[MK-W1]" in p.stdout


@pytest.mark.e2e
def test_standard_input_finds_prefill_files_beside_its_name(tmp_path):
    text = WARNS.replace('name="m" size="0x1000"', 'name="m" prefill_path="fill.bin"')
    write(tmp_path / "fill.bin", "x" * 10)
    assert process("check", "-", input=text, cwd=ROOT).returncode == 1  # not in the working directory
    assert process("check", "--stdin-filename", tmp_path / "s.system", "-", input=text).returncode == 0


def test_a_folder_checks_every_system_below_it(tmp_path, capsys):
    for rel in (
        "b.system",
        "a/x.system",
        "a/b/y.system",
        ".hidden/h.system",
        "build/o.system",
        "node_modules/n.system",
    ):
        write(tmp_path / rel, WARNS)
    write(tmp_path / "out" / "z.system", WARNS)
    write(tmp_path / "out" / ".sdf-lsp-build.json", '{"files": []}')  # a folder a build wrote
    write(tmp_path / "notes.txt", "")
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "json", tmp_path)
    files = list(dict.fromkeys(d["file"] for d in json.loads(out)))  # in the order checked
    assert rc == 0 and [os.path.relpath(f, tmp_path) for f in files] == ["a/b/y.system", "a/x.system", "b.system"]


def test_a_configured_out_dir_is_skipped(tmp_path, capsys):
    write(tmp_path / "sdf-lsp.toml", '[build]\nout-dir = "images"\n')
    write(tmp_path / "s.system", FIXED.read_text())
    write(tmp_path / "images" / "copy.system", BROKEN.read_text())
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "json", tmp_path)
    assert rc == 0 and {d["file"] for d in json.loads(out)} <= {str(tmp_path / "s.system")}


def test_an_empty_folder_says_so(tmp_path, capsys):
    rc, _, err = sdf_lsp(capsys, "check", tmp_path)
    assert rc == 0 and "no *.system files" in err


# --------------------------------------------------------------------------- formats


def test_json_stays_the_contract(capsys):
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "json", BROKEN)
    assert rc == 1
    for d in json.loads(out):
        assert set(d) <= {"file", "range", "severity", "code", "message", "related"}


def test_sarif_is_valid_sarif_2_1_0(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "sarif", BROKEN, FIXED)
    assert rc == 1
    log = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(log, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sdf-lsp" and [r["id"] for r in driver["rules"]][: len(CODES)] == list(CODES)
    results = run["results"]
    assert {r["level"] for r in results} >= {"error"}
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(".system")
    # the same places as the text form, 1-based
    mk_r7 = next(r for r in results if r["ruleId"] == "MK-R7")
    assert mk_r7["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 8,
        "startColumn": 41,
        "endLine": 8,
        "endColumn": 47,
    }
    g9 = next(r for r in results if r["ruleId"] == "MK-G9")
    assert [loc["message"]["text"] for loc in g9["relatedLocations"]] == [
        "priority of 'echo_server'",
        "priority of 'client'",
    ]
    assert g9["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 20


def test_github_workflow_commands(tmp_path, capsys):
    odd = write(tmp_path / "we,ird:name%.system", BROKEN.read_text())
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "github", odd)
    assert rc == 1
    lines = out.splitlines()
    assert len(lines) == 4 and all(line.startswith("::error file=") for line in lines)
    escaped = str(odd).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert lines[0] == (
        f"::error file={escaped},line=8,col=41,endLine=8,endColumn=47,title=MK-R7::"
        "size is not a multiple of the page size on element 'memory_region'"
    )
    g9 = next(line for line in lines if "title=MK-G9" in line)
    assert "%0A" in g9 and "\n" not in g9 and ": note: priority of 'client'" in g9  # data keeps ':'
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "github", tmp_path / "w.system")
    write(tmp_path / "w.system", WARNS)
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "github", tmp_path / "w.system")
    assert rc == 0 and out.startswith("::warning file=") and "title=MK-W1::" in out


def test_github_escaping_as_the_toolkit_does():
    assert github_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert github_property("50% a\r\nb: c, d") == "50%25 a%0D%0Ab%3A c%2C d"


def test_notes_are_unindented_gcc_lines(capsys):
    _, out, _ = sdf_lsp(capsys, "check", BROKEN)
    notes = [line for line in out.splitlines() if ": note: " in line]
    assert notes and all(line.startswith(f"{BROKEN}:") for line in notes)


# --------------------------------------------------------------------------- what counts


def test_select_ignore_and_exit_status(tmp_path, capsys):
    w = write(tmp_path / "w.system", WARNS)
    assert sdf_lsp(capsys, "check", BROKEN)[0] == 1
    assert sdf_lsp(capsys, "check", "--ignore", "MK-R7,MK-MAP1", "--ignore", "MK-G", BROKEN)[0] == 0
    rc, out, _ = sdf_lsp(capsys, "check", "--select", "MK-G9", BROKEN)
    assert rc == 1 and [line for line in out.splitlines() if "error:" in line][0].endswith("[MK-G9]")
    assert sdf_lsp(capsys, "check", "--select", "UT", BROKEN)[0] == 0
    assert sdf_lsp(capsys, "check", "--exit-zero", BROKEN)[0] == 0
    assert sdf_lsp(capsys, "check", w)[0] == 0
    assert sdf_lsp(capsys, "check", "--warnings-as-errors", w)[0] == 1
    assert sdf_lsp(capsys, "check", "--warnings-as-errors", "--ignore", "MK-W1", w)[0] == 0
    rc, _, err = sdf_lsp(capsys, "check", "--ignore", "NOPE1", w)
    assert rc == 2 and "unknown diagnostic code 'NOPE1'" in err


def test_quiet_prints_only_errors(tmp_path, capsys):
    w = write(tmp_path / "w.system", WARNS)
    rc, out, err = sdf_lsp(capsys, "check", "-q", w, BROKEN)
    assert rc == 1 and "warning" not in out and out.count("error:") == 4 and err == ""


@pytest.mark.e2e
def test_colour(tmp_path):
    plain = process("check", BROKEN).stdout
    assert "\x1b[" not in plain  # not a terminal
    coloured = process("check", "--color", "always", BROKEN).stdout
    assert "\x1b[1;31merror:\x1b[0m" in coloured
    assert process("check", "--color", "never", BROKEN).stdout == plain
    # on a terminal: colour unless NO_COLOR
    import pty

    def on_tty(env):
        out = b""
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "sdf_lsp", "check", str(BROKEN)], env)
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        return out.decode()

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm"
    assert "\x1b[1;31m" in on_tty(env)
    assert "\x1b[" not in on_tty({**env, "NO_COLOR": "1"})


# --------------------------------------------------------------------------- sdf-lsp.toml


def target_line(err: str) -> str:
    return next(line for line in err.splitlines() if ": target " in line)


def test_verbose_says_which_file_and_target(tmp_path, capsys):
    s = write(tmp_path / "p" / "s.system", FIXED.read_text())
    _, _, err = sdf_lsp(capsys, "check", "-v", s)
    assert "no sdf-lsp.toml: target qemu_virt_aarch64 (release)" in target_line(err)
    toml = write(tmp_path / "sdf-lsp.toml", '[target]\nboard = "odroidc4"\nconfig = "debug"\n')
    _, _, err = sdf_lsp(capsys, "check", "-v", s)
    assert target_line(err).startswith(f"sdf-lsp: {toml}: target odroidc4 (debug)")
    assert f"board odroidc4 (from {toml})" in err


def test_precedence_command_line_environment_file_defaults(tmp_path, capsys, monkeypatch):
    s = write(tmp_path / "s.system", FIXED.read_text())
    write(tmp_path / "sdf-lsp.toml", '[target]\nboard = "odroidc4"\nconfig = "debug"\n')

    def target(*extra):
        rc, _, err = sdf_lsp(capsys, "check", "-v", *extra, s)
        assert rc == 0, err
        return target_line(err).split(": target ")[1].split(" (", 2)[:2]

    assert target() == ["odroidc4", "debug)"]  # the file
    monkeypatch.setenv("MICROKIT_BOARD", "maaxboard")
    assert target() == ["maaxboard", "debug)"]  # the environment over the file
    monkeypatch.setenv("MICROKIT_CONFIG", "benchmark")
    assert target() == ["maaxboard", "benchmark)"]
    assert target("--board", "zcu102", "--config", "release") == ["zcu102", "release)"]  # the command line
    monkeypatch.delenv("MICROKIT_BOARD")
    monkeypatch.delenv("MICROKIT_CONFIG")
    (tmp_path / "sdf-lsp.toml").unlink()
    assert target() == ["qemu_virt_aarch64", "release)"]  # the defaults


def test_microkit_sdk_from_the_environment(tmp_path, capsys, monkeypatch):
    s = write(tmp_path / "s.system", FIXED.read_text())
    monkeypatch.setenv("MICROKIT_SDK", str(SDK))
    monkeypatch.setenv("MICROKIT_CONFIG", "debug")
    _, _, err = sdf_lsp(capsys, "check", "-v", s)
    assert "target qemu_virt_aarch64 (debug) (sdk: " in target_line(err) and "from MICROKIT_SDK" in err
    # an SDK without the board named elsewhere is left out, and -v says so
    _, _, err = sdf_lsp(capsys, "check", "-v", "--board", "odroidc4", s)
    assert "target odroidc4" in target_line(err) and "MICROKIT_SDK" in err and "not used" in err


def test_the_file_configures_dialect_search_paths_and_diagnostics(tmp_path, capsys):
    write(
        tmp_path / "sdf-lsp.toml",
        'dialect = "microkit-2.3"\nsearch-paths = ["data"]\n'
        '[diagnostics]\nignore = ["MK-R7"]\n[diagnostics.severity]\n"MK-W1" = "error"\n',
    )
    write(tmp_path / "data" / "fill.bin", "x" * 10)
    s = write(
        tmp_path / "sub" / "s.system",
        WARNS.replace('name="m" size="0x1000"', 'name="m" prefill_path="fill.bin"'),
    )
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "json", s)
    diags = json.loads(out)
    assert rc == 1 and [(d["code"], d["severity"]) for d in diags if d["code"] != "SDF016"] == [("MK-W1", "error")]
    assert sdf_lsp(capsys, "check", "--ignore", "MK-W1", s)[0] == 0  # the command line adds to the file's ignore
    ext = write(
        tmp_path / "sub" / "e.system", WARNS.replace("</system>", '<untyped name="u" size_bits="12" />\n</system>')
    )
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "json", ext)
    assert "EX001" in {d["code"] for d in json.loads(out)}
    rc, out, _ = sdf_lsp(capsys, "check", "--format", "json", "--dialect", "extended", ext)
    assert "EX001" not in {d["code"] for d in json.loads(out)}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[target\n", 1, "not valid TOML"),
        ("[diagnostic]\nignore = []\n", 1, "unknown key 'diagnostic' at the top level"),
        ("[target]\nboard = true\n", 2, "[target] board must be a non-empty string, got true"),
        ("[target]\nconfig = 'debug'\nboard = 'no_such_board'\n", 3, "unknown board 'no_such_board'"),
    ],
)
def test_a_broken_file_is_one_error_and_exit_2(tmp_path, capsys, text, line, words):
    toml = write(tmp_path / "sdf-lsp.toml", text)
    s = write(tmp_path / "s.system", FIXED.read_text())
    rc, out, err = sdf_lsp(capsys, "check", "--format", "json", s)
    assert rc == 2 and out == ""
    [message] = err.splitlines()
    assert message.startswith(f"{toml}:{line}:") and ": error: " in message and words in message


def test_a_target_the_file_names_that_cannot_be_used_is_its_error(tmp_path, capsys):
    toml = write(tmp_path / "sdf-lsp.toml", "\n[target]\nboard = 'kria_k26'\nconfig = 'smp-debug'\n")
    s = write(tmp_path / "s.system", FIXED.read_text())
    rc, _, err = sdf_lsp(capsys, "check", s)
    assert rc == 2 and err.startswith(f"{toml}:4:1: error: [target] config: ")
    # the same parts from the command line are a usage error
    rc, _, err = sdf_lsp(capsys, "check", "--board", "kria_k26", "--config", "smp-debug", FIXED)
    assert rc == 2 and err.startswith("sdf-lsp: ")


# --------------------------------------------------------------------------- suppression comments


def test_suppression_comments_through_the_command_line(tmp_path, capsys):
    silenced = WARNS.replace(
        '    <memory_region name="spare"', '    <!-- sdf-lsp: ignore MK-W1 -->\n    <memory_region name="spare"'
    )
    rc, out, _ = sdf_lsp(capsys, "check", "--warnings-as-errors", write(tmp_path / "a.system", silenced))
    assert rc == 0 and out == ""
    useless = WARNS.replace('<map mr="m"', '<!-- sdf-lsp: ignore MK-W1 -->\n<map mr="m"')
    rc, out, _ = sdf_lsp(capsys, "check", write(tmp_path / "b.system", useless))
    assert rc == 0
    assert f"{tmp_path / 'b.system'}:6:30: warning: 'sdf-lsp: ignore' of 'MK-W1' silences nothing" in out
    assert "[SUP001]" in out
    assert "[MK-W1]" in out


# --------------------------------------------------------------------------- search paths


def test_the_working_directory_is_searched_before_the_sdf_folder(tmp_path, capsys, monkeypatch):
    text = WARNS.replace('name="m" size="0x1000"', 'name="m" size="0x1000" prefill_path="fill.bin"')
    s = write(tmp_path / "project" / "s.system", text)
    write(tmp_path / "project" / "fill.bin", "x" * 0x2000)  # too large for the region
    write(tmp_path / "cwd" / "fill.bin", "x" * 10)
    monkeypatch.chdir(tmp_path / "cwd")
    assert sdf_lsp(capsys, "check", s)[0] == 0  # the working directory's file
    monkeypatch.chdir(tmp_path)
    rc, out, _ = sdf_lsp(capsys, "check", s)
    assert rc == 1 and "[MK-R7]" in out  # the SDF's folder's file
    rc, _, _ = sdf_lsp(capsys, "check", "--search-path", tmp_path / "nowhere", tmp_path / "cwd", s)
    assert rc == 0  # several search paths after one flag, and the system after them


def test_a_broken_file_stops_the_run_before_any_output(tmp_path, capsys):
    write(tmp_path / "bad" / "sdf-lsp.toml", "[target]\nboard = 1\n")
    good = write(tmp_path / "good" / "s.system", BROKEN.read_text())
    bad = write(tmp_path / "bad" / "s.system", BROKEN.read_text())
    rc, out, err = sdf_lsp(capsys, "check", good, bad)
    assert (rc, out) == (2, "") and err.startswith(f"{tmp_path / 'bad' / 'sdf-lsp.toml'}:2:")
