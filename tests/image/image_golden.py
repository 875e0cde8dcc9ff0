"""Shared access to the golden reference outputs of the upstream Microkit tool.

The golden tree (`/work/shared/golden`, or `$SDF_LSP_GOLDEN`) holds, per system
and configuration, the tool's capDL spec, the initialiser spec in JSON and
rkyv form, the frame data, the boot emulation and the image layout; the stand-in
program ELFs and the SDK facts are alongside.  Tests that need it are skipped
when it is absent.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache, cached_property
from pathlib import Path

import pytest

from sdf_lsp.elf import ElfImage

GOLDEN = Path(os.environ.get("SDF_LSP_GOLDEN", "/work/shared/golden"))
DATA = Path(__file__).parent / "data"


def _cases() -> list[tuple[str, str]]:
    if not (GOLDEN / "systems").is_dir():
        return []
    out = []
    for system in sorted(p.name for p in (GOLDEN / "systems").iterdir() if p.is_dir()):
        for config, sub in (("debug", ""), ("release", "release")):
            if (GOLDEN / "systems" / system / sub / "spec.rkyv").is_file():
                out.append((system, config))
    return out


CASES = _cases()
CASE_IDS = [f"{s}-{c}" for s, c in CASES]
requires_golden = pytest.mark.skipif(not CASES, reason=f"golden data not found at {GOLDEN}")


def golden_cases(func):
    """Parametrize a test over every (system, config) that built, as `case`."""
    return requires_golden(
        pytest.mark.parametrize("case", [Case(s, c) for s, c in CASES] or [None], ids=CASE_IDS or None)(func)
    )


class Case:
    """One system in one configuration."""

    def __init__(self, system: str, config: str) -> None:
        self.system, self.config = system, config
        self.dir = GOLDEN / "systems" / system / ("release" if config == "release" else "")

    def __repr__(self) -> str:
        return f"{self.system}-{self.config}"

    def json(self, name: str):
        return _json(self.dir / name)

    def bytes(self, name: str) -> bytes:
        return (self.dir / name).read_bytes()

    @property
    def sdk(self) -> Path:
        return GOLDEN / "sdk" / "board" / "qemu_virt_aarch64" / self.config

    def sdk_json(self, name: str):
        return _json(self.sdk / name)

    @cached_property
    def programs(self) -> list[dict]:
        """patched_symbols.json's programs, by elf_id."""
        return sorted(self.json("patched_symbols.json")["programs"], key=lambda p: p["elf_id"])

    def patched_programs(self) -> list[ElfImage]:
        """The system's ELFs (PDs in order, monitor last) with the tool's values written in."""
        return [patch_program(self.system, p) for p in self.programs]


@cache
def _json(path: Path):
    return json.loads(path.read_text())


@cache
def load_elf(path: Path) -> ElfImage:
    return ElfImage.from_bytes(path.read_bytes())


def program_image(system: str, image: str) -> ElfImage:
    """The ELF named in patched_symbols.json's `image` field."""
    if image.startswith("monitor.elf"):
        return load_elf(GOLDEN / "elf" / "monitor.elf")
    split = re.fullmatch(r"(\S+) \(symbols from (\S+)\)", image)
    if split:
        return load_elf(GOLDEN / "elf" / system / split[1]).with_symbols_from(
            load_elf(GOLDEN / "elf" / system / split[2])
        )
    return load_elf(GOLDEN / "elf" / system / image)


def _u64(v: int) -> bytes:
    return v.to_bytes(8, "little")


def _names(names: list[str], count: int = 64, width: int = 64) -> bytes:
    """The monitor's name table: one NUL-terminated slot of `width` bytes per name."""
    out = bytearray(count * width)
    for i, name in enumerate(names):
        raw = name.encode()[: width - 1]
        out[i * width : i * width + len(raw)] = raw
    return bytes(out)


def patch_program(system: str, program: dict) -> ElfImage:
    """Write the values of patched_symbols.json into the program, as the tool does."""
    elf, values = program_image(system, program["image"]), program["values"]
    if program["pd"] == "monitor":
        writes = [
            ("pd_names_len", _u64(values["pd_names_len"])),
            ("pd_names", _names(values["pd_names"])),
            ("vm_names_len", _u64(values["vm_names_len"])),
            ("vm_names", _names(values["vm_names"])),
            ("pd_stack_bottom_addrs", b"".join(_u64(v) for v in values["pd_stack_bottom_addrs"])),
        ]
    else:
        writes = [
            ("microkit_name", values["microkit_name"].encode()[:64]),
            ("microkit_passive", bytes([values["microkit_passive"]])),
        ]
        writes += [
            (k, _u64(values[k]))
            for k in ("microkit_irqs", "microkit_notifications", "microkit_pps", "microkit_ioports")
        ]
        writes += [(k, _u64(v)) for k, v in values.items() if not k.startswith("microkit_")]
    return elf.patch_symbols(writes)
