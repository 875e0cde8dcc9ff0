"""Source positions of symbols from DWARF debug information.

An editor's go-to-definition on a `setvar` symbol wants the line in the
program's sources that defines the variable.  Programs built with `-g` carry
that in `.debug_info` (the declaration's `DW_AT_decl_file`/`DW_AT_decl_line`)
and, for code, in the line table; programs without debug information simply
have no answer.
"""

from __future__ import annotations

import io
import posixpath

from elftools.elf.elffile import ELFFile

_DEFINING_TAGS = ("DW_TAG_variable", "DW_TAG_subprogram")


def symbol_source_line(elf_bytes: bytes, name: str, vaddr: int | None = None) -> tuple[str, int] | None:
    """(file, line) where `name` is defined, or None when the file cannot say.

    Declarations with `DW_AT_decl_line` are preferred, definitions over mere
    declarations; without one, the line table entry for `vaddr` (the symbol's
    address) is used.  Malformed debug information also gives None.
    """
    try:
        elf = ELFFile(io.BytesIO(elf_bytes))
        if not elf.has_dwarf_info():
            return None
        dwarf = elf.get_dwarf_info()
        found = _from_declarations(dwarf, name)
        if found is None and vaddr is not None:
            found = _from_line_table(dwarf, vaddr)
        return found
    except Exception:  # pyelftools raises assorted types on damaged DWARF
        return None


def _from_declarations(dwarf, name: str) -> tuple[str, int] | None:
    fallback = None
    for cu in dwarf.iter_CUs():
        top = cu.get_top_DIE()
        for die in top.iter_children():
            if die.tag not in _DEFINING_TAGS:
                continue
            attrs = die.attributes
            if _attr_str(attrs.get("DW_AT_name")) != name or "DW_AT_decl_line" not in attrs:
                continue
            line = attrs["DW_AT_decl_line"].value
            path = _file_name(dwarf, cu, top, attrs.get("DW_AT_decl_file"))
            if path is None:
                continue
            if "DW_AT_declaration" not in attrs:
                return path, line
            fallback = fallback or (path, line)
    return fallback


def _from_line_table(dwarf, vaddr: int) -> tuple[str, int] | None:
    for cu in dwarf.iter_CUs():
        prog = dwarf.line_program_for_CU(cu)
        if prog is None:
            continue
        prev = None
        for entry in prog.get_entries():
            state = entry.state
            if state is None:
                continue
            if prev is not None and prev.address <= vaddr < state.address:
                path = _file_name(dwarf, cu, cu.get_top_DIE(), prev.file)
                return (path, prev.line) if path else None
            prev = None if state.end_sequence else state
    return None


def _attr_str(attr) -> str | None:
    if attr is None:
        return None
    value = attr.value
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _file_name(dwarf, cu, top, file_attr) -> str | None:
    """Path of file number `file_attr` of the CU's line program."""
    index = file_attr.value if hasattr(file_attr, "value") else file_attr
    if index is None:
        return None
    prog = dwarf.line_program_for_CU(cu)
    if prog is None:
        return None
    version = prog.header["version"]
    files = prog.header["file_entry"]
    dirs = prog.header["include_directory"]
    pos = index if version >= 5 else index - 1
    if not 0 <= pos < len(files):
        return None
    entry = files[pos]
    fname = _decode(entry.name)
    comp_dir = _attr_str(top.attributes.get("DW_AT_comp_dir")) or ""
    dir_index = entry.dir_index
    if version >= 5:
        directory = _decode(dirs[dir_index]) if 0 <= dir_index < len(dirs) else ""
    else:
        directory = comp_dir if dir_index == 0 else (_decode(dirs[dir_index - 1]) if dir_index <= len(dirs) else "")
    path = posixpath.join(directory, fname)
    return path if posixpath.isabs(path) or not comp_dir else posixpath.join(comp_dir, path)


def _decode(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
