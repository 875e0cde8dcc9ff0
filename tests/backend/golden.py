"""The golden outputs of the upstream Microkit tool, and builds of the same systems by `sdf-lsp build`."""

from __future__ import annotations

import contextlib
import io
import json
import struct
from functools import cache
from pathlib import Path

from sdf_lsp.cli import main
from sdf_lsp.elf import ElfImage
from tests.conftest import SHARED

GOLDEN = SHARED / "golden"
SDK = GOLDEN / "sdk"
BOARD = "qemu_virt_aarch64"
CONFIGS = ("debug", "release")


def systems() -> list[str]:
    """Every golden system that builds (the expected error has no capdl.json)."""
    root = GOLDEN / "systems"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "capdl.json").is_file())


def golden_dir(system: str, config: str) -> Path:
    base = GOLDEN / "systems" / system
    return base / "release" if config == "release" else base


@cache
def golden_json(system: str, config: str, name: str):
    return json.loads((golden_dir(system, config) / name).read_text())


def run_build(system: str, config: str, out: Path, *extra: str) -> tuple[int, str, str]:
    """`sdf-lsp build` in-process: (exit status, stdout, stderr)."""
    argv = [
        "build",
        str(GOLDEN / "systems" / system / f"{system}.system"),
        "--sdk",
        str(SDK),
        "--board",
        BOARD,
        "--config",
        config,
        "--search-path",
        str(GOLDEN / "elf" / system),
        "--out-dir",
        str(out),
        *extra,
    ]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(argv)
    return rc, stdout.getvalue(), stderr.getvalue()


def typed_segment(elf_path: Path, p_type: int) -> bytes:
    """The memory image of the segment that has a program header of type `p_type` (initialiser.elf)."""
    raw = elf_path.read_bytes()
    (phoff,) = struct.unpack_from("<Q", raw, 32)
    phentsize, phnum = struct.unpack_from("<HH", raw, 54)
    for i in range(phnum):
        typ, _, _, vaddr = struct.unpack_from("<IIQQ", raw, phoff + i * phentsize)
        if typ == p_type:
            seg = next(s for s in ElfImage.from_bytes(raw).segments if s.vaddr == vaddr)
            return seg.mem_data
    raise AssertionError(f"no segment of type {p_type:#x} in {elf_path}")
