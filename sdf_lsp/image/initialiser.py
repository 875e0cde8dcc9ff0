"""Packing the spec into the capDL initialiser (upstream `capdl/initialiser.rs`).

The initialiser finds its spec, its embedded frame data and its own image
bounds through a program-header table that the tool places in its memory and
points to by patching two symbols, `sel4_phdrs_patched__vaddr` and
`sel4_phdrs_patched__phnum`.  The tool appends three segments on fresh pages
after the initialiser's own: the rkyv spec (`PT_SEL4_CAPDL_SPEC`), the frame
data (`PT_SEL4_CAPDL_FRAME_DATA`) and that table.  In the table every segment
appears as a `PT_LOAD` entry (file offset 0, alignment 0, file size equal to
memory size, since the tool keeps whole memory images), followed by an entry
of the segment's own type when it has one; the table ends with a `PT_PHDR`
entry and a `PT_LOAD` entry for itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sdf_lsp.elf import PF_R, PF_W, PF_X, PT_LOAD, PT_PHDR, ElfError, ElfImage, Segment
from sdf_lsp.image import rkyv
from sdf_lsp.image.transform import ContentSource, deflate_raw, transform_spec

PT_SEL4_CAPDL_SPEC = 0x64C34003
PT_SEL4_CAPDL_FRAME_DATA = 0x64C34004
#: Page size used to place the added segments.
GRANULE = 0x1000

PHDRS_VADDR_SYMBOL = "sel4_phdrs_patched__vaddr"
PHNUM_SYMBOL = "sel4_phdrs_patched__phnum"

_PHDR64 = struct.Struct("<IIQQQQQQ")  # type, flags, offset, vaddr, paddr, filesz, memsz, align
_EHDR64 = struct.Struct("<4sBBBBB7sHHIQQQIHHHHHH")
_SHDR64 = struct.Struct("<IIQQQQIIQQ")
_SHT_PROGBITS = 1
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR = 0x1, 0x2, 0x4


@dataclass(frozen=True)
class InitialiserImage:
    """The initialiser with its spec: what becomes the initial task.

    `segments` are all loadable segments in order, each with its whole memory
    image as data: the initialiser's own (symbols patched), the spec, the
    frame data and the program-header table.
    """

    entry: int
    machine: int
    segments: tuple[Segment, ...]
    phdr_table: bytes
    phdrs_vaddr: int
    phnum: int

    @property
    def image_bound(self) -> tuple[int, int]:
        """Virtual range the initial task occupies (end rounded up to a page)."""
        lo = min(s.vaddr for s in self.segments)
        hi = max(s.end for s in self.segments)
        return lo, -(-hi // GRANULE) * GRANULE

    @property
    def size(self) -> int:
        lo, hi = self.image_bound
        return hi - lo

    @property
    def spec_segment(self) -> Segment:
        return next(s for s in self.segments if s.p_type == PT_SEL4_CAPDL_SPEC)

    @property
    def frame_data_segment(self) -> Segment:
        return next(s for s in self.segments if s.p_type == PT_SEL4_CAPDL_FRAME_DATA)

    def to_elf(self) -> bytes:
        """The initialiser as a stand-alone ELF (the x86_64 boot module).

        Program headers are the in-memory table's entries with real file
        offsets; one section per loadable segment follows, so that tools that
        look at sections see the same layout.
        """
        entries = _phdr_entries(self.segments[:-1], self.phdrs_vaddr)
        phnum, shnum = len(entries), len(self.segments) + 1
        offsets, off = {}, _EHDR64.size + phnum * _PHDR64.size + shnum * _SHDR64.size
        for seg in self.segments:
            offsets[seg.vaddr] = off
            off += seg.memsz
        phdrs = b"".join(_PHDR64.pack(t, f, offsets[va], va, pa, fs, ms, al) for t, f, _, va, pa, fs, ms, al in entries)
        ehdr = _EHDR64.pack(
            b"\x7fELF",
            2,
            1,
            1,
            0,
            0,
            bytes(7),
            2,
            self.machine,
            1,
            self.entry,
            _EHDR64.size,
            _EHDR64.size + len(phdrs),
            0,
            _EHDR64.size,
            _PHDR64.size,
            phnum,
            _SHDR64.size,
            shnum,
            0,
        )
        shdrs = bytes(_SHDR64.size) + b"".join(
            _SHDR64.pack(0, _SHT_PROGBITS, _section_flags(s.flags), s.paddr, offsets[s.vaddr], s.memsz, 0, 0, 0, 0)
            for s in self.segments
        )
        return ehdr + phdrs + shdrs + b"".join(s.mem_data for s in self.segments)


def add_spec(initialiser: ElfImage, spec: bytes, frame_data: bytes) -> InitialiserImage:
    """Append the spec, the frame data and the program-header table; patch the two symbols."""
    if initialiser.word_size != 64:
        raise ElfError("the capDL initialiser must be a 64-bit ELF")
    own = [replace(s, data=s.mem_data) for s in initialiser.segments]

    def next_vaddr(segments: list[Segment]) -> int:
        return (max(s.end for s in segments) + GRANULE) // GRANULE * GRANULE

    added = list(own)
    for p_type, payload in ((PT_SEL4_CAPDL_SPEC, spec), (PT_SEL4_CAPDL_FRAME_DATA, frame_data)):
        va = next_vaddr(added)
        added.append(Segment(vaddr=va, paddr=va, memsz=len(payload), flags=PF_R, data=bytes(payload), p_type=p_type))

    phdrs_vaddr = next_vaddr(added)
    entries = _phdr_entries(added, phdrs_vaddr)
    table = b"".join(_PHDR64.pack(*e) for e in entries)
    added.append(
        Segment(vaddr=phdrs_vaddr, paddr=phdrs_vaddr, memsz=len(table), flags=PF_R, data=table, p_type=PT_PHDR)
    )

    patched = initialiser.patch_symbols(
        [
            (PHDRS_VADDR_SYMBOL, phdrs_vaddr.to_bytes(8, "little")),
            (PHNUM_SYMBOL, len(entries).to_bytes(2, "little")),
        ]
    )
    own_patched = [replace(s, data=s.mem_data) for s in patched.segments]
    return InitialiserImage(
        entry=initialiser.entry,
        machine=initialiser.machine,
        segments=tuple(own_patched + added[len(own) :]),
        phdr_table=table,
        phdrs_vaddr=phdrs_vaddr,
        phnum=len(entries),
    )


@dataclass(frozen=True)
class PackedSpec:
    """The result of packing a spec: its initialiser form, its bytes and the initial task."""

    spec_for_initializer: dict
    spec_bytes: bytes
    frame_data: bytes
    initial_task: InitialiserImage


def pack_spec_into_initial_task(
    spec: dict,
    content: ContentSource | Sequence[Sequence[bytes]],
    config: str,
    initialiser: ElfImage,
    deflate: Callable[[bytes], bytes] = deflate_raw,
) -> PackedSpec:
    """Transform `spec` (capdl.json form), archive it and add it to the initialiser.

    See `transform_spec` for `content`, `config` and `deflate`.
    """
    for_initializer, frame_data = transform_spec(spec, content, config, deflate)
    spec_bytes = rkyv.serialize(for_initializer)
    return PackedSpec(for_initializer, spec_bytes, frame_data, add_spec(initialiser, spec_bytes, frame_data))


def _phdr_entries(segments, table_vaddr: int) -> list[tuple]:
    """Program-header entries for `segments` plus the table at `table_vaddr`."""
    entries = []
    for s in segments:
        entries.append((PT_LOAD, s.flags, 0, s.vaddr, s.paddr, s.memsz, s.memsz, 0))
        if s.p_type != PT_LOAD:
            entries.append((s.p_type, s.flags, 0, s.vaddr, s.paddr, s.memsz, s.memsz, 0))
    table_size = (len(entries) + 2) * _PHDR64.size
    entries.append((PT_PHDR, PF_R, 0, table_vaddr, table_vaddr, table_size, table_size, 0))
    entries.append((PT_LOAD, PF_R, 0, table_vaddr, table_vaddr, table_size, table_size, 0))
    return entries


def _section_flags(flags: int) -> int:
    return _SHF_ALLOC | (_SHF_WRITE if flags & PF_W else 0) | (_SHF_EXECINSTR if flags & PF_X else 0)
