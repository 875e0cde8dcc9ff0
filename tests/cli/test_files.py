"""`sdf-lsp check` on SDFs that name what cannot be read (a FIFO, `/dev/zero`, a huge file): a
diagnostic at the attribute, in time. Each check runs in a process with a time limit and an
address-space limit, so a hang or a runaway read fails the test instead of blocking it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.golden import BOARD, SDK
from tests.backend.standin import MICROKIT_SYMBOLS, standin_elf
from tests.conftest import ROOT, require

MEMORY = 2 * 2**30  # address space of the checking process: ample for the check, far below a read of /dev/zero


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def sdf_lsp(*args) -> subprocess.CompletedProcess:
    try:
        p = subprocess.run(
            [sys.executable, "-m", "sdf_lsp", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sdf-lsp {' '.join(map(str, args))} did not finish in 60 s")
    assert p.returncode in (0, 1), p.stderr
    return p


def check(*args) -> tuple[int, list[dict]]:
    p = sdf_lsp("check", "--format", "json", *args)
    return p.returncode, json.loads(p.stdout)


def system(tmp_path: Path, prefill: str = "data.bin", image: str = "p.elf") -> Path:
    (tmp_path / "data.bin").write_bytes(b"x" * 16)
    (tmp_path / "p.elf").write_bytes(standin_elf(MICROKIT_SYMBOLS))
    sdf = tmp_path / "s.system"
    sdf.write_text(
        f'<system>\n<memory_region name="m" size="0x1000" prefill_path="{prefill}" />\n'
        f'<protection_domain name="p"><program_image path="{image}" /><map mr="m" vaddr="0x1000000" />'
        "</protection_domain>\n</system>\n"
    )
    return sdf


def column(sdf: Path, needle: str) -> tuple[int, int]:
    """0-based (line, character) of `needle`'s value in the SDF."""
    for n, line in enumerate(sdf.read_text().splitlines()):
        if needle in line:
            return n, line.index(needle) + len(needle)
    raise AssertionError(needle)


def at(d: dict) -> tuple[int, int]:
    return d["range"]["start"]["line"], d["range"]["start"]["character"]


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "fifo.bin"
    os.mkfifo(path)
    return path


def test_the_system_itself_reads_clean(tmp_path):
    rc, diags = check(system(tmp_path))
    assert rc == 0 and not [d for d in diags if d["severity"] in ("error", "warning")], diags


@pytest.mark.parametrize("prefill", ["fifo.bin", "/dev/zero"])
def test_a_prefill_file_that_is_no_regular_file(tmp_path, fifo, prefill):
    sdf = system(tmp_path, prefill=prefill)
    rc, diags = check(sdf)
    assert rc == 1
    [r4] = [d for d in diags if d["code"] == "MK-R4"]
    assert r4["message"] == f"failed to read file '{prefill}' at prefill_path on element 'memory_region'"
    assert at(r4) == column(sdf, 'prefill_path="')


@pytest.mark.parametrize("image", ["fifo.bin", "/dev/zero", "zero.elf"])
def test_a_program_image_that_is_no_regular_file(tmp_path, fifo, image):
    (tmp_path / "zero.elf").symlink_to("/dev/zero")
    sdf = system(tmp_path, image=image)
    rc, diags = check(sdf)
    assert rc == 0
    [d] = [d for d in diags if d["code"] == "SDF016"]
    full = image if os.path.isabs(image) else str(tmp_path / image)
    what = "a FIFO" if image == "fifo.bin" else "a character device"
    assert d["severity"] == "warning" and d["message"] == f"'{full}' is not a regular file ({what})"
    assert at(d) == column(sdf, '<program_image path="')


def test_a_program_image_larger_than_an_elf_may_be(tmp_path):
    sdf = system(tmp_path, image="huge.elf")
    with open(tmp_path / "huge.elf", "wb") as fh:
        fh.truncate(600 * 2**20)
    _, diags = check(sdf)
    [d] = [d for d in diags if d["code"] == "SDF016"]
    assert d["message"] == f"'{tmp_path / 'huge.elf'}' is 600 MiB, more than the 512 MiB an ELF file may have"


@pytest.mark.parametrize("name", ["fifo.bin", "zero.system", "huge.system"])
def test_an_sdf_file_that_cannot_be_read_is_io001(tmp_path, fifo, name):
    (tmp_path / "zero.system").symlink_to("/dev/zero")
    with open(tmp_path / "huge.system", "wb") as fh:
        fh.truncate(100 * 2**20)
    path = tmp_path / name
    rc, diags = check(path)
    assert rc == 1
    [d] = diags
    assert d["code"] == "IO001" and at(d) == (0, 0)
    assert (
        d["message"]
        == {
            "fifo.bin": f"'{path}' is not a regular file (a FIFO)",
            "zero.system": f"'{path}' is not a regular file (a character device)",
            "huge.system": f"'{path}' is 100 MiB, more than the 64 MiB an SDF file may have",
        }[name]
    )


def build(sdf: Path, out: Path) -> subprocess.CompletedProcess:
    require(SDK.is_dir(), f"{SDK} is missing")
    return sdf_lsp("build", sdf, "--sdk", SDK, "--board", BOARD, "--config", "debug", "--out-dir", out)


def test_build_reads_what_check_accepts(tmp_path):
    p = build(system(tmp_path), tmp_path / "out")
    assert p.returncode == 0, p.stderr


def test_build_refuses_a_program_image_that_is_no_regular_file(tmp_path, fifo):
    sdf = system(tmp_path, image="fifo.bin")
    p = build(sdf, tmp_path / "out")
    assert p.returncode == 1
    line, ch = column(sdf, '<program_image path="')
    errors = [e for e in p.stderr.splitlines() if not e.startswith("[")]  # not the progress lines
    assert errors == [
        f"{sdf}:{line + 1}:{ch + 1}: error: failed to read the program image of PD 'p': "
        f"'{fifo}' is not a regular file (a FIFO) [BLD003]"
    ]


def test_build_refuses_a_prefill_file_that_is_no_regular_file(tmp_path, fifo):
    p = build(system(tmp_path, prefill="fifo.bin"), tmp_path / "out")
    assert p.returncode == 1 and "failed to read file 'fifo.bin' at prefill_path" in p.stderr and "[MK-R4]" in p.stderr
