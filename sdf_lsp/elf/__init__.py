"""ELF program images: segments, symbols, patching and DWARF source lines."""

from sdf_lsp.elf.image import (
    EM_AARCH64,
    EM_RISCV,
    EM_X86_64,
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
    PT_PHDR,
    ElfError,
    ElfImage,
    Segment,
    Symbol,
)

__all__ = [
    "EM_AARCH64",
    "EM_RISCV",
    "EM_X86_64",
    "PF_R",
    "PF_W",
    "PF_X",
    "PT_LOAD",
    "PT_PHDR",
    "ElfError",
    "ElfImage",
    "Segment",
    "Symbol",
]
