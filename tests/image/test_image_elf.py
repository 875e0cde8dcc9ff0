"""Reading, patching and rewriting ELF program images."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_golden import DATA, GOLDEN, requires_golden

from sdf_lsp.elf import PF_R, PF_W, PF_X, ElfError, ElfImage

# An x86_64 program with DWARF, built from data/dwarf_sample.c with
#   gcc -g -O0 -ffreestanding -fno-pic -no-pie -nostdlib -static -Wl,--build-id=none \
#       -fdebug-prefix-map=$PWD=/src -o dwarf_sample.elf dwarf_sample.c
# `counter` is initialised data, `buffer_vaddr` lies in .bss.
SAMPLE = DATA / "dwarf_sample.elf"


@pytest.fixture(scope="module")
def sample() -> ElfImage:
    return ElfImage.from_bytes(SAMPLE.read_bytes())


@requires_golden
def test_reads_a_program_image():
    elf = ElfImage.from_bytes((GOLDEN / "elf" / "hello" / "hello.elf").read_bytes())
    assert (elf.entry, elf.word_size, elf.machine) == (0x200000, 64, 183)
    text, data = elf.segments
    assert (text.vaddr, text.filesz, text.memsz, text.flags) == (0x200000, 0x3E, 0x3E, PF_R | PF_X)
    assert (data.vaddr, data.filesz, data.memsz, data.flags) == (0x201000, 0x20, 0x88, PF_R | PF_W)
    assert data.mem_data == data.data + bytes(0x68)
    assert elf.find_symbol("microkit_name") == (0x201048, 64)
    assert {"microkit_name", "microkit_passive", "_start"} <= {s.name for s in elf.list_symbols()}


@requires_golden
def test_symbol_errors_are_upstreams():
    elf = ElfImage.from_bytes((GOLDEN / "elf" / "hello" / "hello.elf").read_bytes())
    with pytest.raises(ElfError, match="^no symbol named 'nope' found$"):
        elf.find_symbol("nope")
    with pytest.raises(ElfError, match=r"^multiple symbols with name '\$d'$"):
        elf.find_symbol("$d")  # mapping symbols repeat


@requires_golden
def test_stripped_image_takes_symbols_from_another():
    stripped = ElfImage.from_bytes((GOLDEN / "elf" / "golden_nested" / "observer.stripped.elf").read_bytes())
    full = ElfImage.from_bytes((GOLDEN / "elf" / "golden_nested" / "observer.elf").read_bytes())
    with pytest.raises(ElfError):
        stripped.find_symbol("microkit_name")
    combined = stripped.with_symbols_from(full)
    assert combined.find_symbol("microkit_name") == full.find_symbol("microkit_name")
    assert combined.segments == stripped.segments


def test_patch_in_data_stays_in_place(sample):
    patched = sample.write_symbol("counter", (42).to_bytes(8, "little"))
    assert sample.read_symbol("counter") == (7).to_bytes(8, "little")  # original untouched
    assert patched.read_symbol("counter") == (42).to_bytes(8, "little")
    assert [s.filesz for s in patched.segments] == [s.filesz for s in sample.segments]
    again = ElfImage.from_bytes(patched.to_bytes())
    assert again.read_symbol("counter") == (42).to_bytes(8, "little")
    assert len(patched.to_bytes()) == len(sample.raw)


def test_patch_in_bss_grows_the_file_data(sample):
    vaddr, size = sample.find_symbol("buffer_vaddr")
    seg = sample.segments[sample.segment_containing(vaddr, size)]
    assert vaddr - seg.vaddr >= seg.filesz  # in the zero-fill part
    patched = sample.write_symbol("buffer_vaddr", (0x1234).to_bytes(8, "little"))
    grown = patched.segments[sample.segment_containing(vaddr, size)]
    assert grown.filesz == vaddr - seg.vaddr + size and grown.memsz == seg.memsz
    again = ElfImage.from_bytes(patched.to_bytes())
    assert again.read_symbol("buffer_vaddr") == (0x1234).to_bytes(8, "little")
    assert again.read_symbol("counter") == (7).to_bytes(8, "little")
    assert again.segments[-1].mem_data == grown.mem_data
    # the moved segment keeps p_offset congruent to p_vaddr modulo p_align
    offset = _phdr_offsets(patched.to_bytes())[sample.segment_containing(vaddr, size)]
    assert offset % 0x1000 == seg.vaddr % 0x1000


def test_patched_bytes(tmp_path, sample):
    out = tmp_path / "patched.elf"
    out.write_bytes(sample.write_symbol("buffer_vaddr", b"\x01" * 8).to_bytes())
    assert ElfImage.from_bytes(out.read_bytes()).read_symbol("buffer_vaddr") == b"\x01" * 8


def test_patch_errors(sample):
    with pytest.raises(ElfError, match="cannot write 9 bytes"):
        sample.write_symbol("counter", bytes(9))
    with pytest.raises(ElfError, match="no symbol named"):
        sample.write_symbol("missing", b"")
    with pytest.raises(ElfError, match="not inside a loadable segment"):
        sample.write(0x10, b"x")


def test_dwarf_source_lines(sample):
    assert sample.symbol_source_line("counter") == ("/src/dwarf_sample.c", 2)
    assert sample.symbol_source_line("buffer_vaddr") == ("/src/dwarf_sample.c", 1)
    assert sample.symbol_source_line("helper") == ("/src/dwarf_sample.c", 3)
    assert sample.symbol_source_line("nothing") is None


@requires_golden
def test_no_dwarf_gives_none():
    assert ElfImage.from_bytes((GOLDEN / "elf" / "monitor.elf").read_bytes()).symbol_source_line("pd_names") is None


def test_parse_errors():
    with pytest.raises(ElfError, match="magic check failed"):
        ElfImage.from_bytes(b"not an elf")
    big_endian = bytearray(SAMPLE.read_bytes())
    big_endian[5] = 2
    with pytest.raises(ElfError, match="little endian"):
        ElfImage.from_bytes(bytes(big_endian))
    no_phdrs = bytearray(SAMPLE.read_bytes())
    struct.pack_into("<H", no_phdrs, 56, 0)
    with pytest.raises(ElfError, match="no program headers"):
        ElfImage.from_bytes(bytes(no_phdrs))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_junk_never_crashes(junk):
    _load_or_elf_error(b"\x7fELF" + junk)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 0x400), st.integers(0, 255)), max_size=8))
def test_corrupted_headers_never_crash(changes):
    data = bytearray(SAMPLE.read_bytes())
    for at, value in changes:
        data[at] = value
    image = _load_or_elf_error(bytes(data))
    if image is not None:
        image.list_symbols()
        image.symbol_source_line("counter")


def _load_or_elf_error(data: bytes):
    try:
        return ElfImage.from_bytes(data)
    except ElfError:
        return None


def _phdr_offsets(raw: bytes) -> list[int]:
    (phoff,) = struct.unpack_from("<Q", raw, 32)
    phentsize, phnum = struct.unpack_from("<HH", raw, 54)
    out = []
    for i in range(phnum):
        p_type, _, p_offset = struct.unpack_from("<IIQ", raw, phoff + i * phentsize)
        if p_type == 1:
            out.append(p_offset)
    return out
