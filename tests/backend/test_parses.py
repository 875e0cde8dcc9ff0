"""One `sdf-lsp build` (and one `sdf-lsp check`) parses each ELF file once: the analysis, the
program-image diagnostics and the build share one `ProgramImages`, also when several PDs name
the same image."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sdf_lsp.cli import main
from sdf_lsp.elf import ElfImage
from sdf_lsp.target import load_sdk
from tests.backend.golden import BOARD, SDK
from tests.backend.standin import MICROKIT_SYMBOLS, standin_elf
from tests.conftest import require

SYSTEM = """<system>
    <memory_region name="buf" size="0x1000" />
    <protection_domain name="a" priority="3"><program_image path="shared.elf" />
        <map mr="buf" vaddr="0x4000000" setvar_vaddr="buf_vaddr" /></protection_domain>
    <protection_domain name="b" priority="2"><program_image path="shared.elf" /></protection_domain>
    <protection_domain name="c" priority="1"><program_image path="c.elf" path_for_symbols="c.debug.elf" /></protection_domain>
</system>
"""


@pytest.fixture
def parses(monkeypatch) -> Counter:
    """Every ELF file parsed, by path (a spy: the real parser runs)."""
    counts: Counter = Counter()
    parse = ElfImage.from_bytes

    def counting(cls, data, path=None):
        if path is not None:
            counts[path] += 1
        return parse(data, path)

    monkeypatch.setattr(ElfImage, "from_bytes", classmethod(counting))
    return counts


@pytest.fixture
def system(tmp_path) -> Path:
    symbols = dict(MICROKIT_SYMBOLS) | {"buf_vaddr": 8}
    for name in ("shared.elf", "c.elf", "c.debug.elf"):
        (tmp_path / name).write_bytes(standin_elf(symbols, tag=name))
    sdf = tmp_path / "s.system"
    sdf.write_text(SYSTEM)
    return sdf


def test_a_build_parses_each_elf_once(tmp_path, system, parses, capsys):
    require(SDK.is_dir(), f"{SDK} is missing")
    sdk = load_sdk(SDK, BOARD, "debug").sdk
    rc = main(
        [
            "build",
            str(system),
            "--sdk",
            str(SDK),
            "--board",
            BOARD,
            "--config",
            "debug",
            "--out-dir",
            str(tmp_path / "out"),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    sdk_elves = [p for p in (sdk.monitor_elf, sdk.initialiser_elf, sdk.kernel_elf, sdk.loader_elf) if p]
    images = [str(tmp_path / name) for name in ("shared.elf", "c.elf", "c.debug.elf")]
    assert dict(parses) == dict.fromkeys(images + sdk_elves, 1)


def test_a_check_parses_each_program_image_once(tmp_path, system, parses, capsys):
    assert main(["check", "-v", str(system)]) == 0, capsys.readouterr().out
    assert dict(parses) == dict.fromkeys((str(tmp_path / n) for n in ("shared.elf", "c.elf", "c.debug.elf")), 1)
