"""Program images: loadable segments, symbols and symbol patching.

This mirrors what the Microkit tool's `elf.rs` takes from an ELF file (entry,
word size, machine, the `PT_LOAD` segments and the symbol table) and how it
patches symbols (`write_symbol`), so that the image backend can reproduce the
tool's output byte for byte.  Parsing goes through pyelftools; every failure on
a malformed file becomes an `ElfError` with a readable message, because the
language server reads whatever file an SDF happens to name.  This package does
no I/O: files are read by `sdf_lsp.files` (`ProgramImages`) and parsed here
with `ElfImage.from_bytes`.

Segment data is kept as the file bytes (`p_filesz` long).  Upstream treats a
segment's data as its whole memory image (`p_memsz` bytes, the zero-fill part
included), so `Segment.mem_data` is what frame fills, loader regions and the
initialiser use; a patch that lands in the zero-fill part grows the file data
up to the end of the patched bytes so that `ElfImage.to_bytes` carries it.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

PT_LOAD = 1
PT_PHDR = 6
PF_X, PF_W, PF_R = 0x1, 0x2, 0x4

#: e_machine values of the architectures Microkit supports.
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243


class ElfError(Exception):
    """An ELF file cannot be read, or a symbol cannot be found or patched."""


@dataclass(frozen=True)
class Segment:
    """One loadable segment.

    `data` holds the bytes present in the file (at least `p_filesz`, more once a
    patch has grown it); the remaining `memsz - len(data)` bytes are zero.
    `p_type` is `PT_LOAD` for segments read from a file; the initialiser's extra
    segments carry their own type.
    """

    vaddr: int
    paddr: int
    memsz: int
    flags: int
    data: bytes
    p_type: int = PT_LOAD
    align: int = 0

    @property
    def filesz(self) -> int:
        return len(self.data)

    @property
    def mem_data(self) -> bytes:
        """The segment's memory image: file data padded with zeros to `memsz`."""
        return self.data + bytes(self.memsz - len(self.data))

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz

    @property
    def readable(self) -> bool:
        return bool(self.flags & PF_R)

    @property
    def writable(self) -> bool:
        return bool(self.flags & PF_W)

    @property
    def executable(self) -> bool:
        return bool(self.flags & PF_X)


@dataclass(frozen=True)
class Symbol:
    name: str
    vaddr: int
    size: int


@dataclass(frozen=True)
class ElfImage:
    """An ELF program image as the Microkit tool sees it.

    Instances are immutable: patching returns a new image whose segments are
    patched copies.  `raw` keeps the original file so that `to_bytes` can emit
    the same file with only the segment data changed.
    """

    entry: int
    word_size: int
    machine: int
    segments: tuple[Segment, ...]
    symbols: Mapping[str, tuple[int, int]] = field(repr=False)
    duplicate_symbols: frozenset[str] = field(default=frozenset(), repr=False)
    symbol_list: tuple[Symbol, ...] = field(default=(), repr=False)
    raw: bytes = field(default=b"", repr=False)
    path: str | None = None

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_bytes(cls, data: bytes, path: str | None = None) -> ElfImage:
        """Parse an ELF file held in memory."""
        label = f"ELF '{path}'" if path else "ELF"
        if data[:4] != b"\x7fELF":
            raise ElfError(f"{label}: magic check failed")
        try:
            return _parse(bytes(data), path, label)
        except ElfError:
            raise
        except Exception as e:  # pyelftools and construct raise assorted types on junk
            raise ElfError(f"{label}: malformed file: {e or type(e).__name__}") from None

    def with_symbols_from(self, other: ElfImage) -> ElfImage:
        """This image's segments with `other`'s symbols (`path_for_symbols`)."""
        return replace(
            self, symbols=other.symbols, duplicate_symbols=other.duplicate_symbols, symbol_list=other.symbol_list
        )

    # ------------------------------------------------------------------ symbols

    def find_symbol(self, name: str) -> tuple[int, int]:
        """(vaddr, size) of the symbol `name`; errors worded as upstream's."""
        if name in self.duplicate_symbols:
            raise ElfError(f"multiple symbols with name '{name}'")
        try:
            return self.symbols[name]
        except KeyError:
            raise ElfError(f"no symbol named '{name}' found") from None

    def has_symbol(self, name: str) -> bool:
        return name in self.symbols

    def list_symbols(self) -> list[Symbol]:
        """Every named symbol (for completion), in symbol-table order."""
        return [s for s in self.symbol_list if s.name]

    def symbol_source_line(self, name: str) -> tuple[str, int] | None:
        """(file, line) defining `name` from DWARF debug information, if any."""
        from sdf_lsp.elf.dwarf import symbol_source_line

        vaddr = self.symbols[name][0] if name in self.symbols else None
        return symbol_source_line(self.raw, name, vaddr) if self.raw else None

    # ---------------------------------------------------------------- addresses

    def segment_containing(self, vaddr: int, size: int) -> int | None:
        """Index of the segment whose memory image holds [vaddr, vaddr + size)."""
        for i, seg in enumerate(self.segments):
            if seg.vaddr <= vaddr and vaddr + size <= seg.end:
                return i
        return None

    def read(self, vaddr: int, size: int) -> bytes:
        """Bytes of the memory image at [vaddr, vaddr + size)."""
        i = self.segment_containing(vaddr, size)
        if i is None:
            raise ElfError(f"address range [{vaddr:#x}..{vaddr + size:#x}) is not inside a loadable segment")
        seg = self.segments[i]
        off = vaddr - seg.vaddr
        return seg.mem_data[off : off + size]

    def read_symbol(self, name: str) -> bytes:
        vaddr, size = self.find_symbol(name)
        return self.read(vaddr, size)

    # ----------------------------------------------------------------- patching

    def write(self, vaddr: int, data: bytes) -> ElfImage:
        """A copy of this image with `data` written at `vaddr`.

        A write into the zero-fill part of a segment grows the segment's file
        data to the end of the write (upstream keeps the whole memory image as
        data, so the bytes must survive into the output).
        """
        i = self.segment_containing(vaddr, len(data))
        if i is None:
            raise ElfError(f"address range [{vaddr:#x}..{vaddr + len(data):#x}) is not inside a loadable segment")
        seg = self.segments[i]
        off = vaddr - seg.vaddr
        buf = bytearray(seg.data)
        if off + len(data) > len(buf):
            buf.extend(bytes(off + len(data) - len(buf)))
        buf[off : off + len(data)] = data
        segments = list(self.segments)
        segments[i] = replace(seg, data=bytes(buf))
        return replace(self, segments=tuple(segments))

    def write_symbol(self, name: str, data: bytes) -> ElfImage:
        """A copy with `data` written at symbol `name` (at most the symbol's size)."""
        vaddr, size = self.find_symbol(name)
        if len(data) > size:
            raise ElfError(f"cannot write {len(data)} bytes to symbol '{name}' of size {size}")
        if self.segment_containing(vaddr, size) is None:
            raise ElfError(f"symbol '{name}' is not inside a loadable segment")
        return self.write(vaddr, data)

    def patch_symbols(self, values: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> ElfImage:
        """Write several symbols in order; see `write_symbol`."""
        items = values.items() if isinstance(values, Mapping) else values
        image = self
        for name, data in items:
            image = image.write_symbol(name, data)
        return image

    # ------------------------------------------------------------------ writing

    def to_bytes(self) -> bytes:
        """The original file with the current segment data.

        Segments whose data still fits their original file space are written in
        place; grown ones are appended at the end of the file (keeping
        `p_offset` congruent to `p_vaddr` modulo `p_align`) and their program
        header and the headers of the sections they hold are updated.
        """
        if not self.raw:
            raise ElfError("image has no original file to rewrite")
        return _rewrite(self)


# --------------------------------------------------------------------------------
# parsing


def _parse(data: bytes, path: str | None, label: str) -> ElfImage:
    if data[4] not in (1, 2):
        raise ElfError(f"{label}: invalid class '{data[4]}'")
    if data[5] != 1:
        raise ElfError(f"{label}: incorrect endianness, only little endian architectures are supported")
    elf = ELFFile(io.BytesIO(data))
    hdr = elf.header
    if hdr["e_phnum"] == 0:
        raise ElfError(f"{label}: has no program headers")
    (machine,) = struct.unpack_from("<H", data, 18)

    segments = []
    for ph in elf.iter_segments():
        if ph["p_type"] not in ("PT_LOAD", PT_LOAD):
            continue
        off, filesz, memsz = ph["p_offset"], ph["p_filesz"], ph["p_memsz"]
        if filesz > memsz:
            raise ElfError(f"{label}: segment at {ph['p_vaddr']:#x} has p_filesz > p_memsz")
        if off + filesz > len(data):
            raise ElfError(f"{label}: segment at {ph['p_vaddr']:#x} extends past the end of the file")
        segments.append(
            Segment(
                vaddr=ph["p_vaddr"],
                paddr=ph["p_paddr"],
                memsz=memsz,
                flags=ph["p_flags"],
                data=data[off : off + filesz],
                align=ph["p_align"],
            )
        )
    if not segments:
        raise ElfError(f"{label}: has no loadable segments")

    # Upstream uses the last symbol table it meets (files have one).  A file
    # without one (stripped) simply has no symbols here.
    symtabs = [s for s in elf.iter_sections() if isinstance(s, SymbolTableSection) and s["sh_type"] == "SHT_SYMTAB"]
    listing = [
        Symbol(sym.name, sym["st_value"], sym["st_size"]) for sym in (symtabs[-1].iter_symbols() if symtabs else ())
    ]
    symbols: dict[str, tuple[int, int]] = {}
    duplicates: set[str] = set()
    for sym in listing:
        if sym.name in symbols:
            duplicates.add(sym.name)
        else:
            symbols[sym.name] = (sym.vaddr, sym.size)
    return ElfImage(
        entry=hdr["e_entry"],
        word_size=32 if data[4] == 1 else 64,
        machine=machine,
        segments=tuple(segments),
        symbols=symbols,
        duplicate_symbols=frozenset(duplicates),
        symbol_list=tuple(listing),
        raw=data,
        path=path,
    )


# --------------------------------------------------------------------------------
# rewriting


def _rewrite(image: ElfImage) -> bytes:
    raw = image.raw
    is64 = image.word_size == 64
    elf = ELFFile(io.BytesIO(raw))
    hdr = elf.header
    phoff, phentsize = hdr["e_phoff"], hdr["e_phentsize"]
    shoff, shentsize = hdr["e_shoff"], hdr["e_shentsize"]
    # (p_offset, p_filesz) field positions within a program header entry
    off_fmt, off_at, filesz_at = ("<Q", 8, 32) if is64 else ("<I", 4, 16)
    sh_offset_at = 24 if is64 else 16

    out = bytearray(raw)
    loads = [(i, ph) for i, ph in enumerate(elf.iter_segments()) if ph["p_type"] in ("PT_LOAD", PT_LOAD)]
    sections = list(elf.iter_sections())
    for (index, ph), seg in zip(loads, image.segments, strict=False):
        old_off, old_filesz = ph["p_offset"], ph["p_filesz"]
        if len(seg.data) <= old_filesz:
            out[old_off : old_off + len(seg.data)] = seg.data
            continue
        align = max(seg.align, 1)
        new_off = len(out) + ((seg.vaddr - len(out)) % align)
        out.extend(bytes(new_off - len(out)))
        out.extend(seg.data)
        entry = phoff + index * phentsize
        struct.pack_into(off_fmt, out, entry + off_at, new_off)
        struct.pack_into(off_fmt, out, entry + filesz_at, len(seg.data))
        for k, sec in enumerate(sections):
            addr = sec["sh_addr"]
            if sec["sh_type"] != "SHT_NOBITS" and sec["sh_size"] and seg.vaddr <= addr < seg.vaddr + old_filesz:
                struct.pack_into(off_fmt, out, shoff + k * shentsize + sh_offset_at, new_off + addr - seg.vaddr)
    return bytes(out)
