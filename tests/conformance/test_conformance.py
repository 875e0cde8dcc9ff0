"""The shared conformance suites, scored by `../shared/tools/conformance.py` itself.

The scorer runs the checker as `CMD check --target ... --format json FILE...`, once per
target config. Here it runs `sdf-lsp check` in this process: conformance.py's own
`subprocess.run` is handed a stand-in that calls `sdf_lsp.cli.main` with the same argv and
gives back the exit status, stdout and stderr, so the scorer's batching, parsing and
judging are used unchanged. One suite also runs through a real `sdf-lsp` process.
"""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import ModuleType

import pytest

from sdf_lsp.cli import main

from ..conftest import SHARED

SUITES = {
    "conformance/upstream-tests": 149,
    "corpus/real": 84,
    "corpus/microkit-examples": 17,
    "corpus/generated": 8,
}
#: Every earlier release's verdicts on the upstream suite (made by that release's own parser),
#: scored in that release's dialect: cases (x86_64 before 2.1 is `unsupported`, left out).
RELEASES = {"1.4": 98, "2.0": 98, "2.1": 149, "2.2": 149}
COMMAND = "sdf-lsp"
SCORE = re.compile(r"^conformance: (\d+)/(\d+) ", re.MULTILINE)


class InProcess:
    """What conformance.py needs of the `subprocess` module, running `sdf-lsp` in this process."""

    TimeoutExpired = subprocess.TimeoutExpired

    @staticmethod
    def run(argv: list[str], **_kw) -> subprocess.CompletedProcess:
        assert argv[0] == COMMAND, argv
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                status = main(argv[1:])
            except SystemExit as stop:  # usage errors exit 2, as the command does
                status = stop.code if isinstance(stop.code, int) else 2
        return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def scorer(shared) -> ModuleType:
    spec = importlib.util.spec_from_file_location("shared_conformance", shared / "tools" / "conformance.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score(
    scorer: ModuleType, suite: str, cmd: str, monkeypatch, capsys, extra: tuple[str, ...] = ()
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["conformance.py", str(SHARED / suite), "--cmd", cmd, "--verbose", *extra])
    status = scorer.main()
    out = capsys.readouterr().out
    return status, out


@pytest.mark.parametrize(
    ("suite", "cases"),
    # the generated systems (up to 3.3 MB) take seconds
    [pytest.param(s, n, marks=pytest.mark.slow) if "generated" in s else (s, n) for s, n in SUITES.items()],
    ids=list(SUITES),
)
def test_full_score(scorer, suite, cases, monkeypatch, capsys):
    monkeypatch.setattr(scorer, "subprocess", InProcess)
    status, out = score(scorer, suite, COMMAND, monkeypatch, capsys)
    (passed, total) = map(int, SCORE.findall(out)[-1])
    assert (passed, total) == (cases, cases), out
    assert status == 0, out


@pytest.mark.parametrize(("release", "cases"), RELEASES.items(), ids=list(RELEASES))
def test_each_releases_score(scorer, release, cases, monkeypatch, capsys):
    monkeypatch.setattr(scorer, "subprocess", InProcess)
    extra = ("--expected", f"expected-{release}.json", "--dialect", f"microkit-{release}")
    status, out = score(scorer, "conformance/upstream-tests", COMMAND, monkeypatch, capsys, extra)
    (passed, total) = map(int, SCORE.findall(out)[-1])
    assert (passed, total) == (cases, cases), out
    assert status == 0, out


@pytest.mark.e2e
def test_full_score_through_the_command(scorer, monkeypatch, capsys):
    """The same scorer with a real `sdf-lsp` process (`python -m sdf_lsp`) on the examples."""
    status, out = score(scorer, "corpus/microkit-examples", f"{sys.executable} -m sdf_lsp", monkeypatch, capsys)
    assert SCORE.findall(out)[-1] == ("17", "17"), out
    assert status == 0, out


#: Real-world files without an error in each release's dialect (corpus/real: 228 files). The
#: manifest's `microkit_accepts` says by element and attribute names alone which releases take a
#: file; a release's parser may still reject one of those for a semantic rule (1.4: a second
#: vCPU, overlapping maps; every release: the 5 files the 2.3 suite rejects too).
CLEAN_REAL_FILES = {"1.4": 129, "2.0": 70, "2.1": 83, "2.2": 84, "2.3": 84}


@pytest.mark.parametrize(("release", "clean"), CLEAN_REAL_FILES.items(), ids=list(CLEAN_REAL_FILES))
def test_real_files_per_release(release, clean, capsys):
    import csv
    import json

    root = SHARED / "corpus" / "real"
    rows = list(csv.DictReader((root / "manifest.tsv").open(), delimiter="\t"))
    configs = {e["file"]: e["config"] for e in json.loads((root / "expected.json").read_text())}
    by_config: dict[str, list[str]] = {}
    for r in rows:
        by_config.setdefault(configs.get(r["file"], "aarch64"), []).append(str(root / r["file"]))
    with_errors: set[str] = set()
    for config, files in by_config.items():
        target = str(root / "targets" / f"{config}.json")
        main(["check", "--target", target, "--dialect", f"microkit-{release}", "--format", "json", *files])
        diags = json.loads(capsys.readouterr().out)
        with_errors |= {d["file"] for d in diags if d["severity"] == "error"}
    rejected_by_names = {str(root / r["file"]) for r in rows if release not in r["microkit_accepts"].split(",")}
    assert not rejected_by_names - with_errors, "files this release rejects by their names alone"
    assert len(rows) - len(with_errors) == clean
