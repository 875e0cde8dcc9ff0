"""File access for the analysis: prefill files on the search paths (the I/O edge)."""

from __future__ import annotations

import os

from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.resolve.access import PrefillInfo, ProgramInfo, Segment


def find_on_paths(path: str, search_paths: list[str]) -> str | None:
    """upstream `get_full_path`: the first search path under which `path` exists."""
    if os.path.isabs(path):
        return path if os.path.exists(path) else None
    for base in search_paths:
        full = os.path.join(base, path)
        if os.path.exists(full):
            return full
    return None


class SearchPathFiles:
    """Prefill files found on the search paths (in order), as upstream does while parsing."""

    def __init__(self, search_paths: list[str]):
        self.search_paths = list(search_paths)
        self._cache: dict[str, PrefillInfo] = {}
        self._programs: dict[str, tuple[tuple[float, int], ProgramInfo]] = {}  # found path -> (stat, facts)

    def prefill(self, path: str) -> PrefillInfo:
        hit = self._cache.get(path)
        if hit is not None:
            return hit
        full = find_on_paths(path, self.search_paths)
        if full is None:
            info = PrefillInfo(error="missing")
        else:
            try:
                info = (
                    PrefillInfo(length=os.path.getsize(full), path=full)
                    if os.path.isfile(full)
                    else PrefillInfo(error="unreadable", path=full)
                )
                with open(full, "rb"):
                    pass
            except OSError:
                info = PrefillInfo(error="unreadable", path=full)
        self._cache[path] = info
        return info

    def find(self, path: str) -> str | None:
        return find_on_paths(path, self.search_paths)

    def program(self, path: str) -> ProgramInfo:
        """The loadable segments of a program image, read again when the file changes."""
        full = find_on_paths(path, self.search_paths)
        if full is None:
            return ProgramInfo(error="not found on the search paths")
        try:
            st = os.stat(full)
        except OSError as err:
            return ProgramInfo(error=f"cannot read it: {err.strerror or err}", path=full)
        stamp = (st.st_mtime, st.st_size)
        hit = self._programs.get(full)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        try:
            image = ElfImage.load(full)
            info = ProgramInfo(tuple(_segment(seg) for seg in image.segments), path=full)
        except (ElfError, OSError) as err:
            info = ProgramInfo(error=f"not a readable ELF file: {err}", path=full)
        self._programs[full] = (stamp, info)
        return info

    def invalidate(self):
        self._cache.clear()


def read_sdf(path: str) -> tuple[str, str | None]:
    """The text of an SDF file and a problem with its encoding, if any (raises OSError)."""
    with open(path, "rb") as fh:
        data = fh.read()
    return decode(data)


def decode(data: bytes) -> tuple[str, str | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return data.decode(
            "utf-8", errors="replace"
        ), f"the file is not valid UTF-8 (byte {err.start}: {data[err.start : err.start + 1]!r})"


def _segment(seg) -> Segment:
    perms = ("r" if seg.readable else "-") + ("w" if seg.writable else "-") + ("x" if seg.executable else "-")
    return Segment(seg.vaddr, seg.memsz, perms)
