"""Stand-in program images: tiny ELFs that define the symbols a system patches.

A build needs one ELF per `program_image` with `microkit_*` and every setvar
symbol of the PDs that use it.  `standin_elf` writes such a file (an R+X
segment with an endless loop at 0x200000, an R+W segment on the next page
holding the symbols, mostly as bss); `write_standins` writes one per image of
an analysed system.
"""

from __future__ import annotations

import struct
from pathlib import Path

from sdf_lsp.backend.symbols import pd_setvars
from sdf_lsp.elf import EM_AARCH64, EM_RISCV, EM_X86_64

MACHINES = {"aarch64": EM_AARCH64, "riscv64": EM_RISCV, "x86_64": EM_X86_64}
MICROKIT_SYMBOLS = {
    "microkit_name": 64,
    "microkit_passive": 1,
    "microkit_irqs": 8,
    "microkit_notifications": 8,
    "microkit_pps": 8,
    "microkit_ioports": 8,
}
TEXT_VADDR = 0x200000
DATA_VADDR = 0x201000
_CODE = {
    EM_AARCH64: bytes.fromhex("7f2003d5ffffff17"),
    EM_RISCV: bytes.fromhex("7300501001a0"),
    EM_X86_64: bytes.fromhex("f4ebfd"),
}


def standin_elf(symbols: dict[str, int], machine: int = EM_AARCH64, tag: str = "") -> bytes:
    """An executable ELF64 defining `symbols` (name -> size in bytes) in its data segment."""
    code = _CODE[machine]
    data = f"stand-in {tag}".encode() + b"\0"
    data += bytes(-len(data) % 8)
    layout, offset = [], len(data)
    for name, size in symbols.items():
        offset += -offset % 8
        layout.append((name, DATA_VADDR + offset, size))
        offset += size
    memsz = offset
    # sections: null, .text, .data, .bss, .symtab, .strtab, .shstrtab
    shstr = b"\0.text\0.data\0.bss\0.symtab\0.strtab\0.shstrtab\0"
    strtab = b"\0_start\0" + b"".join(n.encode() + b"\0" for n, _, _ in layout)
    syms = [struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0), struct.pack("<IBBHQQ", 1, 0x12, 0, 1, TEXT_VADDR, len(code))]
    name_off = 8
    for name, vaddr, size in layout:
        shndx = 2 if vaddr < DATA_VADDR + len(data) else 3
        syms.append(struct.pack("<IBBHQQ", name_off, 0x11, 0, shndx, vaddr, size))
        name_off += len(name) + 1
    symtab = b"".join(syms)
    text_off, data_off = 0x1000, 0x2000
    symtab_off = data_off + len(data)
    symtab_off += -symtab_off % 8
    strtab_off = symtab_off + len(symtab)
    shstr_off = strtab_off + len(strtab)
    shoff = shstr_off + len(shstr)
    shoff += -shoff % 8
    ehdr = struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH",
        b"\x7fELF",
        2,
        1,
        1,
        0,
        0,
        bytes(7),
        2,
        machine,
        1,
        TEXT_VADDR,
        64,
        shoff,
        0,
        64,
        56,
        2,
        64,
        7,
        6,
    )
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, text_off, TEXT_VADDR, TEXT_VADDR, len(code), len(code), 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", 1, 6, data_off, DATA_VADDR, DATA_VADDR, len(data), memsz, 0x1000)
    shdrs = bytes(64)
    shdrs += struct.pack("<IIQQQQIIQQ", 1, 1, 6, TEXT_VADDR, text_off, len(code), 0, 0, 4, 0)
    shdrs += struct.pack("<IIQQQQIIQQ", 7, 1, 3, DATA_VADDR, data_off, len(data), 0, 0, 8, 0)
    shdrs += struct.pack(
        "<IIQQQQIIQQ", 13, 8, 3, DATA_VADDR + len(data), data_off + len(data), memsz - len(data), 0, 0, 8, 0
    )
    shdrs += struct.pack("<IIQQQQIIQQ", 18, 2, 0, 0, symtab_off, len(symtab), 5, 2, 8, 24)
    shdrs += struct.pack("<IIQQQQIIQQ", 26, 3, 0, 0, strtab_off, len(strtab), 0, 0, 1, 0)
    shdrs += struct.pack("<IIQQQQIIQQ", 34, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)
    out = bytearray(shoff + len(shdrs))
    out[0:64] = ehdr
    out[64 : 64 + len(phdrs)] = phdrs
    out[text_off : text_off + len(code)] = code
    out[data_off : data_off + len(data)] = data
    out[symtab_off : symtab_off + len(symtab)] = symtab
    out[strtab_off : strtab_off + len(strtab)] = strtab
    out[shstr_off : shstr_off + len(shstr)] = shstr
    out[shoff:] = shdrs
    return bytes(out)


def image_symbols(analysis) -> dict[str, dict[str, int]]:
    """program_image -> the symbols (name -> size) every PD using it patches."""
    system, layout = analysis.system, analysis.layout
    ends = system.channel_ends
    out: dict[str, dict[str, int]] = {}
    for pd in system.pds:
        syms = out.setdefault(pd.program_image, dict(MICROKIT_SYMBOLS))
        for sv in pd_setvars(pd, system, layout.cspace(pd), {}, [e for e, _ in ends.get(pd.name, ())]):
            syms.setdefault(sv.symbol, 8)
    return out


def write_standins(analysis, directory: Path, arch: str = "aarch64") -> list[Path]:
    """One stand-in ELF per program image of the analysed system, under `directory`."""
    written = []
    for image, symbols in image_symbols(analysis).items():
        path = directory / image
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(standin_elf(symbols, MACHINES[arch], image))
        written.append(path)
    return written
